// The Diagnostics page's pure parts: counts per status, the summary line, and an action split
// into its words and the one link it may carry (the admin-consent page), which the page opens
// through `openExternal` (the system browser).
import type { DiagnosticsDto, FindingStatusDto } from "./bindings";
import { messages } from "./messages";

export type Counts = Record<FindingStatusDto, number>;

export function counts(report: DiagnosticsDto): Counts {
  const out: Counts = { pass: 0, warn: 0, fail: 0 };
  for (const f of report.findings) out[f.status] += 1;
  return out;
}

export function summary(report: DiagnosticsDto): string {
  const c = counts(report);
  return messages.diagnosticsSummary(c.pass, c.warn, c.fail);
}

/** An action's text and the first http(s) link in it, if any. */
export function splitAction(action: string): { text: string; url: string | null } {
  const match = /https?:\/\/[^\s)]+/.exec(action);
  if (!match) return { text: action, url: null };
  const url = match[0].replace(/[.,;]+$/, "");
  const text = action.replace(url, "").replace(/[:\s]+$/, "").trim();
  return { text, url };
}

/** Failures first, then warnings, then passes; the checks' order within each. */
export function ordered(report: DiagnosticsDto) {
  const rank: Record<FindingStatusDto, number> = { fail: 0, warn: 1, pass: 2 };
  return report.findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank[a.f.status] - rank[b.f.status] || a.i - b.i)
    .map(({ f }) => f);
}
