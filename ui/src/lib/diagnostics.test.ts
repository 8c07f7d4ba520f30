import { describe, expect, it } from "vitest";
import type { DiagnosticsDto } from "./bindings";
import { counts, ordered, splitAction, summary } from "./diagnostics";

const report: DiagnosticsDto = {
  generatedAt: "2026-12-05T10:00:00.000Z",
  worst: "fail",
  logDir: "/home/u/.local/state/perch/logs",
  findings: [
    { id: "config", title: "Configuration", status: "pass", detail: "ok", action: null },
    { id: "clock", title: "Clock", status: "warn", detail: "3 min ahead", action: "Set the clock" },
    {
      id: "scopes.a",
      title: "Permissions",
      status: "fail",
      detail: "not granted: Files.Read.All",
      action: "An administrator must grant consent for the tenant: https://login.microsoftonline.com/t/adminconsent?client_id=c",
    },
  ],
};

describe("diagnostics", () => {
  it("counts and summarises by status", () => {
    expect(counts(report)).toEqual({ pass: 1, warn: 1, fail: 1 });
    expect(summary(report)).toBe("1 passed, 1 warning, 1 failed");
  });

  it("puts failures first, keeping the checks' order", () => {
    expect(ordered(report).map((f) => f.id)).toEqual(["scopes.a", "clock", "config"]);
  });

  it("splits the admin-consent link out of an action", () => {
    const { text, url } = splitAction(report.findings[2]?.action ?? "");
    expect(url).toBe("https://login.microsoftonline.com/t/adminconsent?client_id=c");
    expect(text).toBe("An administrator must grant consent for the tenant");
    expect(splitAction("Set the clock.")).toEqual({ text: "Set the clock.", url: null });
  });
});
