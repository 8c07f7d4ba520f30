// The data-testid values the end-to-end suite (WebDriver, tests/) relies on. Components use
// these constants; change one only together with the tests.
export const TID = {
  /** The root element of the app. */
  appFrame: "app-frame",
  /** The status bar (role=status). */
  appStatus: "app-status",
  /** "Sign in with Microsoft" on the welcome screen. */
  signIn: "sign-in",
  /** The demo-organisation banner. */
  demoBanner: "demo-banner",
  /** The managed-policy problems banner (one `li` per refused key, data-policy-key). */
  policyBanner: "policy-banner",
  updateBanner: "update-banner",
  /** A team in the sidebar (data-team-id). */
  team: "team",
  /** A channel in the sidebar (data-channel-id, data-unread, data-mentions). */
  channel: "channel",
  /** A channel's follow toggle. */
  followToggle: "follow-toggle",
  /** The channel's timeline (role=feed). */
  timeline: "timeline",
  /** A post or reply (data-message-id, data-local="true" for echoes, data-pending-state). */
  message: "message",
  /** A message's sanitised body. */
  messageBody: "message-body",
  /** A reaction chip (data-reaction). */
  reaction: "reaction",
  /** "3 replies" on a post. */
  replyCount: "reply-count",
  /** The thread pane. */
  threadPane: "thread-pane",
  /** A composer (data-scope="channel"|"thread"). */
  composer: "composer",
  composerInput: "composer-input",
  composerSend: "composer-send",
  composerSubject: "composer-subject",
  mentionSuggestions: "mention-suggestions",
  /** The hover toolbar of a message. */
  messageActions: "message-actions",
  actionEdit: "action-edit",
  actionDelete: "action-delete",
  /** "Undo" in a deleted message's tombstone. */
  actionUndo: "action-undo",
  actionReact: "action-react",
  reactPicker: "react-picker",
  searchInput: "search-input",
  searchResult: "search-result",
  jumpDialog: "jump-dialog",
  outboxPanel: "outbox-panel",
  outboxItem: "outbox-item",
  settingsDialog: "settings-dialog",
  /** The Diagnostics dialog (reached from Settings), its findings and the bundle's path. */
  diagnosticsDialog: "diagnostics-dialog",
  diagnosticsFinding: "diagnostics-finding",
  diagnosticsBundlePath: "diagnostics-bundle-path",
  newMessagesDivider: "new-messages-divider",
  jumpToLatest: "jump-to-latest",
  signInAgain: "sign-in-again",
} as const;

export type TestId = (typeof TID)[keyof typeof TID];
