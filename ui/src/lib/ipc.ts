// The one module that talks to the Tauri shell. Everything else calls these typed functions,
// so the IPC surface stays small and reviewable.
import { invoke } from "@tauri-apps/api/core";

/** What the shell reports about itself (mirrors `AppInfo` in src-tauri/src/commands.rs). */
export interface AppInfo {
  name: string;
  version: string;
}

/** Errors from the shell arrive as `{code, message}`; the UI branches on `code`. */
export interface ShellError {
  code: string;
  message: string;
}

export function isShellError(value: unknown): value is ShellError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ShellError).code === "string" &&
    typeof (value as ShellError).message === "string"
  );
}

/** True when running inside the Tauri web view (false in a plain browser or in Vitest). */
export function inShell(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export async function appInfo(): Promise<AppInfo> {
  return invoke<AppInfo>("app_info");
}
