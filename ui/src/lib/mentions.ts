// @mention suggestions: which members match what was typed after "@", best first.
import type { MemberDto } from "./bindings";

/** Ranks members for `query`: display name prefix, then a word of the name, then the email's
 *  local part; ties keep alphabetical order. Returns at most `limit`. */
export function suggestMembers(members: readonly MemberDto[], query: string, limit = 8): MemberDto[] {
  const q = query.trim().toLowerCase();
  const scored: Array<{ m: MemberDto; score: number }> = [];
  for (const m of members) {
    const name = m.displayName.toLowerCase();
    const email = (m.email ?? "").toLowerCase();
    let score = -1;
    if (!q) score = 3;
    else if (name.startsWith(q)) score = 0;
    else if (name.split(/[\s.\-_]+/).some((w) => w.startsWith(q))) score = 1;
    else if (email.startsWith(q)) score = 2;
    if (score >= 0) scored.push({ m, score });
  }
  scored.sort((a, b) => a.score - b.score || a.m.displayName.localeCompare(b.m.displayName));
  return scored.slice(0, limit).map((s) => s.m);
}

/** The "@query" being typed just before the caret in `textBefore`, or null. The "@" must start
 *  the text or follow whitespace; the query has no line break and at most two spaces. */
export function mentionQuery(textBefore: string): string | null {
  const match = /(?:^|[\s(])@([^\s@][^@\n]{0,40})?$/.exec(textBefore);
  if (!match) return null;
  const q = match[1] ?? "";
  if ((q.match(/ /g) ?? []).length > 2) return null;
  return q;
}
