import { describe, expect, it } from "vitest";
import { mentionQuery, suggestMembers } from "./mentions";

const members = [
  { userId: "1", displayName: "Grace Hopper", email: "grace@contoso.test" },
  { userId: "2", displayName: "Ada Lovelace", email: "ada@contoso.test" },
  { userId: "3", displayName: "Alan Turing", email: "aturing@contoso.test" },
  { userId: "4", displayName: "Margaret Hamilton", email: "mh@contoso.test" },
];

describe("suggestMembers", () => {
  it("ranks name prefix, then a later word, then email prefix", () => {
    expect(suggestMembers(members, "a").map((m) => m.userId)).toEqual(["2", "3"]);
    expect(suggestMembers(members, "ho").map((m) => m.userId)).toEqual(["1"]);
    expect(suggestMembers(members, "mh").map((m) => m.userId)).toEqual(["4"]);
    expect(suggestMembers(members, "at").map((m) => m.userId)).toEqual(["3"]);
  });
  it("is case-insensitive, limited, and lists everyone alphabetically for an empty query", () => {
    expect(suggestMembers(members, "GRACE").map((m) => m.userId)).toEqual(["1"]);
    expect(suggestMembers(members, "", 2).map((m) => m.displayName)).toEqual(["Ada Lovelace", "Alan Turing"]);
    expect(suggestMembers(members, "zz")).toEqual([]);
  });
});

describe("mentionQuery", () => {
  it("finds an @query at the caret", () => {
    expect(mentionQuery("hello @gra")).toBe("gra");
    expect(mentionQuery("@")).toBe("");
    expect(mentionQuery("(@ada")).toBe("ada");
    expect(mentionQuery("ada lo")).toBeNull();
    expect(mentionQuery("mail me at ada@contoso")).toBeNull();
    expect(mentionQuery("@a b c d")).toBeNull();
  });
});
