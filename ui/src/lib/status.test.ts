import { describe, expect, it } from "vitest";
import type { StatusDto, SyncStateDto } from "./bindings";
import { describeStatus, waitingCount } from "./status";

const status = (sync: SyncStateDto, outbox = { queued: 0, sending: 0, failed: 0, wedged: 0, expired: 0 }): StatusDto => ({
  accountId: "a",
  sync,
  channelErrors: [],
  outbox,
});

describe("describeStatus", () => {
  it("is honest about each state", () => {
    const now = new Date("2024-06-15T12:00:00Z");
    expect(describeStatus(status({ state: "idle", lastSyncedAt: "2024-06-15T11:59:50Z" }), now).text).toBe("Up to date · Last synced Just now");
    expect(describeStatus(status({ state: "syncing", done: 3, total: 10, pages: 4 })).text).toBe("Syncing 3 of 10…");
    const offline = describeStatus(status({ state: "offline", since: "x", reason: "dns" }, { queued: 2, sending: 0, failed: 1, wedged: 0, expired: 0 }));
    expect(offline).toMatchObject({ text: "Offline — showing saved messages; 3 writes waiting", tone: "warn" });
    expect(describeStatus(status({ state: "needs_sign_in", reason: "Session expired" }))).toMatchObject({ signIn: true, tone: "error" });
    expect(describeStatus(status({ state: "disk_full", message: "1 MB left" })).text).toBe("Disk full — 1 MB left");
    expect(describeStatus(status({ state: "error", code: "x", message: "Boom" })).text).toBe("Sync problem: Boom");
  });
  it("counts every unsent write", () => {
    expect(waitingCount(status({ state: "signed_out" }, { queued: 1, sending: 2, failed: 3, wedged: 4, expired: 5 }))).toBe(15);
  });
});
