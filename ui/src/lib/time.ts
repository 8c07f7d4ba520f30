// Times for people: relative today ("5 min ago", "14:05"), a date otherwise; full in tooltips.

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "Just now", "N min ago" (under an hour), the time today, "Yesterday 14:05", a short date
 *  this year, or a date with the year. */
export function relativeTime(iso: string, now: Date = new Date(), locale?: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return "";
  const diff = now.getTime() - t.getTime();
  const time = t.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  if (sameDay(t, now)) {
    if (diff >= 0 && diff < 60_000) return "Just now";
    if (diff >= 0 && diff < 3_600_000) return `${Math.floor(diff / 60_000)} min ago`;
    return time;
  }
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(t, yesterday)) return `Yesterday ${time}`;
  if (t.getFullYear() === now.getFullYear()) {
    return t.toLocaleDateString(locale, { day: "numeric", month: "short" });
  }
  return t.toLocaleDateString(locale, { day: "numeric", month: "short", year: "numeric" });
}

/** The full timestamp for a `title`. */
export function fullTime(iso: string, locale?: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return t.toLocaleString(locale, { dateStyle: "full", timeStyle: "short" });
}

/** Only the clock time ("14:05"). */
export function clockTime(iso: string, locale?: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return t.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
}
