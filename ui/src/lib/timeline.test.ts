import { describe, expect, it } from "vitest";
import { MessageList, firstUnreadIndex } from "./timeline";
import { msg } from "./test-fixtures";

const ids = (l: MessageList) => l.items.map((m) => m.key.id);

describe("MessageList (timeline)", () => {
  it("reverses the newest-first reset into display order", () => {
    const l = new MessageList("timeline");
    const s = l.apply([{ op: "reset", items: [msg("c", "2024-01-03"), msg("b", "2024-01-02"), msg("a", "2024-01-01")] }]);
    expect(ids(l)).toEqual(["a", "b", "c"]);
    expect(s.reset).toBe(true);
  });

  it("inserts older history above and new posts below, reporting which", () => {
    const l = new MessageList("timeline");
    l.apply([{ op: "reset", items: [msg("b", "2024-01-02")] }]);
    const s = l.apply([
      { op: "insert", item: msg("a", "2024-01-01") },
      { op: "insert", item: msg("c", "2024-01-03") },
    ]);
    expect(ids(l)).toEqual(["a", "b", "c"]);
    expect(s.insertedAbove).toBe(1);
    expect(s.insertedBelow).toBe(1);
  });

  it("updates in place by key", () => {
    const l = new MessageList("timeline");
    l.apply([{ op: "reset", items: [msg("b", "2024-01-02"), msg("a", "2024-01-01")] }]);
    l.apply([{ op: "update", item: msg("a", "2024-01-01", { text: "edited" }) }]);
    expect(ids(l)).toEqual(["a", "b"]);
    expect(l.get("a")?.text).toBe("edited");
  });

  it("treats an insert of a known id as an update (no duplicate)", () => {
    const l = new MessageList("timeline");
    l.apply([{ op: "reset", items: [msg("a", "2024-01-01")] }]);
    l.apply([{ op: "insert", item: msg("a", "2024-01-01", { text: "again" }) }]);
    expect(ids(l)).toEqual(["a"]);
    expect(l.get("a")?.text).toBe("again");
  });

  it("removes by key", () => {
    const l = new MessageList("timeline");
    l.apply([{ op: "reset", items: [msg("b", "2024-01-02"), msg("a", "2024-01-01")] }]);
    const s = l.apply([{ op: "remove", key: msg("a", "2024-01-01").key }]);
    expect(ids(l)).toEqual(["b"]);
    expect(s.removed).toBe(1);
    expect(l.get("a")).toBeUndefined();
  });

  it("replaces a local echo with the server's message in place", () => {
    const l = new MessageList("timeline");
    const echo = msg("local-1", "2024-01-03T10:00:00Z", { local: true });
    l.apply([{ op: "reset", items: [echo, msg("b", "2024-01-03T09:00:00Z"), msg("a", "2024-01-01")] }]);
    // The server's time is a little later than the echo's, and a newer post arrived first.
    l.apply([{ op: "insert", item: msg("z", "2024-01-03T11:00:00Z") }]);
    l.apply([{ op: "replace", key: echo.key, item: msg("srv1", "2024-01-03T10:00:05Z") }]);
    expect(ids(l)).toEqual(["a", "b", "srv1", "z"]);
    expect(l.get("local-1")).toBeUndefined();
    expect(l.indexOf("srv1")).toBe(2);
  });

  it("does not duplicate when the server message arrived before the replace", () => {
    const l = new MessageList("timeline");
    const echo = msg("local-2", "2024-01-02", { local: true });
    l.apply([{ op: "reset", items: [echo, msg("a", "2024-01-01")] }]);
    l.apply([{ op: "insert", item: msg("srv2", "2024-01-02T00:00:01Z") }]);
    l.apply([{ op: "replace", key: echo.key, item: msg("srv2", "2024-01-02T00:00:01Z") }]);
    expect(ids(l)).toEqual(["a", "srv2"]);
  });

  it("a later reset drops everything before it", () => {
    const l = new MessageList("timeline");
    l.apply([{ op: "reset", items: [msg("a", "2024-01-01")] }]);
    l.apply([{ op: "reset", items: [msg("x", "2024-02-01")] }]);
    expect(ids(l)).toEqual(["x"]);
    expect(l.get("a")).toBeUndefined();
  });
});

describe("MessageList (thread)", () => {
  it("keeps the root first and replies oldest first", () => {
    const l = new MessageList("thread");
    const root = msg("r", "2024-01-02");
    l.apply([{ op: "reset", items: [root, msg("x", "2024-01-03", { key: { channelId: "c1", rootId: "r", id: "x" } })] }]);
    // A reply with a clock-skewed earlier time still goes after the root.
    l.apply([{ op: "insert", item: msg("w", "2024-01-01", { key: { channelId: "c1", rootId: "r", id: "w" } }) }]);
    l.apply([{ op: "insert", item: msg("y", "2024-01-04", { key: { channelId: "c1", rootId: "r", id: "y" } }) }]);
    expect(ids(l)).toEqual(["r", "w", "x", "y"]);
  });
});

describe("firstUnreadIndex", () => {
  it("finds the oldest post of the newest unread run, ignoring mine", () => {
    const items = [
      msg("a", "1", { unread: true }),
      msg("b", "2"),
      msg("c", "3", { unread: true }),
      msg("d", "4", { unread: true }),
      msg("e", "5", { unread: true, mine: true }),
    ];
    expect(firstUnreadIndex(items)).toBe(2);
    expect(firstUnreadIndex([msg("a", "1")])).toBe(-1);
  });
});
