// How unsent writes on a message read to a person.
import type { MessageDto, PendingDto } from "./bindings";
import { messages } from "./messages";
import { clockTime } from "./time";

const SEVERITY: Record<string, number> = { sent: 0, cancelled: 0, queued: 1, sending: 2, failed: 3, expired: 4, wedged: 5 };

/** The state to show for a message's unsent writes (the most serious), or null. */
export function pendingState(message: MessageDto): PendingDto["state"] | null {
  let worst: PendingDto | null = null;
  for (const p of message.pending) {
    if ((SEVERITY[p.state] ?? 0) === 0) continue;
    if (!worst || (SEVERITY[p.state] ?? 0) > (SEVERITY[worst.state] ?? 0)) worst = p;
  }
  return worst?.state ?? null;
}

export type PendingTone = "quiet" | "warn" | "error";

export interface PendingLine {
  pending: PendingDto;
  text: string;
  tone: PendingTone;
  /** Which buttons to offer. */
  retry: string | null;
  discard: boolean;
}

/** One line per unsent write; for a local echo the creating write reads as the message's own state. */
export function pendingLines(message: MessageDto): PendingLine[] {
  return message.pending
    .filter((p) => p.state !== "sent" && p.state !== "cancelled")
    .map((p) => {
      const own = message.local && (p.kind === "post" || p.kind === "reply");
      const prefix = own ? null : messages.pendingKind(p.kind);
      const wrap = (text: string) => (prefix ? `${prefix} — ${text}` : text);
      switch (p.state) {
        case "queued":
          return { pending: p, text: wrap(messages.waitingToSend), tone: "quiet", retry: null, discard: false } as PendingLine;
        case "sending":
          return { pending: p, text: wrap(messages.sending), tone: "quiet", retry: null, discard: false } as PendingLine;
        case "failed": {
          const error = p.errorMessage ?? messages.unexpectedError;
          const text = p.nextAttemptAt ? messages.couldntSend(error, clockTime(p.nextAttemptAt)) : messages.couldntSendNoTime(error);
          return { pending: p, text: wrap(text), tone: "warn", retry: messages.retryNow, discard: true } as PendingLine;
        }
        default: {
          const reason = p.errorMessage ?? (p.state === "expired" ? messages.notSentExpired : messages.unexpectedError);
          return { pending: p, text: wrap(messages.notSent(reason)), tone: "error", retry: messages.resend, discard: true } as PendingLine;
        }
      }
    });
}
