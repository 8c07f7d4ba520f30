import { describe, expect, it } from "vitest";
import { MessageList, firstUnreadIndex } from "./timeline";
import type { MessageDto } from "./bindings";
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

describe("MessageList (timeline, as the view uses it)", () => {
  const big = (n: number) => Array.from({ length: n }, (_, i) => msg(`m${String(i).padStart(6, "0")}`, `2024-01-01T00:00:00.${String(i).padStart(6, "0")}Z`));

  it("keeps rows with heights: estimates, measurements, offsets", () => {
    const l = new MessageList("timeline", { estimate: 100 });
    l.apply([{ op: "reset", items: [msg("c", "2024-01-03"), msg("b", "2024-01-02"), msg("a", "2024-01-01")] }]);
    expect(l.total).toBe(300);
    expect(l.setHeight("b", 40.4)).toBe(true);
    expect(l.setHeight("b", 40)).toBe(false);
    expect(l.setHeight("nope", 40)).toBe(false);
    expect([0, 1, 2, 3].map((i) => l.offset(i))).toEqual([0, 100, 140, 240]);
    expect(l.indexAt(139)).toBe(1);
    expect(l.slice(1, 3).map((m) => m.key.id)).toEqual(["b", "c"]);
  });

  it("keeps a row's height across an update, a replace and a reset", () => {
    const l = new MessageList("timeline", { estimate: 100 });
    const echo = msg("local-1", "2024-01-03", { local: true });
    l.apply([{ op: "reset", items: [echo, msg("a", "2024-01-01")] }]);
    l.setHeight("a", 55);
    l.setHeight("local-1", 77);
    l.apply([{ op: "update", item: msg("a", "2024-01-01", { html: "<p>edited</p>" }) }]);
    l.apply([{ op: "replace", key: echo.key, item: msg("srv", "2024-01-03") }]);
    expect([l.heightAt(0), l.heightAt(1)]).toEqual([55, 77]);
    l.apply([{ op: "reset", items: [msg("srv", "2024-01-03"), msg("new", "2024-01-02"), msg("a", "2024-01-01")] }]);
    expect(l.items.map((m) => m.key.id)).toEqual(["a", "new", "srv"]);
    expect([l.heightAt(0), l.heightAt(1), l.heightAt(2)]).toEqual([55, 100, 77]);
  });

  it("takes 2,500 batches of 40 older posts above 100 rows, in order, reporting them above", () => {
    const all = big(100_100);
    const l = new MessageList("timeline", { estimate: 120, compact: true });
    l.apply([{ op: "reset", items: all.slice(-100).reverse() }]);
    const t0 = performance.now();
    let above = 0;
    for (let end = all.length - 100; end > 0; end -= 40) {
      const diffs = all.slice(Math.max(0, end - 40), end).reverse().map((item) => ({ op: "insert" as const, item }));
      above += l.apply(diffs).insertedAbove;
    }
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(above).toBe(100_000);
    expect(l.size).toBe(100_100);
    expect(l.at(0)?.key.id).toBe("m000000");
    expect(l.at(54_321)?.key.id).toBe("m054321");
    expect(l.indexOf("m054321")).toBe(54_321);
    expect(l.total).toBe(100_100 * 120);
    expect(firstUnreadIndex(l)).toBe(-1);
  });

  it("stores compact copies: no text, shared strings and empty arrays, the sender's object untouched", () => {
    const l = new MessageList("timeline", { compact: true });
    const a = JSON.parse(JSON.stringify(msg("a", "2024-01-01", { fromName: "Grace Hopper" }))) as MessageDto;
    const b = JSON.parse(JSON.stringify(msg("b", "2024-01-02", { fromName: "Grace Hopper" }))) as MessageDto;
    l.apply([{ op: "reset", items: [b, a] }]);
    const sa = l.get("a") as MessageDto;
    const sb = l.get("b") as MessageDto;
    expect(sa.text).toBe("");
    expect(a.text).toBe("a");
    expect(sa.html).toBe("<p>a</p>");
    expect(sa.fromName).toBe("Grace Hopper");
    expect(sa.reactions).toBe(sb.reactions);
    expect(sa.key.rootId).toBe("a");
    expect(Object.isFrozen(sa.attachments)).toBe(true);
    // A thread list keeps what it was given.
    const t = new MessageList("thread");
    t.apply([{ op: "reset", items: [a] }]);
    expect(t.get("a")).toBe(a);
  });

  it("finds an item moved out of order by a replace", () => {
    const l = new MessageList("timeline");
    const echo = msg("local-9", "2024-01-02", { local: true });
    l.apply([{ op: "reset", items: [msg("c", "2024-01-03"), echo, msg("a", "2024-01-01")] }]);
    // The server's time sorts after "c", but the row stays where the echo was.
    l.apply([{ op: "replace", key: echo.key, item: msg("srv9", "2024-01-04") }]);
    expect(ids(l)).toEqual(["a", "srv9", "c"]);
    expect(l.indexOf("srv9")).toBe(1);
    l.apply([{ op: "remove", key: msg("srv9", "2024-01-04").key }]);
    expect(ids(l)).toEqual(["a", "c"]);
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
