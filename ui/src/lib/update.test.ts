import { describe, expect, it } from "vitest";
import { readyVersion } from "./update";

describe("readyVersion", () => {
  it("offers a downloaded update", () => {
    expect(readyVersion({ state: "ready", version: "0.2.0" })).toBe("0.2.0");
  });
  it("stays quiet otherwise", () => {
    expect(readyVersion(null)).toBeNull();
    expect(readyVersion({ state: "idle" })).toBeNull();
    expect(readyVersion({ state: "off", reason: "package manager" })).toBeNull();
    expect(readyVersion({ state: "failed", message: "offline" })).toBeNull();
  });
});
