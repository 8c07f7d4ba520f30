import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("./ipc", () => ({
  loadDraft: vi.fn(),
  saveDraft: vi.fn(),
}));

import { loadDraft, saveDraft } from "./ipc";
import { DraftKeeper } from "./drafts";
import type { DraftDto } from "./bindings";

const d = (text: string): DraftDto => ({
  blocks: [{ type: "paragraph", inlines: [{ type: "text", text, bold: false, italic: false, strike: false, code: false }] }],
});

describe("DraftKeeper", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.mocked(saveDraft).mockReset().mockResolvedValue(undefined);
    vi.mocked(loadDraft).mockReset().mockResolvedValue(null);
  });
  afterEach(() => vi.useRealTimers());

  it("restores the saved draft of its scope", async () => {
    const saved = { channelId: "c1", rootId: "r1", draft: d("hi"), subject: null, importance: null };
    vi.mocked(loadDraft).mockResolvedValue(saved);
    const k = new DraftKeeper("c1", "r1");
    expect(await k.load()).toEqual(saved);
    expect(loadDraft).toHaveBeenCalledWith("c1", "r1");
  });

  it("debounces saves while typing (~500 ms after the last change)", async () => {
    const k = new DraftKeeper("c1", null);
    k.changed(d("h"));
    await vi.advanceTimersByTimeAsync(300);
    k.changed(d("he"), "Subject", "high");
    await vi.advanceTimersByTimeAsync(499);
    expect(saveDraft).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(saveDraft).toHaveBeenCalledTimes(1);
    expect(saveDraft).toHaveBeenCalledWith({ channelId: "c1", rootId: null, draft: d("he"), subject: "Subject", importance: "high" });
  });

  it("saves at once when leaving, and not again afterwards", async () => {
    const k = new DraftKeeper("c1", null);
    k.changed(d("bye"));
    await k.flush();
    expect(saveDraft).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(saveDraft).toHaveBeenCalledTimes(1);
  });

  it("skips saving an unchanged draft", async () => {
    vi.mocked(loadDraft).mockResolvedValue({ channelId: "c1", rootId: null, draft: d("same"), subject: null, importance: null });
    const k = new DraftKeeper("c1", null);
    await k.load();
    k.changed(d("same"));
    await k.flush();
    expect(saveDraft).not.toHaveBeenCalled();
  });

  it("clears after send: cancels the pending save and stores an empty draft", async () => {
    const k = new DraftKeeper("c1", "r9");
    k.changed(d("sent"));
    await vi.advanceTimersByTimeAsync(600);
    k.changed(d("sent!"));
    await k.cleared();
    await vi.advanceTimersByTimeAsync(1000);
    expect(vi.mocked(saveDraft).mock.calls.map((c) => c[0].draft.blocks.length)).toEqual([1, 0]);
    expect(vi.mocked(saveDraft).mock.calls[1]?.[0]).toEqual({ channelId: "c1", rootId: "r9", draft: { blocks: [] }, subject: null, importance: null });
  });

  it("reports failures instead of throwing", async () => {
    vi.mocked(saveDraft).mockRejectedValue({ code: "db", message: "locked" });
    const errors: unknown[] = [];
    const k = new DraftKeeper("c1", null, 500, (e) => errors.push(e));
    k.changed(d("x"));
    await k.flush();
    expect(errors).toEqual([{ code: "db", message: "locked" }]);
  });
});
