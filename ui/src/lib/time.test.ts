import { describe, expect, it } from "vitest";
import { clockTime, fullTime, relativeTime } from "./time";
import { colourIndex, initials } from "./avatar";

describe("relativeTime", () => {
  const now = new Date(2024, 5, 15, 14, 30, 0);
  const at = (d: Date) => d.toISOString();
  it("is relative within the hour today", () => {
    expect(relativeTime(at(new Date(2024, 5, 15, 14, 29, 40)), now, "en-GB")).toBe("Just now");
    expect(relativeTime(at(new Date(2024, 5, 15, 14, 5, 0)), now, "en-GB")).toBe("25 min ago");
  });
  it("shows the time earlier today and yesterday", () => {
    expect(relativeTime(at(new Date(2024, 5, 15, 9, 7, 0)), now, "en-GB")).toBe("09:07");
    expect(relativeTime(at(new Date(2024, 5, 14, 18, 0, 0)), now, "en-GB")).toBe("Yesterday 18:00");
  });
  it("shows a date otherwise, with the year when it differs", () => {
    expect(relativeTime(at(new Date(2024, 2, 3, 12, 0, 0)), now, "en-GB")).toBe("3 Mar");
    expect(relativeTime(at(new Date(2023, 2, 3, 12, 0, 0)), now, "en-GB")).toBe("3 Mar 2023");
    expect(relativeTime("nonsense", now)).toBe("");
  });
});

describe("fullTime and clockTime", () => {
  const t = new Date(2024, 5, 15, 9, 7, 0).toISOString();
  it("format like toLocaleString (with cached formatters)", () => {
    expect(fullTime(t, "en-GB")).toBe(new Date(t).toLocaleString("en-GB", { dateStyle: "full", timeStyle: "short" }));
    expect(fullTime(t, "de-DE")).toBe(new Date(t).toLocaleString("de-DE", { dateStyle: "full", timeStyle: "short" }));
    expect(clockTime(t, "en-GB")).toBe("09:07");
    expect(fullTime("nonsense")).toBe("nonsense");
  });
});

describe("avatars", () => {
  it("takes first and last initials", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("Grace Brewster Murray Hopper")).toBe("GH");
    expect(initials("plato")).toBe("P");
    expect(initials(null)).toBe("?");
  });
  it("derives a stable colour from the id", () => {
    expect(colourIndex("user-1")).toBe(colourIndex("user-1"));
    const spread = new Set(Array.from({ length: 40 }, (_, i) => colourIndex(`u${i}`)));
    expect(spread.size).toBeGreaterThan(4);
  });
});
