// Math for the virtualised timeline: rows with heights in chunks (offsets and the row at an
// offset without touching every row), the visible range for a scroll position, and scroll
// anchoring when rows change above the view.
//
// `WeightedRows` keeps the rows in chunks of at most 512, each row with a weight (its height in
// pixels). Insert, remove and re-weigh cost O(chunk); a row's offset and the row at an offset
// cost O(log chunks + chunk). Chunk-level start indices and tops are rebuilt lazily in
// O(chunks) after a change. So a 100k-row timeline does no O(n) work per batch or per frame.

const MAX_CHUNK = 512;
const FILL = 256;

interface Chunk<T> {
  items: T[];
  weights: number[];
  sum: number;
}

export class WeightedRows<T> {
  private chunks: Chunk<T>[] = [];
  /** starts[c]: index of chunk c's first row; starts[chunks.length] = length. */
  private starts: number[] = [0];
  /** tops[c]: summed weight before chunk c; tops[chunks.length] = total. */
  private tops: number[] = [0];
  private indexDirty = false;
  private weightDirty = false;
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Sum of all weights. */
  get total(): number {
    this.syncWeights();
    return this.tops[this.chunks.length] as number;
  }

  /** Replaces everything. */
  reset(items: readonly T[], weightOf: (item: T, index: number) => number): void {
    this.chunks = [];
    for (let i = 0; i < items.length; i += FILL) {
      const part = items.slice(i, i + FILL);
      const weights = part.map((item, j) => weightOf(item, i + j));
      this.chunks.push({ items: part, weights, sum: sumOf(weights) });
    }
    this.count = items.length;
    this.indexDirty = true;
    this.weightDirty = true;
  }

  at(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    const c = this.chunkOf(index);
    return (this.chunks[c] as Chunk<T>).items[index - (this.starts[c] as number)];
  }

  weight(index: number): number {
    if (index < 0 || index >= this.count) return 0;
    const c = this.chunkOf(index);
    return (this.chunks[c] as Chunk<T>).weights[index - (this.starts[c] as number)] as number;
  }

  /** Rows [start, end). */
  slice(start: number, end: number): T[] {
    start = Math.max(0, start);
    end = Math.min(this.count, end);
    const out: T[] = [];
    if (start >= end) return out;
    let c = this.chunkOf(start);
    let j = start - (this.starts[c] as number);
    while (out.length < end - start) {
      const chunk = this.chunks[c] as Chunk<T>;
      for (; j < chunk.items.length && out.length < end - start; j++) out.push(chunk.items[j] as T);
      c++;
      j = 0;
    }
    return out;
  }

  /** Visits every row with its weight, in order. */
  forEach(visit: (item: T, weight: number, index: number) => void): void {
    let i = 0;
    for (const chunk of this.chunks) {
      for (let j = 0; j < chunk.items.length; j++) visit(chunk.items[j] as T, chunk.weights[j] as number, i++);
    }
  }

  /** All rows, in order (O(n): for small lists and tests). */
  toArray(): T[] {
    const out: T[] = [];
    for (const chunk of this.chunks) for (const item of chunk.items) out.push(item);
    return out;
  }

  insert(index: number, item: T, weight: number): void {
    index = Math.max(0, Math.min(index, this.count));
    if (this.chunks.length === 0) {
      this.chunks.push({ items: [item], weights: [weight], sum: weight });
    } else {
      // At the end, append to the last chunk; otherwise into the chunk holding `index`.
      this.syncIndex();
      const c = index === this.count ? this.chunks.length - 1 : this.chunkOf(index);
      const chunk = this.chunks[c] as Chunk<T>;
      const j = index - (this.starts[c] as number);
      chunk.items.splice(j, 0, item);
      chunk.weights.splice(j, 0, weight);
      chunk.sum += weight;
      if (chunk.items.length > MAX_CHUNK) {
        const half = chunk.items.length >>> 1;
        const tail: Chunk<T> = { items: chunk.items.splice(half), weights: chunk.weights.splice(half), sum: 0 };
        tail.sum = sumOf(tail.weights);
        chunk.sum = sumOf(chunk.weights);
        this.chunks.splice(c + 1, 0, tail);
      }
    }
    this.count++;
    this.indexDirty = true;
    this.weightDirty = true;
  }

  removeAt(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    const c = this.chunkOf(index);
    const chunk = this.chunks[c] as Chunk<T>;
    const j = index - (this.starts[c] as number);
    const [item] = chunk.items.splice(j, 1);
    const [w] = chunk.weights.splice(j, 1);
    chunk.sum -= w as number;
    if (chunk.items.length === 0) this.chunks.splice(c, 1);
    this.count--;
    this.indexDirty = true;
    this.weightDirty = true;
    return item;
  }

  /** Swaps the row at `index`, keeping its weight. */
  set(index: number, item: T): void {
    if (index < 0 || index >= this.count) return;
    const c = this.chunkOf(index);
    (this.chunks[c] as Chunk<T>).items[index - (this.starts[c] as number)] = item;
  }

  /** Sets a row's weight; returns whether it changed. */
  setWeight(index: number, weight: number): boolean {
    if (index < 0 || index >= this.count) return false;
    const c = this.chunkOf(index);
    const chunk = this.chunks[c] as Chunk<T>;
    const j = index - (this.starts[c] as number);
    const old = chunk.weights[j] as number;
    if (old === weight) return false;
    chunk.weights[j] = weight;
    chunk.sum += weight - old;
    this.weightDirty = true;
    return true;
  }

  /** The top of row `index` (summed weight of the rows before it); offset(length) = total. */
  offset(index: number): number {
    if (index <= 0) return 0;
    if (index >= this.count) return this.total;
    const c = this.chunkOf(index);
    this.syncWeights();
    const chunk = this.chunks[c] as Chunk<T>;
    let y = this.tops[c] as number;
    const j = index - (this.starts[c] as number);
    for (let k = 0; k < j; k++) y += chunk.weights[k] as number;
    return y;
  }

  /** The row containing `y` (clamped to [0, length - 1]); -1 when empty. */
  indexAt(y: number): number {
    if (this.count === 0) return -1;
    this.syncIndex();
    this.syncWeights();
    const n = this.chunks.length;
    // Last chunk whose top is <= y, skipping empty-weight chunks the same way rows are.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.tops[mid] as number) <= y) lo = mid;
      else hi = mid - 1;
    }
    const chunk = this.chunks[lo] as Chunk<T>;
    let top = this.tops[lo] as number;
    let j = 0;
    for (; j < chunk.items.length - 1; j++) {
      const next = top + (chunk.weights[j] as number);
      if (next > y) break;
      top = next;
    }
    return (this.starts[lo] as number) + j;
  }

  private chunkOf(index: number): number {
    this.syncIndex();
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.starts[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private syncIndex(): void {
    if (!this.indexDirty) return;
    const starts = new Array<number>(this.chunks.length + 1);
    let i = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      starts[c] = i;
      i += (this.chunks[c] as Chunk<T>).items.length;
    }
    starts[this.chunks.length] = i;
    this.starts = starts;
    this.indexDirty = false;
  }

  private syncWeights(): void {
    if (!this.weightDirty) return;
    const tops = new Array<number>(this.chunks.length + 1);
    let y = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      tops[c] = y;
      y += (this.chunks[c] as Chunk<T>).sum;
    }
    tops[this.chunks.length] = y;
    this.tops = tops;
    this.weightDirty = false;
  }
}

function sumOf(weights: readonly number[]): number {
  let s = 0;
  for (const w of weights) s += w;
  return s;
}

/** What the view needs from a list of rows with heights. */
export interface RowOffsets {
  readonly length: number;
  /** Total height. */
  readonly total: number;
  offset(index: number): number;
  indexAt(y: number): number;
}

/** Rows to render: [start, end) covering the viewport plus `overscan` rows each side. */
export function visibleRange(rows: RowOffsets, scrollTop: number, viewport: number, overscan: number): { start: number; end: number } {
  const n = rows.length;
  if (n <= 0) return { start: 0, end: 0 };
  const first = rows.indexAt(Math.max(0, scrollTop));
  const last = rows.indexAt(Math.max(0, scrollTop + viewport - 1));
  return { start: Math.max(0, first - overscan), end: Math.min(n, last + 1 + overscan) };
}

/** A row the view is anchored to and how far its top is from the scroll position. */
export interface Anchor {
  key: string;
  delta: number;
}

/** The first row whose top is in view at `scrollTop` (else the row cut by the top edge), to
 *  keep it in place across changes: a row cut by the edge that is measured taller or shorter
 *  then grows upwards, out of view, instead of pushing what is read down. */
export function captureAnchor(rows: RowOffsets, keyAt: (index: number) => string | undefined, scrollTop: number): Anchor | null {
  let i = rows.indexAt(scrollTop);
  if (i >= 0 && rows.offset(i) < scrollTop && i + 1 < rows.length) i++;
  const key = i < 0 ? undefined : keyAt(i);
  if (key === undefined) return null;
  return { key, delta: scrollTop - rows.offset(i) };
}

/** The scroll position that puts the anchor row where it was; null when it is gone. */
export function restoreAnchor(anchor: Anchor, indexOf: (key: string) => number, rows: RowOffsets): number | null {
  const i = indexOf(anchor.key);
  if (i < 0 || i >= rows.length) return null;
  return rows.offset(i) + anchor.delta;
}

/** Whether the view shows the end of the list (within `slack` pixels). */
export function isAtBottom(scrollTop: number, viewport: number, total: number, slack = 24): boolean {
  return scrollTop + viewport >= total - slack;
}

/** The largest valid scrollTop. */
export function maxScroll(total: number, viewport: number): number {
  return Math.max(0, total - viewport);
}
