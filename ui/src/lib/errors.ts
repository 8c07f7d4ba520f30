// Turns anything a command rejected with into words for a person (never a raw exception).
import { isShellError } from "./ipc";
import { messages } from "./messages";

export function errorText(error: unknown): string {
  if (isShellError(error)) return error.message;
  return messages.unexpectedError;
}
