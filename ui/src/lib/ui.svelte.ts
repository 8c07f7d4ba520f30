// Small shared UI state: transient notices (errors and confirmations for people) and the
// one confirmation dialog.
import { errorText } from "./errors";

export interface Notice {
  id: number;
  text: string;
  kind: "info" | "error";
}

export interface ConfirmRequest {
  title: string;
  body: string;
  confirmLabel: string;
  resolve: (ok: boolean) => void;
}

let nextId = 1;

export const ui = $state<{ notices: Notice[]; confirm: ConfirmRequest | null }>({ notices: [], confirm: null });

export function notify(text: string, kind: Notice["kind"] = "info", ms = 4000): void {
  const id = nextId++;
  ui.notices = [...ui.notices, { id, text, kind }];
  setTimeout(() => dismissNotice(id), ms);
}

export function dismissNotice(id: number): void {
  ui.notices = ui.notices.filter((n) => n.id !== id);
}

/** Shows a command's failure to the person (its message, never a raw exception). */
export function reportError(error: unknown): void {
  notify(errorText(error), "error", 7000);
}

/** Runs a command, reporting a failure; resolves to its value or undefined. */
export async function attempt<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    reportError(error);
    return undefined;
  }
}

export function confirmAction(title: string, body: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    ui.confirm?.resolve(false);
    ui.confirm = {
      title,
      body,
      confirmLabel,
      resolve: (ok) => {
        ui.confirm = null;
        resolve(ok);
      },
    };
  });
}
