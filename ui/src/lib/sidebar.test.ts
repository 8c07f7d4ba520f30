import { describe, expect, it } from "vitest";
import { applySidebarDiffs, filterChannels, findChannel } from "./sidebar";
import { chan, team } from "./test-fixtures";

describe("applySidebarDiffs", () => {
  it("resets, then updates a channel in place without touching the input", () => {
    const start = applySidebarDiffs([], [{ op: "reset", teams: [team("t1", [chan("a", "t1"), chan("b", "t1")])] }]);
    const next = applySidebarDiffs(start, [{ op: "channel", teamId: "t1", channel: chan("b", "t1", { unread: 3, mentions: 1 }) }]);
    expect(next[0]?.channels.map((c) => c.id)).toEqual(["a", "b"]);
    expect(next[0]?.channels[1]?.unread).toBe(3);
    expect(start[0]?.channels[1]?.unread).toBe(0);
  });

  it("adds a new channel at the end of its team and ignores unknown teams", () => {
    const start = applySidebarDiffs([], [{ op: "reset", teams: [team("t1", [chan("a", "t1")])] }]);
    const next = applySidebarDiffs(start, [
      { op: "channel", teamId: "t1", channel: chan("n", "t1") },
      { op: "channel", teamId: "zz", channel: chan("q", "zz") },
    ]);
    expect(next[0]?.channels.map((c) => c.id)).toEqual(["a", "n"]);
    expect(findChannel(next, "q")).toBeNull();
    expect(findChannel(next, "n")?.team.id).toBe("t1");
  });

  it("a reset replaces everything", () => {
    const start = applySidebarDiffs([], [{ op: "reset", teams: [team("t1", [chan("a", "t1")])] }]);
    const next = applySidebarDiffs(start, [{ op: "reset", teams: [team("t2", [])] }]);
    expect(next.map((t) => t.id)).toEqual(["t2"]);
  });
});

describe("filterChannels", () => {
  const teams = [
    team("Design", [chan("General", "Design"), chan("Brand refresh", "Design")]),
    team("Engineering", [chan("General", "Engineering"), chan("release-train", "Engineering")]),
  ];
  it("ranks name prefixes before word starts before team matches", () => {
    expect(filterChannels(teams, "re").map((r) => r.channel.name)).toEqual(["release-train", "Brand refresh"]);
    expect(filterChannels(teams, "eng").map((r) => `${r.team.name}/${r.channel.name}`)).toEqual([
      "Engineering/General",
      "Engineering/release-train",
    ]);
    expect(filterChannels(teams, "")).toHaveLength(4);
    expect(filterChannels(teams, "zzz")).toHaveLength(0);
  });
});
