import { describe, expect, it } from "vitest";
import { WeightedRows, captureAnchor, isAtBottom, restoreAnchor, visibleRange } from "./virtual";

function rowsOf(weights: number[], keys: string[] = weights.map((_, i) => `r${i}`)): WeightedRows<string> {
  const rows = new WeightedRows<string>();
  rows.reset(keys, (_k, i) => weights[i] as number);
  return rows;
}

/** A tiny deterministic generator for the model test. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

describe("virtual list math", () => {
  const keys = ["a", "b", "c", "d", "e"];
  const rows = rowsOf([100, 50, 100, 200, 100], keys);
  const keyAt = (i: number) => rows.at(i);

  it("computes offsets from the row heights", () => {
    expect([0, 1, 2, 3, 4, 5].map((i) => rows.offset(i))).toEqual([0, 100, 150, 250, 450, 550]);
    expect(rows.total).toBe(550);
  });

  it("finds the row at a y position", () => {
    expect(rows.indexAt(0)).toBe(0);
    expect(rows.indexAt(99)).toBe(0);
    expect(rows.indexAt(100)).toBe(1);
    expect(rows.indexAt(449)).toBe(3);
    expect(rows.indexAt(10_000)).toBe(4);
    expect(rows.indexAt(-5)).toBe(0);
    expect(new WeightedRows<string>().indexAt(5)).toBe(-1);
  });

  it("gives the visible range with overscan, clamped", () => {
    expect(visibleRange(rows, 120, 100, 0)).toEqual({ start: 1, end: 3 });
    expect(visibleRange(rows, 120, 100, 1)).toEqual({ start: 0, end: 4 });
    expect(visibleRange(rows, 500, 300, 2)).toEqual({ start: 2, end: 5 });
    expect(visibleRange(new WeightedRows<string>(), 0, 100, 2)).toEqual({ start: 0, end: 0 });
  });

  it("keeps the anchor row in place when rows are inserted above", () => {
    const r = rowsOf([100, 50, 100, 200, 100], keys);
    const anchor = captureAnchor(r, (i) => r.at(i), 260);
    // "d" (250..450) is cut by the top edge: the anchor is "e", the first row whose top shows.
    expect(anchor).toEqual({ key: "e", delta: -190 });
    expect(captureAnchor(r, (i) => r.at(i), 250)).toEqual({ key: "d", delta: 0 });
    expect(captureAnchor(r, (i) => r.at(i), 500)).toEqual({ key: "e", delta: 50 });
    r.insert(0, "y", 100);
    r.insert(0, "x", 100);
    const top = restoreAnchor(anchor!, (k) => r.toArray().indexOf(k), r);
    expect(top).toBe(200 + 260);
  });

  it("keeps the anchor when a row above changes height", () => {
    const r = rowsOf([100, 50, 100, 200, 100], keys);
    const anchor = captureAnchor(r, keyAt, 260)!;
    expect(r.setWeight(1, 80)).toBe(true);
    expect(r.setWeight(1, 80)).toBe(false);
    expect(restoreAnchor(anchor, (k) => keys.indexOf(k), r)).toBe(260 + 30);
    // The row cut by the edge grows: what is below it stays where it was on screen.
    expect(r.setWeight(3, 260)).toBe(true);
    const top = restoreAnchor(anchor, (k) => keys.indexOf(k), r)!;
    expect(r.offset(4) - top).toBe(190);
    expect(top).toBe(100 + 80 + 100 + 260 - 190);
    expect(restoreAnchor({ key: "gone", delta: 0 }, () => -1, r)).toBeNull();
  });

  it("knows when the view is at the bottom", () => {
    expect(isAtBottom(450, 100, 550)).toBe(true);
    expect(isAtBottom(300, 100, 550)).toBe(false);
  });

  it("matches a plain array through random inserts, removes and re-weighs (across chunk splits)", () => {
    const r = rng(42);
    const rows = new WeightedRows<number>();
    const model: Array<{ v: number; w: number }> = [];
    let next = 0;
    for (let step = 0; step < 6000; step++) {
      const op = r();
      if (op < 0.45 || model.length === 0) {
        // Mostly at the top (history) or the bottom (new posts), sometimes in between.
        const where = r();
        const i = where < 0.4 ? 0 : where < 0.8 ? model.length : Math.floor(r() * (model.length + 1));
        const w = Math.floor(r() * 300);
        rows.insert(i, next, w);
        model.splice(i, 0, { v: next++, w });
      } else if (op < 0.6) {
        const i = Math.floor(r() * model.length);
        expect(rows.removeAt(i)).toBe(model[i]!.v);
        model.splice(i, 1);
      } else {
        const i = Math.floor(r() * model.length);
        const w = r() < 0.1 ? 0 : Math.floor(r() * 300);
        rows.setWeight(i, w);
        model[i]!.w = w;
      }
      if (step % 97 === 0 || step === 5999) {
        expect(rows.length).toBe(model.length);
        const tops: number[] = [];
        let y = 0;
        for (const m of model) {
          tops.push(y);
          y += m.w;
        }
        expect(rows.total).toBe(y);
        expect(rows.toArray()).toEqual(model.map((m) => m.v));
        for (let k = 0; k < 20 && model.length; k++) {
          const i = Math.floor(r() * model.length);
          expect(rows.offset(i)).toBe(tops[i]);
          expect(rows.at(i)).toBe(model[i]!.v);
          expect(rows.weight(i)).toBe(model[i]!.w);
          // The row at y is the last one whose top is <= y (zero-height rows are skipped).
          const yy = Math.floor(r() * (y + 50));
          let want = 0;
          for (let j = 0; j < tops.length; j++) if ((tops[j] as number) <= yy) want = j;
          expect(rows.indexAt(yy)).toBe(want);
          const s = Math.floor(r() * model.length);
          expect(rows.slice(s, s + 17)).toEqual(model.slice(s, s + 17).map((m) => m.v));
        }
      }
    }
    expect(model.length).toBeGreaterThan(1500);
  });

  it("prepends 100,000 rows 40 at a time without O(n) work per row", () => {
    const rows = new WeightedRows<number>();
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) {
      rows.insert(0, i, 72);
      if (i % 40 === 39) {
        // What the view does after each batch: find the visible rows and an anchor's offset.
        visibleRange(rows, 40 * 72, 900, 6);
        rows.offset(40);
      }
    }
    expect(rows.total).toBe(7_200_000);
    expect(visibleRange(rows, 3_600_000, 700, 3)).toEqual({ start: 49_997, end: 50_013 });
    expect(rows.at(0)).toBe(99_999);
    // O(n) per batch would be ~2,500 x 100k steps; this stays far below a second.
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
