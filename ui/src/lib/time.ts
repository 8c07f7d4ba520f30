// Times for people: relative today ("5 min ago", "14:05"), a date otherwise; full in tooltips.

// Formatters are cached: `toLocale*String` with options builds a new `Intl.DateTimeFormat` per
// call, which was the costliest JS while scrolling (two or three per row mounted).
const formats = new Map<string, Intl.DateTimeFormat>();
const KINDS = {
  time: { hour: "2-digit", minute: "2-digit" },
  day: { day: "numeric", month: "short" },
  date: { day: "numeric", month: "short", year: "numeric" },
  full: { dateStyle: "full", timeStyle: "short" },
} satisfies Record<string, Intl.DateTimeFormatOptions>;

function format(kind: keyof typeof KINDS, t: Date, locale: string | undefined): string {
  const key = `${kind}|${locale ?? ""}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, KINDS[kind]);
    formats.set(key, f);
  }
  return f.format(t);
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "Just now", "N min ago" (under an hour), the time today, "Yesterday 14:05", a short date
 *  this year, or a date with the year. */
export function relativeTime(iso: string, now: Date = new Date(), locale?: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return "";
  const diff = now.getTime() - t.getTime();
  if (sameDay(t, now)) {
    if (diff >= 0 && diff < 60_000) return "Just now";
    if (diff >= 0 && diff < 3_600_000) return `${Math.floor(diff / 60_000)} min ago`;
    return format("time", t, locale);
  }
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(t, yesterday)) return `Yesterday ${format("time", t, locale)}`;
  if (t.getFullYear() === now.getFullYear()) return format("day", t, locale);
  return format("date", t, locale);
}

/** The full timestamp for a `title`. */
export function fullTime(iso: string, locale?: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return format("full", t, locale);
}

/** Only the clock time ("14:05"). */
export function clockTime(iso: string, locale?: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return format("time", t, locale);
}
