// Reactions: the common set, and what a click on a reaction should do.
import type { ReactionDto } from "./bindings";

export const COMMON_REACTIONS: ReadonlyArray<{ reaction: string; emoji: string }> = [
  { reaction: "like", emoji: "👍" },
  { reaction: "heart", emoji: "❤️" },
  { reaction: "laugh", emoji: "😆" },
  { reaction: "surprised", emoji: "😮" },
  { reaction: "sad", emoji: "😢" },
  { reaction: "angry", emoji: "😡" },
];

const BY_EMOJI = new Map(COMMON_REACTIONS.map((r) => [r.emoji.replace(/\uFE0F/g, ""), r.reaction]));

/** Graph's reactionType for what the person picked or typed: a common emoji maps to its
 *  name ("👍" → "like"), any other emoji is sent as itself. Empty input gives null. */
export function reactionTypeFor(input: string): string | null {
  const t = input.trim();
  if (!t) return null;
  if (COMMON_REACTIONS.some((r) => r.reaction === t)) return t;
  return BY_EMOJI.get(t.replace(/\uFE0F/g, "")) ?? t;
}

/** Whether picking `reaction` adds it (react) or takes mine away (unreact). */
export function toggleAction(reactions: readonly ReactionDto[], reaction: string): "react" | "unreact" {
  return reactions.some((r) => r.reaction === reaction && r.mine) ? "unreact" : "react";
}

/** Reactions to show: non-empty, merged by reaction type (counts added, mine if any), in
 *  first-seen order. */
export function groupReactions(reactions: readonly ReactionDto[]): ReactionDto[] {
  const out: ReactionDto[] = [];
  const at = new Map<string, number>();
  for (const r of reactions) {
    if (r.count <= 0) continue;
    const i = at.get(r.reaction);
    if (i === undefined) {
      at.set(r.reaction, out.length);
      out.push({ ...r, names: [...r.names] });
    } else {
      const g = out[i] as ReactionDto;
      out[i] = { ...g, count: g.count + r.count, mine: g.mine || r.mine, names: [...g.names, ...r.names] };
    }
  }
  return out;
}

export function emojiFor(reaction: string): string {
  return COMMON_REACTIONS.find((r) => r.reaction === reaction)?.emoji ?? reaction;
}
