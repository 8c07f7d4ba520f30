// The one place HTML may enter the DOM is MessageBody.svelte (the shell's sanitised
// MessageDto.html). This test fails if any other source file under src/ uses an HTML sink.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(__dirname, "..");
const ALLOWED = new Set(["components/MessageBody.svelte"]);
const SELF = "lib/html-scan.test.ts";
const SINKS = ["{@html", "innerHTML", "outerHTML", "insertAdjacentHTML"];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.(svelte|ts)$/.test(name) ? [path] : [];
  });
}

describe("HTML sinks", () => {
  it("appear only in MessageBody.svelte, exactly once there", () => {
    const offenders: string[] = [];
    for (const path of files(SRC)) {
      const rel = relative(SRC, path).split("\\").join("/");
      if (rel === SELF) continue;
      const text = readFileSync(path, "utf8");
      for (const sink of SINKS) {
        if (text.includes(sink) && !(ALLOWED.has(rel) && sink === "{@html")) offenders.push(`${rel}: ${sink}`);
      }
    }
    expect(offenders).toEqual([]);
    const body = readFileSync(join(SRC, "components/MessageBody.svelte"), "utf8");
    expect(body.split("{@html").length - 1).toBe(1);
  });
});
