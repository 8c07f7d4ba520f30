// Pure sidebar state: teams with their channels, updated by the shell's diffs.
import type { ChannelDto, SidebarDiffDto, TeamDto } from "./bindings";

/** Applies diffs to the teams, returning a new array (the old one is not changed). */
export function applySidebarDiffs(teams: readonly TeamDto[], diffs: readonly SidebarDiffDto[]): TeamDto[] {
  let next: TeamDto[] = [...teams];
  for (const diff of diffs) {
    if (diff.op === "reset") {
      next = diff.teams.map((t) => ({ ...t, channels: [...t.channels] }));
      continue;
    }
    const teamAt = next.findIndex((t) => t.id === diff.teamId);
    if (teamAt < 0) continue; // a channel of a team we do not know: the next reset brings it
    const team = next[teamAt] as TeamDto;
    const channels = [...team.channels];
    const at = channels.findIndex((c) => c.id === diff.channel.id);
    if (at >= 0) channels[at] = diff.channel;
    else channels.push(diff.channel);
    next[teamAt] = { ...team, channels };
  }
  return next;
}

/** Every channel, with its team, in sidebar order. */
export function allChannels(teams: readonly TeamDto[]): Array<{ team: TeamDto; channel: ChannelDto }> {
  return teams.flatMap((team) => team.channels.map((channel) => ({ team, channel })));
}

export function findChannel(
  teams: readonly TeamDto[],
  channelId: string,
): { team: TeamDto; channel: ChannelDto } | null {
  for (const team of teams) {
    const channel = team.channels.find((c) => c.id === channelId);
    if (channel) return { team, channel };
  }
  return null;
}

/** Filters channels for the "Jump to channel" dialog: prefix matches of the channel name
 *  first, then word starts, then anywhere in "team channel". */
export function filterChannels(
  teams: readonly TeamDto[],
  query: string,
): Array<{ team: TeamDto; channel: ChannelDto }> {
  const q = query.trim().toLowerCase();
  const all = allChannels(teams);
  if (!q) return all;
  const scored: Array<{ score: number; i: number; v: { team: TeamDto; channel: ChannelDto } }> = [];
  all.forEach((v, i) => {
    const name = v.channel.name.toLowerCase();
    const full = `${v.team.name} ${v.channel.name}`.toLowerCase();
    let score = -1;
    if (name.startsWith(q)) score = 0;
    else if (name.split(/[\s\-_]+/).some((w) => w.startsWith(q))) score = 1;
    else if (full.includes(q)) score = 2;
    if (score >= 0) scored.push({ score, i, v });
  });
  scored.sort((a, b) => a.score - b.score || a.i - b.i);
  return scored.map((s) => s.v);
}
