// Pure math for the virtualised timeline: offsets from (measured or estimated) heights, the
// visible range for a scroll position, and scroll anchoring when items change above the view.

/** Heights measured per message id; unmeasured rows use an estimate. */
export class HeightCache {
  private heights = new Map<string, number>();
  constructor(public estimate: number) {}

  get(key: string): number {
    return this.heights.get(key) ?? this.estimate;
  }

  has(key: string): boolean {
    return this.heights.has(key);
  }

  /** Records a measured height; returns whether it changed. */
  set(key: string, height: number): boolean {
    const h = Math.max(0, Math.round(height));
    if (this.heights.get(key) === h) return false;
    this.heights.set(key, h);
    return true;
  }

  /** Moves a measurement to a new key (a local echo replaced by the server's message). */
  rename(from: string, to: string): void {
    const h = this.heights.get(from);
    if (h !== undefined) {
      this.heights.delete(from);
      if (!this.heights.has(to)) this.heights.set(to, h);
    }
  }
}

/** offsets[i] is the top of row i; offsets[n] is the total height. */
export function computeOffsets(keys: readonly string[], heightOf: (key: string) => number): Float64Array {
  const offsets = new Float64Array(keys.length + 1);
  let y = 0;
  for (let i = 0; i < keys.length; i++) {
    offsets[i] = y;
    y += heightOf(keys[i] as string);
  }
  offsets[keys.length] = y;
  return offsets;
}

/** The row containing y (clamped to [0, n-1]); -1 for an empty list. */
export function indexAt(offsets: Float64Array, y: number): number {
  const n = offsets.length - 1;
  if (n <= 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((offsets[mid] as number) <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Rows to render: [start, end) covering the viewport plus `overscan` rows each side. */
export function visibleRange(
  offsets: Float64Array,
  scrollTop: number,
  viewport: number,
  overscan: number,
): { start: number; end: number } {
  const n = offsets.length - 1;
  if (n <= 0) return { start: 0, end: 0 };
  const first = indexAt(offsets, Math.max(0, scrollTop));
  const last = indexAt(offsets, Math.max(0, scrollTop + viewport - 1));
  return { start: Math.max(0, first - overscan), end: Math.min(n, last + 1 + overscan) };
}

/** A row the view is anchored to and how far its top is from the scroll position. */
export interface Anchor {
  key: string;
  delta: number;
}

/** The first row visible at `scrollTop`, to keep it in place across changes. */
export function captureAnchor(keys: readonly string[], offsets: Float64Array, scrollTop: number): Anchor | null {
  const i = indexAt(offsets, scrollTop);
  if (i < 0) return null;
  return { key: keys[i] as string, delta: scrollTop - (offsets[i] as number) };
}

/** The scroll position that puts the anchor row where it was; null when it is gone. */
export function restoreAnchor(anchor: Anchor, indexOf: (key: string) => number, offsets: Float64Array): number | null {
  const i = indexOf(anchor.key);
  if (i < 0 || i >= offsets.length - 1) return null;
  return (offsets[i] as number) + anchor.delta;
}

/** Whether the view shows the end of the list (within `slack` pixels). */
export function isAtBottom(scrollTop: number, viewport: number, total: number, slack = 24): boolean {
  return scrollTop + viewport >= total - slack;
}

/** The largest valid scrollTop. */
export function maxScroll(total: number, viewport: number): number {
  return Math.max(0, total - viewport);
}
