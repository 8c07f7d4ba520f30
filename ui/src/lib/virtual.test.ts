import { describe, expect, it } from "vitest";
import { HeightCache, captureAnchor, computeOffsets, indexAt, isAtBottom, restoreAnchor, visibleRange } from "./virtual";

describe("virtual list math", () => {
  const keys = ["a", "b", "c", "d", "e"];
  const cache = new HeightCache(100);
  cache.set("b", 50);
  cache.set("d", 200);
  const offsets = computeOffsets(keys, (k) => cache.get(k));

  it("computes offsets from measured and estimated heights", () => {
    expect(Array.from(offsets)).toEqual([0, 100, 150, 250, 450, 550]);
  });

  it("finds the row at a y position", () => {
    expect(indexAt(offsets, 0)).toBe(0);
    expect(indexAt(offsets, 99)).toBe(0);
    expect(indexAt(offsets, 100)).toBe(1);
    expect(indexAt(offsets, 449)).toBe(3);
    expect(indexAt(offsets, 10_000)).toBe(4);
    expect(indexAt(new Float64Array([0]), 5)).toBe(-1);
  });

  it("gives the visible range with overscan, clamped", () => {
    expect(visibleRange(offsets, 120, 100, 0)).toEqual({ start: 1, end: 3 });
    expect(visibleRange(offsets, 120, 100, 1)).toEqual({ start: 0, end: 4 });
    expect(visibleRange(offsets, 500, 300, 2)).toEqual({ start: 2, end: 5 });
    expect(visibleRange(new Float64Array([0]), 0, 100, 2)).toEqual({ start: 0, end: 0 });
  });

  it("keeps the anchor row in place when rows are inserted above", () => {
    const anchor = captureAnchor(keys, offsets, 260);
    expect(anchor).toEqual({ key: "d", delta: 10 });
    const newKeys = ["x", "y", ...keys];
    const newOffsets = computeOffsets(newKeys, (k) => cache.get(k));
    const top = restoreAnchor(anchor!, (k) => newKeys.indexOf(k), newOffsets);
    expect(top).toBe(200 + 250 + 10);
  });

  it("keeps the anchor when a row above changes height", () => {
    const anchor = captureAnchor(keys, offsets, 260)!;
    const c2 = new HeightCache(100);
    c2.set("b", 80);
    c2.set("d", 200);
    const o2 = computeOffsets(keys, (k) => c2.get(k));
    expect(restoreAnchor(anchor, (k) => keys.indexOf(k), o2)).toBe(280 + 10);
    expect(restoreAnchor({ key: "gone", delta: 0 }, (k) => keys.indexOf(k), o2)).toBeNull();
  });

  it("knows when the view is at the bottom", () => {
    expect(isAtBottom(450, 100, 550)).toBe(true);
    expect(isAtBottom(300, 100, 550)).toBe(false);
  });

  it("height cache reports changes and moves measurements on rename", () => {
    const c = new HeightCache(60);
    expect(c.set("local-1", 90)).toBe(true);
    expect(c.set("local-1", 90)).toBe(false);
    c.rename("local-1", "srv");
    expect(c.get("srv")).toBe(90);
    expect(c.has("local-1")).toBe(false);
  });

  it("handles 100,000 rows quickly", () => {
    const many = Array.from({ length: 100_000 }, (_, i) => `m${i}`);
    const o = computeOffsets(many, () => 72);
    expect(o[100_000]).toBe(7_200_000);
    expect(visibleRange(o, 3_600_000, 700, 3)).toEqual({ start: 49_997, end: 50_013 });
  });
});
