// Performance marks the benchmark harness reads over WebDriver (tests/e2e, `perf` scenario):
// `perch:timeline-painted` once a timeline batch is on screen (after Svelte updated the DOM and
// the browser painted the next frame). `startTime` is milliseconds since the page started
// loading; `detail` carries the wall-clock paint time and the store commit behind the batch, so
// delta-to-screen = paintedAtMs - committedAtMs. Marks cost microseconds; at most the newest
// 200 are kept.
import type { TimelineBatchDto } from "./bindings";

const MAX_MARKS = 200;
let marks = 0;

/** The ids a batch brought in (inserted or replaced). */
export function batchIds(batch: TimelineBatchDto): string[] {
  const ids: string[] = [];
  for (const d of batch.diffs) {
    if (d.op === "insert" || d.op === "replace" || d.op === "update") ids.push(d.item.key.id);
  }
  return ids;
}

/** Marks a batch painted, on the frame after the DOM update. */
export function markPainted(channelId: string, batch: TimelineBatchDto, rows: number, items: number): void {
  if (typeof performance === "undefined" || typeof requestAnimationFrame === "undefined") return;
  const ids = batchIds(batch);
  const reset = batch.diffs.some((d) => d.op === "reset");
  requestAnimationFrame(() => {
    if (++marks > MAX_MARKS) {
      performance.clearMarks("perch:timeline-painted");
      marks = 1;
    }
    performance.mark("perch:timeline-painted", {
      detail: { channelId, ids, reset, rows, items, committedAtMs: batch.committedAtMs, paintedAtMs: Date.now() },
    });
  });
}

const once = new Set<string>();

/** Marks a step of the page's start once (`perch:boot`, `perch:app-state`, `perch:sidebar`,
 *  `perch:timeline-open`, `perch:timeline-batch`), so the benchmark can say where the time to
 *  the first painted timeline goes. */
export function markStart(step: string): void {
  if (once.has(step) || typeof performance === "undefined") return;
  once.add(step);
  performance.mark(`perch:${step}`);
}
