// Pure list state for a timeline or a thread: applies the shell's diffs by `key.id`, keeping
// display order. Both views are stored oldest first (the timeline streams newest first, so its
// reset is reversed); inserts go to their place by (createdAt, id); `replace` swaps a local
// echo for the server's message in place (no duplicate row, no reorder flicker).
import type { MessageDto, MessageKeyDto, TimelineDiffDto } from "./bindings";

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
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(items[mid] as MessageDto, item, kind) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MessageList {
  readonly kind: ListKind;
  private list: MessageDto[] = [];
  private byId = new Map<string, MessageDto>();

  constructor(kind: ListKind) {
    this.kind = kind;
  }

  /** Oldest first. Treat as read-only. */
  get items(): readonly MessageDto[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  get(id: string): MessageDto | undefined {
    return this.byId.get(id);
  }

  indexOf(id: string): number {
    const item = this.byId.get(id);
    if (!item) return -1;
    const at = insertionIndex(this.list, item, this.kind) - 1;
    if (this.list[at]?.key.id === id) return at;
    return this.list.findIndex((m) => m.key.id === id);
  }

  /** The newest item (the timeline's bottom). */
  newest(): MessageDto | undefined {
    return this.list[this.list.length - 1];
  }

  apply(diffs: readonly TimelineDiffDto[]): ApplySummary {
    const summary: ApplySummary = { reset: false, insertedAbove: 0, insertedBelow: 0, removed: 0, updated: 0 };
    for (const diff of diffs) {
      switch (diff.op) {
        case "reset": {
          const items = this.kind === "timeline" ? [...diff.items].reverse() : [...diff.items];
          this.list = [];
          this.byId.clear();
          for (const item of items) {
            if (this.byId.has(item.key.id)) continue;
            this.byId.set(item.key.id, item);
            this.list.push(item);
          }
          // Trust the shell's order, but make sure it is ours.
          this.list.sort((a, b) => compare(a, b, this.kind));
          summary.reset = true;
          summary.insertedAbove = 0;
          summary.insertedBelow = 0;
          break;
        }
        case "insert":
        case "update": {
          const existing = this.byId.get(diff.item.key.id);
          if (existing) {
            this.replaceAt(existing.key.id, diff.item);
            summary.updated++;
          } else {
            const at = insertionIndex(this.list, diff.item, this.kind);
            const before = this.list.length;
            this.list.splice(at, 0, diff.item);
            this.byId.set(diff.item.key.id, diff.item);
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
            this.replaceAt(diff.key.id, diff.item);
            summary.updated++;
          } else if (dup) {
            this.replaceAt(dup.key.id, diff.item);
            summary.updated++;
          } else {
            const at = insertionIndex(this.list, diff.item, this.kind);
            this.list.splice(at, 0, diff.item);
            this.byId.set(diff.item.key.id, diff.item);
            summary.insertedBelow++;
          }
          break;
        }
      }
    }
    return summary;
  }

  /** Swaps the item with `id` for `item` at the same position. */
  private replaceAt(id: string, item: MessageDto): void {
    const old = this.byId.get(id);
    if (!old) return;
    const at = this.indexOf(id);
    this.byId.delete(id);
    this.byId.set(item.key.id, item);
    if (at >= 0) this.list[at] = item;
  }

  private removeId(key: MessageKeyDto): boolean {
    const at = this.indexOf(key.id);
    if (at < 0) return false;
    this.list.splice(at, 1);
    this.byId.delete(key.id);
    return true;
  }
}

/** Index (oldest-first) of the first unread root post, or -1. */
export function firstUnreadIndex(items: readonly MessageDto[]): number {
  let first = -1;
  for (let i = items.length - 1; i >= 0; i--) {
    const m = items[i] as MessageDto;
    if (m.unread && !m.mine) first = i;
    else if (first >= 0) break;
  }
  return first;
}
