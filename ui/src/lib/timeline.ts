// Pure list state for a timeline or a thread: applies the shell's diffs by `key.id`, keeping
// display order. Both views are stored oldest first (the timeline streams newest first, so its
// reset is reversed); inserts go to their place by (createdAt, id); `replace` swaps a local
// echo for the server's message in place (no duplicate row, no reorder flicker).
import type { MessageDto, MessageKeyDto, TimelineDiffDto } from "./bindings";
import { type RowOffsets, WeightedRows } from "./virtual";

/** "timeline": the shell streams newest first; "thread": root then replies, oldest first. */
export type ListKind = "timeline" | "thread";

/** What one batch did, so the view can keep its scroll anchored. */
export interface ApplySummary {
  reset: boolean;
  /** Items inserted above the first item that existed before (older history). */
  insertedAbove: number;
  /** Items inserted after the last item that existed before (new posts). */
  insertedBelow: number;
  removed: number;
  updated: number;
}

function compare(a: MessageDto, b: MessageDto, kind: ListKind): number {
  if (kind === "thread") {
    const aRoot = a.key.id === a.key.rootId;
    const bRoot = b.key.id === b.key.rootId;
    if (aRoot !== bRoot) return aRoot ? -1 : 1;
  }
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  if (a.key.id === b.key.id) return 0;
  return a.key.id < b.key.id ? -1 : 1;
}

/** The index at which `item` belongs in `items` (sorted oldest first). */
export function insertionIndex(items: readonly MessageDto[], item: MessageDto, kind: ListKind): number {
  return searchIndex(items.length, (i) => items[i] as MessageDto, item, kind);
}

function searchIndex(n: number, at: (i: number) => MessageDto, item: MessageDto, kind: ListKind): number {
  // Fast paths: history arrives at the top, new posts at the bottom.
  if (n === 0 || compare(at(n - 1), item, kind) <= 0) return n;
  if (compare(at(0), item, kind) > 0) return 0;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(at(mid), item, kind) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Keeps one copy of short strings that repeat across messages (ids of channels and people,
 *  names, kinds, emoji): each message parsed from IPC brings its own copies otherwise. */
export class Interner {
  private seen = new Map<string, string>();
  constructor(private readonly max = 20_000) {}

  s<T extends string | null>(value: T): T {
    if (value === null || value.length > 96) return value;
    const known = this.seen.get(value);
    if (known !== undefined) return known as T;
    if (this.seen.size < this.max) this.seen.set(value, value);
    return value;
  }
}

const NONE: never[] = Object.freeze([]) as unknown as never[];

/** A message as the timeline keeps it: repeated strings shared, empty arrays shared, and
 *  without `text` (the plain-text copy of `html`, which no view shows). A shallow copy (the
 *  sender's object is left as it was); nested strings are swapped for equal shared ones. */
export function slim(m: MessageDto, pool: Interner): MessageDto {
  const id = m.key.id;
  for (const r of m.reactions) {
    r.reaction = pool.s(r.reaction);
    r.emoji = pool.s(r.emoji);
    for (let i = 0; i < r.names.length; i++) r.names[i] = pool.s(r.names[i] as string);
  }
  for (const a of m.attachments) {
    a.kind = pool.s(a.kind);
    a.contentType = pool.s(a.contentType);
  }
  return {
    key: { channelId: pool.s(m.key.channelId), rootId: m.key.rootId === id ? id : m.key.rootId, id },
    kind: pool.s(m.kind),
    createdAt: m.createdAt,
    editedAt: m.editedAt,
    deletedAt: m.deletedAt,
    subject: m.subject,
    importance: pool.s(m.importance),
    fromId: pool.s(m.fromId),
    fromName: pool.s(m.fromName),
    mine: m.mine,
    html: m.html,
    text: "",
    webUrl: m.webUrl,
    mentionsMe: m.mentionsMe,
    reactions: m.reactions.length ? m.reactions : NONE,
    attachments: m.attachments.length ? m.attachments : NONE,
    replyCount: m.replyCount,
    lastReplyAt: m.lastReplyAt,
    unread: m.unread,
    pending: m.pending.length ? m.pending : NONE,
    local: m.local,
  };
}

export interface MessageListOptions {
  /** The height of a row not measured yet (0: the list is not used for layout). */
  estimate?: number;
  /** Store messages compactly (see `slim`): for the long timeline, not for threads. */
  compact?: boolean;
}

/**
 * The messages of a timeline or thread, oldest first, each with its row height (measured, or
 * the estimate). Stored in chunks (`WeightedRows`): an insert, a remove or a measurement costs
 * O(log n + chunk), never O(n), so 100k loaded posts stay cheap per batch and per frame.
 */
export class MessageList implements RowOffsets {
  readonly kind: ListKind;
  readonly estimate: number;
  private rows = new WeightedRows<MessageDto>();
  private byId = new Map<string, MessageDto>();
  private pool: Interner | null;

  constructor(kind: ListKind, options: MessageListOptions = {}) {
    this.kind = kind;
    this.estimate = options.estimate ?? 0;
    this.pool = options.compact ? new Interner() : null;
  }

  /** Oldest first, as a new array: O(n), for short lists (threads) and tests. */
  get items(): readonly MessageDto[] {
    return this.rows.toArray();
  }

  get size(): number {
    return this.rows.length;
  }

  get length(): number {
    return this.rows.length;
  }

  /** The summed height of all rows. */
  get total(): number {
    return this.rows.total;
  }

  at(index: number): MessageDto | undefined {
    return this.rows.at(index);
  }

  /** Rows [start, end). */
  slice(start: number, end: number): MessageDto[] {
    return this.rows.slice(start, end);
  }

  /** The top of row `index`; offset(size) is the total height. */
  offset(index: number): number {
    return this.rows.offset(index);
  }

  /** The row containing `y` (clamped); -1 when empty. */
  indexAt(y: number): number {
    return this.rows.indexAt(y);
  }

  heightAt(index: number): number {
    return this.rows.weight(index);
  }

  /** Records a measured height; returns whether it changed anything. */
  setHeight(id: string, height: number): boolean {
    const i = this.indexOf(id);
    if (i < 0) return false;
    return this.rows.setWeight(i, Math.max(0, Math.round(height)));
  }

  get(id: string): MessageDto | undefined {
    return this.byId.get(id);
  }

  indexOf(id: string): number {
    const item = this.byId.get(id);
    if (!item) return -1;
    const at = searchIndex(this.rows.length, (i) => this.rows.at(i) as MessageDto, item, this.kind) - 1;
    if (this.rows.at(at) === item) return at;
    // Out of order (a replaced item keeps its place): look it up the slow way.
    let found = -1;
    this.rows.forEach((m, _w, i) => {
      if (found < 0 && m === item) found = i;
    });
    return found;
  }

  /** The newest item (the timeline's bottom). */
  newest(): MessageDto | undefined {
    return this.rows.at(this.rows.length - 1);
  }

  private keep(item: MessageDto): MessageDto {
    return this.pool ? slim(item, this.pool) : item;
  }

  private insertSorted(item: MessageDto): number {
    const at = searchIndex(this.rows.length, (i) => this.rows.at(i) as MessageDto, item, this.kind);
    this.rows.insert(at, item, this.estimate);
    this.byId.set(item.key.id, item);
    return at;
  }

  apply(diffs: readonly TimelineDiffDto[]): ApplySummary {
    const summary: ApplySummary = { reset: false, insertedAbove: 0, insertedBelow: 0, removed: 0, updated: 0 };
    for (const diff of diffs) {
      switch (diff.op) {
        case "reset": {
          // Measured heights survive a reset for the messages that are still there.
          const known = new Map<string, number>();
          this.rows.forEach((m, w) => {
            if (w !== this.estimate) known.set(m.key.id, w);
          });
          const items = this.kind === "timeline" ? [...diff.items].reverse() : [...diff.items];
          const list: MessageDto[] = [];
          this.byId.clear();
          for (const raw of items) {
            if (this.byId.has(raw.key.id)) continue;
            const item = this.keep(raw);
            this.byId.set(item.key.id, item);
            list.push(item);
          }
          // Trust the shell's order, but make sure it is ours.
          list.sort((a, b) => compare(a, b, this.kind));
          this.rows.reset(list, (m) => known.get(m.key.id) ?? this.estimate);
          summary.reset = true;
          summary.insertedAbove = 0;
          summary.insertedBelow = 0;
          break;
        }
        case "insert":
        case "update": {
          const existing = this.byId.get(diff.item.key.id);
          if (existing) {
            this.replaceAt(existing.key.id, this.keep(diff.item));
            summary.updated++;
          } else {
            const before = this.rows.length;
            const at = this.insertSorted(this.keep(diff.item));
            if (at === 0 && before > 0) summary.insertedAbove++;
            else if (at >= before) summary.insertedBelow++;
          }
          break;
        }
        case "remove": {
          if (this.removeId(diff.key)) summary.removed++;
          break;
        }
        case "replace": {
          const old = this.byId.get(diff.key.id);
          const dup = diff.item.key.id !== diff.key.id ? this.byId.get(diff.item.key.id) : undefined;
          if (old) {
            if (dup) this.removeId(dup.key);
            this.replaceAt(diff.key.id, this.keep(diff.item));
            summary.updated++;
          } else if (dup) {
            this.replaceAt(dup.key.id, this.keep(diff.item));
            summary.updated++;
          } else {
            this.insertSorted(this.keep(diff.item));
            summary.insertedBelow++;
          }
          break;
        }
      }
    }
    return summary;
  }

  /** Swaps the item with `id` for `item` at the same position (and height). */
  private replaceAt(id: string, item: MessageDto): void {
    const old = this.byId.get(id);
    if (!old) return;
    const at = this.indexOf(id);
    this.byId.delete(id);
    this.byId.set(item.key.id, item);
    if (at >= 0) this.rows.set(at, item);
  }

  private removeId(key: MessageKeyDto): boolean {
    const at = this.indexOf(key.id);
    if (at < 0) return false;
    this.rows.removeAt(at);
    this.byId.delete(key.id);
    return true;
  }
}

/** Index (oldest-first) of the first unread root post, or -1. */
export function firstUnreadIndex(items: { readonly length: number; at(index: number): MessageDto | undefined }): number {
  let first = -1;
  for (let i = items.length - 1; i >= 0; i--) {
    const m = items.at(i) as MessageDto;
    if (m.unread && !m.mine) first = i;
    else if (first >= 0) break;
  }
  return first;
}
