import { describe, expect, it } from "vitest";
import { groupReactions, reactionTypeFor, toggleAction } from "./reactions";

const r = (reaction: string, count: number, mine: boolean, names: string[] = []) => ({ reaction, emoji: reaction, count, mine, names });

describe("reactions", () => {
  it("toggles: mine means unreact, otherwise react", () => {
    const list = [r("like", 2, true), r("heart", 1, false)];
    expect(toggleAction(list, "like")).toBe("unreact");
    expect(toggleAction(list, "heart")).toBe("react");
    expect(toggleAction(list, "laugh")).toBe("react");
  });
  it("groups by type, adding counts and keeping mine", () => {
    const g = groupReactions([r("like", 1, false, ["A"]), r("heart", 0, false), r("like", 2, true, ["B"])]);
    expect(g).toHaveLength(1);
    expect(g[0]).toMatchObject({ reaction: "like", count: 3, mine: true, names: ["A", "B"] });
  });
  it("maps common emoji to Graph's names and keeps others", () => {
    expect(reactionTypeFor("👍")).toBe("like");
    expect(reactionTypeFor("❤")).toBe("heart");
    expect(reactionTypeFor("heart")).toBe("heart");
    expect(reactionTypeFor(" 🎉 ")).toBe("🎉");
    expect(reactionTypeFor("  ")).toBeNull();
  });
});
