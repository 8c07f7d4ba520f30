// Every user-visible string, in one place, ready for translation.
export const messages = {
  appName: "Perch",
  tagline: "Teams channels, fast and calm.",
  loading: "Starting…",
  notInShell: "Open Perch through its desktop app to connect.",
  version: (v: string) => `Version ${v}`,
  shellError: (code: string, message: string) => `${message} (${code})`,
} as const;
