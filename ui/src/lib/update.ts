// What the update notice shows for the updater's state: only a downloaded, verified update is
// worth a person's attention (off, idle and failed checks stay in the logs).
import type { UpdateStatusDto } from "./bindings";

/** The version a restart installs, or null when there is nothing to offer. */
export function readyVersion(status: UpdateStatusDto | null): string | null {
  return status?.state === "ready" ? status.version : null;
}
