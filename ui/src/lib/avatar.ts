// Avatars without remote images: initials on a colour derived from the user id.

/** Up to two initials from a display name ("Ada Lovelace" → "AL"). */
export function initials(name: string | null): string {
  const words = (name ?? "").replace(/\(.*?\)/g, "").trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  const first = Array.from(words[0] as string)[0] ?? "";
  const last = words.length > 1 ? (Array.from(words[words.length - 1] as string)[0] ?? "") : "";
  return (first + last).toUpperCase();
}

/** A stable palette index (0..n-1) from an id (FNV-1a). */
export function colourIndex(id: string | null, n = 8): number {
  let h = 0x811c9dc5;
  for (const ch of id ?? "") {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % n;
}
