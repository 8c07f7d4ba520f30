// The shell's data types, as the UI sees them. This file is the IPC contract between
// src-tauri (Rust DTOs in crates/perch-app/src/dto.rs) and the UI. It will be generated from
// the Rust types (ts-rs) and checked in CI; until then it is written by hand to match them.
// Timestamps are RFC 3339 strings in UTC. Optional values are `null`, never absent.

/** A message's identity: root posts have `rootId === id`. */
export type MessageKeyDto = { channelId: string; rootId: string; id: string };

/** Where a queued write stands. */
export type OutboxStateDto =
  | "queued"
  | "sending"
  | "sent"
  | "failed"
  | "wedged"
  | "expired"
  | "cancelled";

/** What a queued write does. */
export type OutboxKindDto = "post" | "reply" | "edit" | "delete" | "undelete" | "react" | "unreact";

/** An unsent write laid over a message (or the write that creates a local echo). */
export type PendingDto = {
  outboxId: number;
  kind: OutboxKindDto;
  state: OutboxStateDto;
  attempts: number;
  errorCode: string | null;
  /** Why the latest attempt failed, for a person. */
  errorMessage: string | null;
  nextAttemptAt: string | null;
};

/** One reaction type on a message, grouped. */
export type ReactionDto = {
  /** Graph's reactionType: "like", "heart", "laugh", "surprised", "sad", "angry" or an emoji. */
  reaction: string;
  /** The emoji to show for it. */
  emoji: string;
  count: number;
  /** Whether the signed-in user is among those who reacted. */
  mine: boolean;
  /** Names of who reacted (for a tooltip), as known. */
  names: Array<string>;
};

/** A file or card attached to a message. */
export type AttachmentDto = {
  id: string | null;
  name: string | null;
  /** "file" (a reference to a document), "card" (adaptive card etc.), "other". */
  kind: "file" | "card" | "other";
  contentType: string;
  /** http(s) link to open in the system browser, when there is one. */
  url: string | null;
};

/** A root post or a reply, ready to render. */
export type MessageDto = {
  key: MessageKeyDto;
  /** "message" for people's messages, "system" for system events (shown small). */
  kind: "message" | "system";
  createdAt: string;
  editedAt: string | null;
  /** Set on tombstones: render "This message has been deleted." (with Undo when mine). */
  deletedAt: string | null;
  subject: string | null;
  /** "normal", "high", "urgent". */
  importance: string;
  fromId: string | null;
  fromName: string | null;
  /** Sent by the signed-in user (may edit and delete it). */
  mine: boolean;
  /** Sanitised HTML from the Rust side (perch-html allow-list). The ONLY string the UI may
   *  put into the DOM as HTML. Mentions are `<span class="mention" data-mention-id>`; inline
   *  images use the `perch-media:` scheme; links are `<a href target="_blank" rel>`. */
  html: string;
  /** Plain text of the body (previews, copy). */
  text: string;
  webUrl: string | null;
  mentionsMe: boolean;
  reactions: Array<ReactionDto>;
  attachments: Array<AttachmentDto>;
  /** Live replies (root posts only; 0 for replies), including unsent local replies. */
  replyCount: number;
  lastReplyAt: string | null;
  unread: boolean;
  /** Unsent writes on it, oldest first. A local echo (`local === true`) has its creating write here. */
  pending: Array<PendingDto>;
  /** A local echo of an unsent post or reply (`key.id` is "local-N"). */
  local: boolean;
};

/** One change to a timeline (root posts, newest first) or a thread (root then replies, oldest first). */
export type TimelineDiffDto =
  | { op: "insert"; item: MessageDto }
  | { op: "update"; item: MessageDto }
  | { op: "remove"; key: MessageKeyDto }
  | { op: "replace"; key: MessageKeyDto; item: MessageDto }
  | { op: "reset"; items: Array<MessageDto> };

/** A batch of timeline diffs, as streamed over a `Channel`. The first batch is a reset. */
export type TimelineBatchDto = {
  /** The subscription this batch belongs to. */
  subscription: number;
  diffs: Array<TimelineDiffDto>;
  /** Whether all older history is loaded (no more to fetch by scrolling up). */
  historyComplete: boolean;
};

/** Per-channel notification setting. */
export type NotifyLevelDto = "all" | "mentions" | "off";

/** A channel in the sidebar. */
export type ChannelDto = {
  id: string;
  teamId: string;
  name: string;
  description: string | null;
  /** "standard", "private", "shared". */
  membershipType: string;
  webUrl: string | null;
  followed: boolean;
  unread: number;
  mentions: number;
  lastActivity: string | null;
  notify: NotifyLevelDto;
};

/** A team and its channels, in Graph's order. */
export type TeamDto = { id: string; name: string; description: string | null; channels: Array<ChannelDto> };

/** One change to the sidebar. */
export type SidebarDiffDto =
  | { op: "reset"; teams: Array<TeamDto> }
  | { op: "channel"; teamId: string; channel: ChannelDto };

/** The sync status, always honest. */
export type SyncStateDto =
  | { state: "idle"; lastSyncedAt: string | null }
  | { state: "syncing"; done: number; total: number; pages: number }
  | { state: "offline"; since: string; reason: string }
  | { state: "throttled"; until: string }
  | { state: "needs_sign_in"; reason: string }
  | { state: "disk_full"; message: string }
  | { state: "error"; code: string; message: string }
  | { state: "signed_out" };

/** Unsent writes by state. */
export type OutboxCountsDto = { queued: number; sending: number; failed: number; wedged: number; expired: number };

/** The status of the active account (pushed as the `status` event, also from `app_state`). */
export type StatusDto = {
  accountId: string | null;
  sync: SyncStateDto;
  /** Channels whose last round failed permanently, with why. */
  channelErrors: Array<{ channelId: string; message: string }>;
  outbox: OutboxCountsDto;
};

/** A signed-in (or once signed-in) account. */
export type AccountDto = {
  /** `{tenantId}.{userId}`. */
  id: string;
  displayName: string;
  email: string | null;
  tenantId: string;
  userId: string;
  /** "signed_in", "needs_sign_in", "signed_out". */
  state: "signed_in" | "needs_sign_in" | "signed_out";
  active: boolean;
};

/** "system" follows the OS. */
export type ThemeDto = "system" | "light" | "dark";

/** The person's settings (what the Settings dialog edits). */
export type SettingsDto = {
  theme: ThemeDto;
  /** Quiet hours in local time, "HH:MM"; null when off. */
  quietHours: { start: string; end: string } | null;
  /** Seconds between syncs of the channel in view (policy minimum applies). */
  viewIntervalSecs: number;
  /** Seconds between syncs of followed channels in the background. */
  followedIntervalSecs: number;
  /** Whether notifications show a preview of the message text (a policy can force off). */
  notificationPreviews: boolean;
  /** Settings a policy locks (names of the fields above); shown locked in the UI. */
  locked: Array<string>;
  /** Lowest allowed values. */
  minViewIntervalSecs: number;
  minFollowedIntervalSecs: number;
};

/** Why the app runs as it does. */
export type ModeDto =
  /** No organisation configured: the built-in emulator's demo tenant. */
  | "demo"
  /** A real (or configured) organisation. */
  | "organisation";

/** Everything the UI needs at start, in one call. */
export type AppStateDto = {
  version: string;
  mode: ModeDto;
  accounts: Array<AccountDto>;
  /** The active account, when one is signed in. */
  activeAccount: string | null;
  status: StatusDto;
  settings: SettingsDto;
  /** Problems with configuration or policy, to show in a banner. */
  configProblems: Array<string>;
};

/** A channel member, for @mention suggestions. */
export type MemberDto = { userId: string; displayName: string; email: string | null };

/** A search hit; the snippet is plain text parts (highlight = a matched word). */
export type SearchHitDto = {
  key: MessageKeyDto;
  teamId: string;
  teamName: string;
  channelName: string;
  fromName: string | null;
  createdAt: string;
  subject: string | null;
  snippet: Array<{ text: string; highlight: boolean }>;
};

/** An unfinished write, for the outbox panel. */
export type OutboxItemDto = {
  id: number;
  channelId: string;
  channelName: string;
  kind: OutboxKindDto;
  state: OutboxStateDto;
  /** A short plain-text preview of what is being sent (or what it acts on). */
  preview: string;
  attempts: number;
  enqueuedAt: string;
  nextAttemptAt: string | null;
  errorCode: string | null;
  errorMessage: string | null;
};

// The composer's structure (mirrors perch-core's `compose::Draft`; snake_case on the wire).
export type InlineDto =
  | { type: "text"; text: string; bold: boolean; italic: boolean; strike: boolean; code: boolean }
  | { type: "link"; href: string; text: string }
  | { type: "mention"; user_id: string; name: string }
  | { type: "break" };

export type BlockDto =
  | { type: "paragraph"; inlines: Array<InlineDto> }
  | { type: "code"; text: string }
  | { type: "bullets"; items: Array<Array<InlineDto>> }
  | { type: "numbered"; items: Array<Array<InlineDto>> }
  | { type: "quote"; inlines: Array<InlineDto> };

export type DraftDto = { blocks: Array<BlockDto> };

/** A saved composer draft of a channel (or a thread's reply box when `rootId` is set). */
export type SavedDraftDto = {
  channelId: string;
  rootId: string | null;
  draft: DraftDto;
  subject: string | null;
  importance: string | null;
};

/** Errors from every command: a stable code to branch on and a message for people. */
export type CommandErrorDto = { code: string; message: string };
