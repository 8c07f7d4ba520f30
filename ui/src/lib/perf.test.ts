import { describe, expect, it } from "vitest";
import { batchIds } from "./perf";
import type { MessageDto, TimelineBatchDto } from "./bindings";

const item = (id: string) => ({ key: { channelId: "c", rootId: id, id } }) as MessageDto;

describe("batchIds", () => {
  it("names what a batch brought in, not what it removed", () => {
    const batch: TimelineBatchDto = {
      subscription: 1,
      historyComplete: false,
      committedAtMs: 1,
      diffs: [
        { op: "insert", item: item("a") },
        { op: "replace", key: { channelId: "c", rootId: "local-1", id: "local-1" }, item: item("b") },
        { op: "remove", key: { channelId: "c", rootId: "x", id: "x" } },
        { op: "update", item: item("c") },
      ],
    };
    expect(batchIds(batch)).toEqual(["a", "b", "c"]);
  });
});
