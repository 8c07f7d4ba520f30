// The one module that talks to the Tauri shell. Everything else calls these typed functions,
// so the IPC surface stays small and reviewable. Every function here is one command declared in
// src-tauri/build.rs and granted in src-tauri/capabilities/default.json; streams (sidebar,
// timelines, threads) arrive over a `Channel` as batches of diffs, small global state (status,
// accounts) as events.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AccountDto,
  AppStateDto,
  BundleDto,
  DiagnosticsDto,
  DraftDto,
  MemberDto,
  NotifyLevelDto,
  OutboxItemDto,
  SavedDraftDto,
  SearchHitDto,
  SettingsDto,
  SidebarDiffDto,
  StatusDto,
  TimelineBatchDto,
  UpdateStatusDto,
} from "./bindings";

export type * from "./bindings";

/** What the shell reports about itself (mirrors `AppInfo` in src-tauri/src/commands.rs). */
export interface AppInfo {
  name: string;
  version: string;
}

/** Errors from the shell arrive as `{code, message}`; the UI branches on `code`. */
export interface ShellError {
  code: string;
  message: string;
}

export function isShellError(value: unknown): value is ShellError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ShellError).code === "string" &&
    typeof (value as ShellError).message === "string"
  );
}

/** True when running inside the Tauri web view (false in a plain browser or in Vitest). */
export function inShell(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export async function appInfo(): Promise<AppInfo> {
  return invoke<AppInfo>("app_info");
}

/** Everything the UI needs at start: mode, accounts, status, settings, problems. */
export function appState(): Promise<AppStateDto> {
  return invoke("app_state");
}

/** Signs in through the system browser (PKCE, loopback). Resolves when the browser returns. */
export function signIn(): Promise<AccountDto> {
  return invoke("sign_in");
}

/** Gives up a sign-in that is waiting for the browser. */
export function cancelSignIn(): Promise<void> {
  return invoke("cancel_sign_in");
}

/** Signs an account out (forgets its refresh token); `purge` also deletes its cache. */
export function signOut(accountId: string, purge: boolean): Promise<void> {
  return invoke("sign_out", { accountId, purge });
}

/** Makes another signed-in account the active one. */
export function switchAccount(accountId: string): Promise<void> {
  return invoke("switch_account", { accountId });
}

/** Streams the sidebar: a reset first, then diffs. Returns the subscription id. */
export function subscribeSidebar(onDiffs: (diffs: SidebarDiffDto[]) => void): Promise<number> {
  const channel = new Channel<SidebarDiffDto[]>();
  channel.onmessage = onDiffs;
  return invoke("subscribe_sidebar", { onDiffs: channel });
}

/** Streams a channel's timeline (root posts, newest first): a reset, then diffs. */
export function openTimeline(
  channelId: string,
  onBatch: (batch: TimelineBatchDto) => void,
): Promise<number> {
  const channel = new Channel<TimelineBatchDto>();
  channel.onmessage = onBatch;
  return invoke("open_timeline", { channelId, onBatch: channel });
}

/** Loads up to `count` older posts into a timeline subscription (they arrive as diffs).
 *  Resolves to whether all history is now loaded. */
export function loadOlder(subscription: number, count: number): Promise<boolean> {
  return invoke("load_older", { subscription, count });
}

/** Streams a thread (the root post then its replies, oldest first) and fetches it whole. */
export function openThread(
  channelId: string,
  rootId: string,
  onBatch: (batch: TimelineBatchDto) => void,
): Promise<number> {
  const channel = new Channel<TimelineBatchDto>();
  channel.onmessage = onBatch;
  return invoke("open_thread", { channelId, rootId, onBatch: channel });
}

/** Ends a sidebar, timeline or thread subscription. */
export function closeSubscription(subscription: number): Promise<void> {
  return invoke("close_subscription", { subscription });
}

/** Tells the engine which channel is in view (synced often), or none. */
export function viewChannel(channelId: string | null): Promise<void> {
  return invoke("view_channel", { channelId });
}

/** Tells the engine whether the window is visible and that the person is active. */
export function attention(visible: boolean, input: boolean): Promise<void> {
  return invoke("attention", { visible, input });
}

/** Marks a channel read up to its newest message. */
export function markRead(channelId: string): Promise<void> {
  return invoke("mark_read", { channelId });
}

/** Follows or unfollows a channel (followed channels sync in the background and notify). */
export function setFollowed(channelId: string, followed: boolean): Promise<void> {
  return invoke("set_followed", { channelId, followed });
}

/** Refreshes teams and channels now. */
export function refresh(): Promise<void> {
  return invoke("refresh");
}

/** Queues a new post; resolves to the outbox id. The echo arrives on the timeline at once. */
export function post(
  channelId: string,
  draft: DraftDto,
  subject: string | null,
  importance: string | null,
): Promise<number> {
  return invoke("post", { channelId, draft, subject, importance });
}

/** Queues a reply in a thread. */
export function reply(channelId: string, rootId: string, draft: DraftDto): Promise<number> {
  return invoke("reply", { channelId, rootId, draft });
}

/** Queues an edit of one of my messages. */
export function editMessage(channelId: string, messageId: string, draft: DraftDto): Promise<number> {
  return invoke("edit_message", { channelId, messageId, draft });
}

/** Queues a soft delete of one of my messages. */
export function deleteMessage(channelId: string, messageId: string): Promise<number> {
  return invoke("delete_message", { channelId, messageId });
}

/** Queues an undelete (the "Undo" after a delete). */
export function undeleteMessage(channelId: string, messageId: string): Promise<number> {
  return invoke("undelete_message", { channelId, messageId });
}

/** Queues a reaction ("like", "heart", "laugh", "surprised", "sad", "angry" or any emoji). */
export function react(channelId: string, messageId: string, reaction: string): Promise<number> {
  return invoke("react", { channelId, messageId, reaction });
}

/** Queues removing my reaction. */
export function unreact(channelId: string, messageId: string, reaction: string): Promise<number> {
  return invoke("unreact", { channelId, messageId, reaction });
}

/** Unfinished writes of the active account. */
export function outboxList(): Promise<OutboxItemDto[]> {
  return invoke("outbox_list");
}

/** Sends a failed, wedged or expired write again now. */
export function outboxRetry(id: number): Promise<void> {
  return invoke("outbox_retry", { id });
}

/** Discards an unsent write (and any that depend on it). */
export function outboxCancel(id: number): Promise<void> {
  return invoke("outbox_cancel", { id });
}

/** A channel's members, for @mention suggestions (cached; refreshed in the background). */
export function members(channelId: string): Promise<MemberDto[]> {
  return invoke("members", { channelId });
}

/** Offline full-text search of the cache. */
export function search(text: string, channelId: string | null, limit: number): Promise<SearchHitDto[]> {
  return invoke("search", { text, channelId, limit });
}

/** The saved composer draft of a channel (rootId null) or a thread's reply box. */
export function loadDraft(channelId: string, rootId: string | null): Promise<SavedDraftDto | null> {
  return invoke("load_draft", { channelId, rootId });
}

/** Saves (or, with no blocks, clears) a composer draft; survives restarts. */
export function saveDraft(draft: SavedDraftDto): Promise<void> {
  return invoke("save_draft", { draft });
}

/** Saves settings; resolves to what was stored (policy limits applied). */
export function updateSettings(settings: SettingsDto): Promise<SettingsDto> {
  return invoke("update_settings", { settings });
}

/** Sets a channel's notifications. */
export function setNotify(channelId: string, level: NotifyLevelDto): Promise<void> {
  return invoke("set_notify", { channelId, level });
}

/** Opens an http(s) or mailto link in the system browser (never in the web view). */
export function openExternal(url: string): Promise<void> {
  return invoke("open_external", { url });
}

/** Runs every diagnostics check (each bounded in time). */
export function diagnostics(): Promise<DiagnosticsDto> {
  return invoke("diagnostics");
}

/** Writes the redacted diagnostics bundle (Downloads, else the data folder); its path. */
export function saveDiagnosticsBundle(): Promise<BundleDto> {
  return invoke("save_diagnostics_bundle");
}

/** Status of the active account, pushed whenever it changes. */
export function onStatus(handler: (status: StatusDto) => void): Promise<UnlistenFn> {
  return listen<StatusDto>("status", (event) => handler(event.payload));
}

/** Accounts changed (sign-in, sign-out, switch, needs sign-in): re-read `appState`. */
export function onAccountsChanged(handler: () => void): Promise<UnlistenFn> {
  return listen("accounts-changed", () => handler());
}

/** A notification was activated, or a deep link asks to open a message. */
export function onOpenMessage(
  handler: (target: { channelId: string; rootId: string; id: string }) => void,
): Promise<UnlistenFn> {
  return listen<{ channelId: string; rootId: string; id: string }>("open-message", (event) =>
    handler(event.payload),
  );
}

/** The in-app updater's state (off and why, idle, an update ready, a failure). */
export function updateStatus(): Promise<UpdateStatusDto> {
  return invoke("update_status");
}

/** Installs the downloaded update and restarts Perch. */
export function installUpdate(): Promise<void> {
  return invoke("install_update");
}

/** The updater's state changed (e.g. an update is downloaded and ready). */
export function onUpdateStatus(handler: (status: UpdateStatusDto) => void): Promise<UnlistenFn> {
  return listen<UpdateStatusDto>("update-status", (event) => handler(event.payload));
}
