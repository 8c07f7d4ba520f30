// The status bar's words for the sync state (pure, tested).
import type { StatusDto } from "./bindings";
import { messages } from "./messages";
import { clockTime, relativeTime } from "./time";

export type StatusTone = "ok" | "busy" | "warn" | "error";

export function waitingCount(status: StatusDto): number {
  const o = status.outbox;
  return o.queued + o.sending + o.failed + o.wedged + o.expired;
}

export function describeStatus(status: StatusDto, now: Date = new Date()): { text: string; tone: StatusTone; signIn: boolean } {
  const s = status.sync;
  switch (s.state) {
    case "idle":
      return {
        text: s.lastSyncedAt ? `${messages.upToDate} · ${messages.lastSynced(relativeTime(s.lastSyncedAt, now))}` : messages.neverSynced,
        tone: "ok",
        signIn: false,
      };
    case "syncing":
      return { text: messages.syncing(s.done, s.total), tone: "busy", signIn: false };
    case "offline":
      return { text: messages.offline(waitingCount(status)), tone: "warn", signIn: false };
    case "throttled":
      return { text: messages.throttled(clockTime(s.until)), tone: "warn", signIn: false };
    case "needs_sign_in":
      return { text: messages.needsSignIn(s.reason), tone: "error", signIn: true };
    case "disk_full":
      return { text: messages.diskFull(s.message), tone: "error", signIn: false };
    case "error":
      return { text: messages.syncError(s.message), tone: "error", signIn: false };
    case "signed_out":
      return { text: messages.signedOut, tone: "warn", signIn: false };
  }
}
