// Generated from the Rust DTOs (crates/perch-client/src/dto.rs) by perch-client's bindings
// test: do not edit. Regenerate with `PERCH_BLESS=1 cargo test -p perch-client bindings`.
// Timestamps are RFC 3339 strings in UTC; optional values are `null`, never absent.

/**
 * A message's identity: root posts have `rootId === id`.
 */
export type MessageKeyDto = { 
/**
 * The channel.
 */
channelId: string, 
/**
 * The thread's root post.
 */
rootId: string, 
/**
 * The message.
 */
id: string, };

/**
 * Where a queued write stands.
 */
export type OutboxStateDto = "queued" | "sending" | "sent" | "failed" | "wedged" | "expired" | "cancelled";

/**
 * What a queued write does.
 */
export type OutboxKindDto = "post" | "reply" | "edit" | "delete" | "undelete" | "react" | "unreact";

/**
 * An unsent write laid over a message (or the write that creates a local echo).
 */
export type PendingDto = { 
/**
 * The outbox item (what retry and discard name).
 */
outboxId: number, 
/**
 * What it does.
 */
kind: OutboxKindDto, 
/**
 * Where it stands.
 */
state: OutboxStateDto, 
/**
 * Attempts so far.
 */
attempts: number, 
/**
 * Why the latest attempt failed (code).
 */
errorCode: string | null, 
/**
 * Why, for a person.
 */
errorMessage: string | null, 
/**
 * When a failed write is tried again.
 */
nextAttemptAt: string | null, };

/**
 * One reaction type on a message, grouped.
 */
export type ReactionDto = { 
/**
 * Graph's reactionType ("like", "heart", … or an emoji).
 */
reaction: string, 
/**
 * The emoji shown for it.
 */
emoji: string, 
/**
 * How many reacted so.
 */
count: number, 
/**
 * Whether the signed-in user did.
 */
mine: boolean, 
/**
 * Who, as known.
 */
names: Array<string>, };

/**
 * What an attachment is, for its chip.
 */
export type AttachmentKindDto = "file" | "card" | "other";

/**
 * A file or card attached to a message.
 */
export type AttachmentDto = { 
/**
 * Graph's id.
 */
id: string | null, 
/**
 * Its name.
 */
name: string | null, 
/**
 * What it is.
 */
kind: AttachmentKindDto, 
/**
 * Its content type.
 */
contentType: string, 
/**
 * An http(s) link to open in the system browser.
 */
url: string | null, };

/**
 * People's messages or system events.
 */
export type MessageKindDto = "message" | "system";

/**
 * A root post or a reply, ready to render.
 */
export type MessageDto = { 
/**
 * Its identity.
 */
key: MessageKeyDto, 
/**
 * Message or system event.
 */
kind: MessageKindDto, 
/**
 * When it was posted.
 */
createdAt: string, 
/**
 * When it was last edited.
 */
editedAt: string | null, 
/**
 * Set on tombstones.
 */
deletedAt: string | null, 
/**
 * The post's subject.
 */
subject: string | null, 
/**
 * "normal", "high", "urgent".
 */
importance: string, 
/**
 * Sender's id.
 */
fromId: string | null, 
/**
 * Sender's name.
 */
fromName: string | null, 
/**
 * Sent by the signed-in user.
 */
mine: boolean, 
/**
 * Sanitised HTML (perch-html's allow-list): the only HTML the UI renders.
 */
html: string, 
/**
 * Plain text of the body.
 */
text: string, 
/**
 * Link to the message in Teams.
 */
webUrl: string | null, 
/**
 * Whether it mentions the signed-in user.
 */
mentionsMe: boolean, 
/**
 * Reactions, grouped.
 */
reactions: Array<ReactionDto>, 
/**
 * Attachments.
 */
attachments: Array<AttachmentDto>, 
/**
 * Live replies (roots only).
 */
replyCount: number, 
/**
 * When the newest reply was posted.
 */
lastReplyAt: string | null, 
/**
 * Unread.
 */
unread: boolean, 
/**
 * Unsent writes on it, oldest first.
 */
pending: Array<PendingDto>, 
/**
 * A local echo of an unsent post or reply.
 */
local: boolean, };

/**
 * One change to a timeline or a thread.
 */
export type TimelineDiffDto = { "op": "insert", 
/**
 * It.
 */
item: MessageDto, } | { "op": "update", 
/**
 * It.
 */
item: MessageDto, } | { "op": "remove", 
/**
 * Its key.
 */
key: MessageKeyDto, } | { "op": "replace", 
/**
 * The echo's key.
 */
key: MessageKeyDto, 
/**
 * The message.
 */
item: MessageDto, } | { "op": "reset", 
/**
 * Every item.
 */
items: Array<MessageDto>, };

/**
 * A batch of diffs as streamed; the first batch is a reset.
 */
export type TimelineBatchDto = { 
/**
 * The subscription.
 */
subscription: number, 
/**
 * The diffs.
 */
diffs: Array<TimelineDiffDto>, 
/**
 * Whether all older history is loaded.
 */
historyComplete: boolean, 
/**
 * When the store commit behind this batch happened, in Unix milliseconds (null when no
 * commit of messages caused it): the start of the delta-to-screen figure.
 */
committedAtMs: number | null, };

/**
 * Per-channel notifications.
 */
export type NotifyLevelDto = "all" | "mentions" | "off";

/**
 * A channel in the sidebar.
 */
export type ChannelDto = { 
/**
 * Graph's id.
 */
id: string, 
/**
 * Its team.
 */
teamId: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Its description.
 */
description: string | null, 
/**
 * "standard", "private", "shared".
 */
membershipType: string, 
/**
 * Link in Teams.
 */
webUrl: string | null, 
/**
 * Synced in the background.
 */
followed: boolean, 
/**
 * Unread messages.
 */
unread: number, 
/**
 * Unread mentions of me.
 */
mentions: number, 
/**
 * The newest message's time.
 */
lastActivity: string | null, 
/**
 * Its notification setting.
 */
notify: NotifyLevelDto, };

/**
 * A team and its channels.
 */
export type TeamDto = { 
/**
 * Graph's id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Its description.
 */
description: string | null, 
/**
 * Its channels, in Graph's order.
 */
channels: Array<ChannelDto>, };

/**
 * One change to the sidebar.
 */
export type SidebarDiffDto = { "op": "reset", 
/**
 * Every team.
 */
teams: Array<TeamDto>, } | { "op": "channel", 
/**
 * Its team.
 */
teamId: string, 
/**
 * It.
 */
channel: ChannelDto, };

/**
 * The sync status.
 */
export type SyncStateDto = { "state": "idle", 
/**
 * When a round last finished.
 */
lastSyncedAt: string | null, } | { "state": "syncing", 
/**
 * Channels done in this burst.
 */
done: number, 
/**
 * Channels in this burst.
 */
total: number, 
/**
 * Pages so far.
 */
pages: number, } | { "state": "offline", 
/**
 * Since when.
 */
since: string, 
/**
 * What failed.
 */
reason: string, } | { "state": "throttled", 
/**
 * Until when.
 */
until: string, } | { "state": "needs_sign_in", 
/**
 * Why.
 */
reason: string, } | { "state": "disk_full", 
/**
 * What the store said.
 */
message: string, } | { "state": "error", 
/**
 * A stable code.
 */
code: string, 
/**
 * What to do.
 */
message: string, } | { "state": "signed_out" };

/**
 * Unsent writes by state.
 */
export type OutboxCountsDto = { 
/**
 * Waiting their turn.
 */
queued: number, 
/**
 * Being sent.
 */
sending: number, 
/**
 * Waiting to retry.
 */
failed: number, 
/**
 * Refused: waiting for the person.
 */
wedged: number, 
/**
 * Too old: waiting for the person.
 */
expired: number, };

/**
 * A channel whose last round failed for good.
 */
export type ChannelErrorDto = { 
/**
 * The channel.
 */
channelId: string, 
/**
 * Why.
 */
message: string, };

/**
 * The active account's status.
 */
export type StatusDto = { 
/**
 * Whose status (`{tenantId}.{userId}`), none when signed out.
 */
accountId: string | null, 
/**
 * The headline.
 */
sync: SyncStateDto, 
/**
 * Channels that failed for good.
 */
channelErrors: Array<ChannelErrorDto>, 
/**
 * Unsent writes.
 */
outbox: OutboxCountsDto, };

/**
 * An account's sign-in state.
 */
export type AccountStateDto = "signed_in" | "needs_sign_in" | "signed_out";

/**
 * A known account.
 */
export type AccountDto = { 
/**
 * `{tenantId}.{userId}`.
 */
id: string, 
/**
 * The person's name.
 */
displayName: string, 
/**
 * Their sign-in name.
 */
email: string | null, 
/**
 * The tenant.
 */
tenantId: string, 
/**
 * The user's object id.
 */
userId: string, 
/**
 * Sign-in state.
 */
state: AccountStateDto, 
/**
 * The account the window shows.
 */
active: boolean, };

/**
 * The colour theme.
 */
export type ThemeDto = "system" | "light" | "dark";

/**
 * Quiet hours, local time.
 */
export type QuietHoursDto = { 
/**
 * "HH:MM".
 */
start: string, 
/**
 * "HH:MM".
 */
end: string, };

/**
 * The person's settings.
 */
export type SettingsDto = { 
/**
 * Theme.
 */
theme: ThemeDto, 
/**
 * No notifications in this window.
 */
quietHours: QuietHoursDto | null, 
/**
 * Seconds between syncs of the channel in view.
 */
viewIntervalSecs: number, 
/**
 * Seconds between syncs of followed channels.
 */
followedIntervalSecs: number, 
/**
 * Whether notifications show the message's text.
 */
notificationPreviews: boolean, 
/**
 * Fields a policy locks.
 */
locked: Array<string>, 
/**
 * Interval fields whose minimum the organisation's policy raised (not locked: a longer
 * interval may still be chosen).
 */
policyFloors: Array<string>, 
/**
 * Lowest allowed in-view interval.
 */
minViewIntervalSecs: number, 
/**
 * Lowest allowed followed interval.
 */
minFollowedIntervalSecs: number, };

/**
 * Demo tenant or a configured organisation.
 */
export type ModeDto = "demo" | "organisation";

/**
 * A managed-policy key that was refused: the app runs with the safe default for it.
 */
export type PolicyProblemDto = { 
/**
 * The key as written in the policy (or the policy file, when the whole file is unusable).
 */
key: string, 
/**
 * What is wrong, quoting the value, and what Perch does instead.
 */
reason: string, };

/**
 * The managed policy as the UI shows it.
 */
export type PolicyDto = { 
/**
 * Where it was read from (a file or registry key); `null` when there is no policy.
 */
source: string | null, 
/**
 * Refused keys, for a banner.
 */
problems: Array<PolicyProblemDto>, };

/**
 * Everything the UI needs at start.
 */
export type AppStateDto = { 
/**
 * This build's version.
 */
version: string, 
/**
 * Demo or organisation.
 */
mode: ModeDto, 
/**
 * Known accounts.
 */
accounts: Array<AccountDto>, 
/**
 * The active account.
 */
activeAccount: string | null, 
/**
 * Its status.
 */
status: StatusDto, 
/**
 * Settings.
 */
settings: SettingsDto, 
/**
 * Configuration problems, for a banner.
 */
configProblems: Array<string>, 
/**
 * The managed policy: where it came from and the keys it refused.
 */
policy: PolicyDto, };

/**
 * A channel member, for mention suggestions.
 */
export type MemberDto = { 
/**
 * Object id.
 */
userId: string, 
/**
 * Name.
 */
displayName: string, 
/**
 * Mail.
 */
email: string | null, };

/**
 * A piece of a snippet: plain text, `highlight` on matches.
 */
export type SnippetPartDto = { 
/**
 * The text.
 */
text: string, 
/**
 * A match.
 */
highlight: boolean, };

/**
 * A search hit.
 */
export type SearchHitDto = { 
/**
 * The message.
 */
key: MessageKeyDto, 
/**
 * Its team.
 */
teamId: string, 
/**
 * The team's name.
 */
teamName: string, 
/**
 * The channel's name.
 */
channelName: string, 
/**
 * The sender.
 */
fromName: string | null, 
/**
 * When.
 */
createdAt: string, 
/**
 * Subject.
 */
subject: string | null, 
/**
 * Words around the matches.
 */
snippet: Array<SnippetPartDto>, };

/**
 * An unfinished write, for the outbox panel.
 */
export type OutboxItemDto = { 
/**
 * Its id.
 */
id: number, 
/**
 * The channel.
 */
channelId: string, 
/**
 * The channel's name.
 */
channelName: string, 
/**
 * What it does.
 */
kind: OutboxKindDto, 
/**
 * Where it stands.
 */
state: OutboxStateDto, 
/**
 * A short plain-text preview.
 */
preview: string, 
/**
 * Attempts so far.
 */
attempts: number, 
/**
 * When it was queued.
 */
enqueuedAt: string, 
/**
 * When it is tried again.
 */
nextAttemptAt: string | null, 
/**
 * The latest error's code.
 */
errorCode: string | null, 
/**
 * The latest error, for a person.
 */
errorMessage: string | null, };

/**
 * Inline content: text with marks, links, mentions and line breaks.
 */
export type InlineDto = { "type": "text", 
/**
 * The text.
 */
text: string, 
/**
 * Bold (`<strong>`).
 */
bold: boolean, 
/**
 * Italic (`<em>`).
 */
italic: boolean, 
/**
 * Struck through (`<s>`).
 */
strike: boolean, 
/**
 * Inline code (`<code>`).
 */
code: boolean, } | { "type": "link", 
/**
 * The link's target.
 */
href: string, 
/**
 * The text shown; when empty, the target is shown.
 */
text: string, } | { "type": "mention", 
/**
 * The person's Entra object id.
 */
user_id: string, 
/**
 * The name shown in the body.
 */
name: string, } | { "type": "break" } | { "type": "image", 
/**
 * The hosted content's id.
 */
hosted_id: string, 
/**
 * The image's alternative text.
 */
alt: string, };

/**
 * One block of a message.
 */
export type BlockDto = { "type": "paragraph", 
/**
 * The paragraph's content.
 */
inlines: Array<InlineDto>, } | { "type": "code", 
/**
 * The code, verbatim.
 */
text: string, } | { "type": "bullets", 
/**
 * The items, each a run of inline content.
 */
items: Array<Array<InlineDto>>, } | { "type": "numbered", 
/**
 * The items, each a run of inline content.
 */
items: Array<Array<InlineDto>>, } | { "type": "quote", 
/**
 * The quotation's content.
 */
inlines: Array<InlineDto>, };

/**
 * A message as the composer structured it: a list of blocks.
 */
export type DraftDto = { 
/**
 * The blocks, in order.
 */
blocks: Array<BlockDto>, };

/**
 * A saved composer draft.
 */
export type SavedDraftDto = { 
/**
 * The channel.
 */
channelId: string, 
/**
 * The thread, for a reply box.
 */
rootId: string | null, 
/**
 * The content.
 */
draft: DraftDto, 
/**
 * A new post's subject.
 */
subject: string | null, 
/**
 * A new post's importance.
 */
importance: string | null, };

/**
 * How a diagnostics check came out.
 */
export type FindingStatusDto = "pass" | "warn" | "fail";

/**
 * One diagnostics finding.
 */
export type FindingDto = { 
/**
 * A stable id (`keyring`, `reach.login`, `policy.proxy`…).
 */
id: string, 
/**
 * What was checked.
 */
title: string, 
/**
 * The outcome.
 */
status: FindingStatusDto, 
/**
 * What was found.
 */
detail: string, 
/**
 * What to do, when there is something to do.
 */
action: string | null, };

/**
 * The Diagnostics page: every finding of one run of the checks.
 */
export type DiagnosticsDto = { 
/**
 * When the checks ran.
 */
generatedAt: string, 
/**
 * The worst status.
 */
worst: FindingStatusDto, 
/**
 * In the order of the checks.
 */
findings: Array<FindingDto>, 
/**
 * Where the log files are.
 */
logDir: string | null, };

/**
 * A diagnostics bundle that was written.
 */
export type BundleDto = { 
/**
 * The zip's full path.
 */
path: string, };

/**
 * The in-app updater's state, for the "restart to update" notice (command `update_status`,
 * event `update-status`).
 */
export type UpdateStatusDto = { "state": "off", 
/**
 * Why, for people.
 */
reason: string, } | { "state": "idle" } | { "state": "ready", 
/**
 * The version that restarting installs.
 */
version: string, } | { "state": "failed", 
/**
 * What failed.
 */
message: string, };

/**
 * Every command's error.
 */
export type CommandErrorDto = { 
/**
 * A stable code.
 */
code: string, 
/**
 * For people.
 */
message: string, };
