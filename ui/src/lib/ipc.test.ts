import { describe, expect, it } from "vitest";
import { inShell, isShellError } from "./ipc";

describe("isShellError", () => {
  it("accepts the shell's {code, message} shape", () => {
    expect(isShellError({ code: "keyring_locked", message: "Unlock your keyring" })).toBe(true);
  });
  it("rejects anything else", () => {
    expect(isShellError("boom")).toBe(false);
    expect(isShellError(null)).toBe(false);
    expect(isShellError({ code: 1, message: "x" })).toBe(false);
    expect(isShellError({ message: "no code" })).toBe(false);
  });
});

describe("inShell", () => {
  it("is false outside the Tauri web view", () => {
    expect(inShell()).toBe(false);
  });
});
