import { describe, expect, it } from "vitest";
import { pendingLines, pendingState } from "./pending";
import { msg } from "./test-fixtures";
import type { PendingDto } from "./bindings";

const p = (over: Partial<PendingDto>): PendingDto => ({
  outboxId: 1,
  kind: "post",
  state: "queued",
  attempts: 0,
  errorCode: null,
  errorMessage: null,
  nextAttemptAt: null,
  ...over,
});

describe("pending writes", () => {
  it("reads a local echo's own write as the message's state", () => {
    const m = msg("local-1", "2024-01-01", { local: true, pending: [p({ state: "queued" })] });
    expect(pendingState(m)).toBe("queued");
    expect(pendingLines(m)[0]).toMatchObject({ text: "Waiting to send", retry: null, discard: false });
  });
  it("offers Retry now / Discard for a failed write and Resend for a wedged one", () => {
    const failed = msg("local-2", "2024-01-01", {
      local: true,
      pending: [p({ state: "failed", errorMessage: "Teams is busy", nextAttemptAt: "2024-01-01T10:15:00Z" })],
    });
    const line = pendingLines(failed)[0]!;
    expect(line.text).toMatch(/^Couldn't send: Teams is busy\. Retrying at /);
    expect(line).toMatchObject({ retry: "Retry now", discard: true, tone: "warn" });
    const wedged = msg("local-3", "2024-01-01", { local: true, pending: [p({ state: "wedged", errorMessage: "Forbidden" })] });
    expect(pendingLines(wedged)[0]).toMatchObject({ text: "Not sent: Forbidden", retry: "Resend", tone: "error" });
  });
  it("names the kind of a pending write on a server message and picks the worst state", () => {
    const m = msg("m1", "2024-01-01", {
      pending: [p({ kind: "react", state: "sending" }), p({ outboxId: 2, kind: "edit", state: "expired" }), p({ outboxId: 3, state: "sent" })],
    });
    expect(pendingState(m)).toBe("expired");
    expect(pendingLines(m).map((l) => l.text)).toEqual(["Reaction pending — Sending…", "Edit pending — Not sent: it waited too long"]);
    expect(pendingState(msg("m2", "2024-01-01"))).toBeNull();
  });
});
