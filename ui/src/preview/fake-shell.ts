// A fake Tauri shell for previewing the UI in a browser (dev only, never in the production
// bundle): it installs `window.__TAURI_INTERNALS__` (invoke, transformCallback, callbacks for
// `Channel`) and the event plugin's internals, backed by an in-memory demo tenant.
// URL parameters: theme=light|dark, signedout=1, status=offline|syncing|throttled|needs_sign_in|error.
import type {
  AccountDto,
  AppStateDto,
  ChannelDto,
  DraftDto,
  InlineDto,
  MemberDto,
  MessageDto,
  OutboxItemDto,
  OutboxStateDto,
  PendingDto,
  ReactionDto,
  SavedDraftDto,
  SearchHitDto,
  SettingsDto,
  StatusDto,
  SyncStateDto,
  TeamDto,
  TimelineBatchDto,
  TimelineDiffDto,
} from "../lib/bindings";

type Callback = (payload: unknown) => void;
interface ChannelRef {
  id: number;
}

const ME = { userId: "u-me", displayName: "Robin Park", email: "robin@contoso.example" };
const PEOPLE: MemberDto[] = [
  ME,
  { userId: "u-ada", displayName: "Ada Lovelace", email: "ada@contoso.example" },
  { userId: "u-grace", displayName: "Grace Hopper", email: "grace@contoso.example" },
  { userId: "u-alan", displayName: "Alan Turing", email: "aturing@contoso.example" },
  { userId: "u-margaret", displayName: "Margaret Hamilton", email: "mh@contoso.example" },
  { userId: "u-linus", displayName: "Linus Okafor", email: "linus@contoso.example" },
  { userId: "u-sofia", displayName: "Sofía Martínez", email: "sofia@contoso.example" },
  { userId: "u-kenji", displayName: "Kenji Watanabe", email: "kenji@contoso.example" },
  { userId: "u-priya", displayName: "Priya Raman", email: "priya@contoso.example" },
  { userId: "u-ola", displayName: "Ola Nordmann", email: "ola@contoso.example" },
];

const SUBJECTS = ["Release 4.2 checklist", "Design review notes", "Outage follow-up", "Welcome our new teammates", "Q3 planning", null, null, null];
const BODIES = [
  "<p>Morning all! The staging deploy is green, please have a look before lunch.</p>",
  '<p>I pushed the draft to <a href="https://contoso.example/docs/spec" target="_blank" rel="noopener noreferrer">the spec page</a>. Comments welcome.</p>',
  "<p>Quick summary of what we agreed:</p><ul><li>Ship the sync fix first</li><li>Then the settings dialog</li><li>Docs last</li></ul>",
  "<p>Can someone check why <code>sync_round</code> takes 3s on the big tenant?</p>",
  "<p>Thanks everyone — great work this week. 🎉</p>",
  "<p>Reminder: the retro is at 15:00 today.</p>",
  "<p>Here is the stack trace:</p><pre><code>thread 'main' panicked at src/engine.rs:42\nattempt to subtract with overflow</code></pre>",
  "<p>Has anyone tried the new build on Wayland? Fonts look crisp here.</p>",
  "<blockquote>We should measure before we optimise.</blockquote><p>Agreed, I'll add a benchmark.</p>",
  "<p>Lunch order is in, <strong>tacos</strong> arrive at 12:30.</p>",
];

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function textOf(html: string): string {
  return html.replace(/<[^>]+>/g, " ").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
}

function inlineHtml(inlines: InlineDto[]): string {
  return inlines
    .map((i) => {
      if (i.type === "break") return "<br>";
      if (i.type === "mention") return `<span class="mention" data-mention-id="${esc(i.user_id)}">${esc(i.name)}</span>`;
      if (i.type === "link") return `<a href="${esc(i.href)}" target="_blank" rel="noopener noreferrer">${esc(i.text)}</a>`;
      if (i.type === "image") return `[${esc(i.alt || "image")}]`;
      let h = esc(i.text);
      if (i.code) h = `<code>${h}</code>`;
      if (i.strike) h = `<s>${h}</s>`;
      if (i.italic) h = `<em>${h}</em>`;
      if (i.bold) h = `<strong>${h}</strong>`;
      return h;
    })
    .join("");
}

function draftHtml(draft: DraftDto): string {
  return draft.blocks
    .map((b) => {
      switch (b.type) {
        case "paragraph":
          return `<p>${inlineHtml(b.inlines)}</p>`;
        case "quote":
          return `<blockquote>${inlineHtml(b.inlines)}</blockquote>`;
        case "code":
          return `<pre><code>${esc(b.text)}</code></pre>`;
        case "bullets":
          return `<ul>${b.items.map((i) => `<li>${inlineHtml(i)}</li>`).join("")}</ul>`;
        case "numbered":
          return `<ol>${b.items.map((i) => `<li>${inlineHtml(i)}</li>`).join("")}</ol>`;
      }
    })
    .join("");
}

function mentionsIn(draft: DraftDto): string[] {
  const ids: string[] = [];
  const scan = (inlines: InlineDto[]) => inlines.forEach((i) => i.type === "mention" && ids.push(i.user_id));
  for (const b of draft.blocks) {
    if (b.type === "paragraph" || b.type === "quote") scan(b.inlines);
    if (b.type === "bullets" || b.type === "numbered") b.items.forEach(scan);
  }
  return ids;
}

const REACTION_EMOJI: Record<string, string> = { like: "👍", heart: "❤️", laugh: "😆", surprised: "😮", sad: "😢", angry: "😡" };

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

interface FakeChannel {
  dto: ChannelDto;
  /** Root posts, oldest first (for the 100k channel, generated on demand). */
  posts: MessageDto[];
  size: number;
  lazy: boolean;
  replies: Map<string, MessageDto[]>;
}

export function installFakeShell(params: URLSearchParams): void {
  const now = Date.now();
  const callbacks = new Map<number, Callback>();
  let nextCallback = 1;
  const channelIndex = new Map<number, number>();
  const listeners = new Map<string, Array<{ eventId: number; handler: number }>>();
  let nextEventId = 1;
  let nextSub = 1;
  let nextOutbox = 100;
  let nextLocal = 1;
  let nextServer = 1;
  const subs = new Map<number, { kind: "sidebar" | "timeline" | "thread"; channel: ChannelRef; channelId?: string; rootId?: string; loaded: number }>();
  const outbox = new Map<number, { item: OutboxItemDto; messageId: string; channelId: string; rootId: string }>();
  const drafts = new Map<string, SavedDraftDto>(JSON.parse(localStorage.getItem("perch-preview-drafts") ?? "[]"));
  let signedIn = params.get("signedout") !== "1";
  let settings: SettingsDto = {
    theme: (params.get("theme") as SettingsDto["theme"]) ?? "system",
    quietHours: { start: "22:00", end: "07:00" },
    viewIntervalSecs: 15,
    followedIntervalSecs: 120,
    notificationPreviews: true,
    locked: ["followedIntervalSecs"],
    policyFloors: params.get("policy") === "1" ? ["viewIntervalSecs"] : [],
    minViewIntervalSecs: 10,
    minFollowedIntervalSecs: 60,
  };

  // `?wire=json` sends channel messages through JSON like the real shell (fresh strings per
  // message, as in the web view); `?olderMs=` sets load_older's latency (benchmarks use 0).
  const wireJson = params.get("wire") === "json";
  const olderMs = Number(params.get("olderMs") ?? 250);
  function send(channel: ChannelRef, message: unknown) {
    const index = channelIndex.get(channel.id) ?? 0;
    channelIndex.set(channel.id, index + 1);
    if (wireJson) message = JSON.parse(JSON.stringify(message));
    callbacks.get(channel.id)?.({ index, message });
  }

  function emit(event: string, payload: unknown) {
    for (const l of listeners.get(event) ?? []) callbacks.get(l.handler)?.({ event, id: l.eventId, payload });
  }

  // --- the tenant ---
  const teamsSpec: Array<{ id: string; name: string; channels: Array<[string, string, number, Partial<ChannelDto>?]> }> = [
    {
      id: "t-eng",
      name: "Engineering",
      channels: [
        ["c-eng-general", "General", 240, { followed: true, unread: 4, mentions: 2, description: "Everything engineering" }],
        ["c-release", "release-train", 120, { followed: true }],
        ["c-incidents", "Incidents", 60, { membershipType: "private", notify: "mentions", unread: 2 }],
        ["c-firehose", "Firehose (100k)", 100_000, { description: "A very busy channel" }],
      ],
    },
    {
      id: "t-design",
      name: "Contoso Design",
      channels: [
        ["c-design-general", "General", 90, {}],
        ["c-brand", "Brand refresh", 45, { unread: 3, mentions: 1 }],
        ["c-research", "Research", 30, { membershipType: "shared", notify: "off" }],
      ],
    },
    { id: "t-all", name: "All Company", channels: [["c-announce", "Announcements", 25, { followed: true }]] },
  ];

  const channels = new Map<string, FakeChannel>();
  const teams: TeamDto[] = [];

  function makePost(channelId: string, i: number, size: number, unreadFrom: number): MessageDto {
    const r = rng(i * 7919 + channelId.length * 131 + 17);
    const author = PEOPLE[1 + Math.floor(r() * (PEOPLE.length - 1))] as MemberDto;
    const mine = r() < 0.12;
    const from = mine ? ME : author;
    const age = (size - i) * 37 * 60_000 + Math.floor(r() * 600_000);
    const created = new Date(now - age).toISOString();
    let html = BODIES[Math.floor(r() * BODIES.length)] as string;
    const mentionsMe = r() < 0.08;
    if (mentionsMe) html = `<p><span class="mention" data-mention-id="${ME.userId}">${ME.displayName}</span> could you take a look?</p>` + html;
    const reactions: ReactionDto[] = [];
    if (r() < 0.45) {
      const kinds = Object.keys(REACTION_EMOJI);
      const n = 1 + Math.floor(r() * 3);
      for (let k = 0; k < n; k++) {
        const reaction = kinds[Math.floor(r() * kinds.length)] as string;
        if (reactions.some((x) => x.reaction === reaction)) continue;
        const count = 1 + Math.floor(r() * 5);
        const iMine = r() < 0.3;
        reactions.push({ reaction, emoji: REACTION_EMOJI[reaction] as string, count, mine: iMine, names: iMine ? ["You"] : [author.displayName] });
      }
    }
    const id = `${channelId}-m${i}`;
    const replyCount = r() < 0.35 ? 1 + Math.floor(r() * 6) : 0;
    const importance = r() < 0.05 ? "urgent" : r() < 0.1 ? "high" : "normal";
    const attachments =
      r() < 0.12
        ? [{ id: `${id}-a`, name: r() < 0.5 ? "Q3 roadmap.pptx" : "incident-timeline.xlsx", kind: "file" as const, contentType: "reference", url: "https://contoso.example/files/x" }]
        : [];
    return {
      key: { channelId, rootId: id, id },
      kind: r() < 0.02 ? "system" : "message",
      createdAt: created,
      editedAt: r() < 0.08 ? new Date(now - age + 120_000).toISOString() : null,
      deletedAt: mine && r() < 0.1 ? new Date(now - age + 60_000).toISOString() : null,
      subject: r() < 0.3 ? (SUBJECTS[Math.floor(r() * SUBJECTS.length)] ?? null) : null,
      importance,
      fromId: from.userId,
      fromName: from.displayName,
      mine,
      html,
      text: textOf(html),
      webUrl: `https://teams.microsoft.com/l/message/${channelId}/${id}`,
      mentionsMe,
      reactions,
      attachments,
      replyCount,
      lastReplyAt: replyCount ? new Date(now - age + 3_600_000).toISOString() : null,
      unread: i >= unreadFrom && !mine,
      pending: [],
      local: false,
    };
  }

  for (const spec of teamsSpec) {
    const team: TeamDto = { id: spec.id, name: spec.name, description: null, channels: [] };
    for (const [id, name, size, over] of spec.channels) {
      const dto: ChannelDto = {
        id,
        teamId: spec.id,
        name,
        description: null,
        membershipType: "standard",
        webUrl: `https://teams.microsoft.com/l/channel/${id}`,
        followed: false,
        unread: 0,
        mentions: 0,
        lastActivity: new Date(now).toISOString(),
        notify: "all",
        ...over,
      };
      const lazy = size > 5000;
      const unreadFrom = size - dto.unread;
      const posts = lazy ? [] : Array.from({ length: size }, (_, i) => makePost(id, i, size, unreadFrom));
      channels.set(id, { dto, posts, size, lazy, replies: new Map() });
      team.channels.push(dto);
    }
    teams.push(team);
  }

  // A local echo in each pending state, and a server message with a failed edit, in General.
  const general = channels.get("c-eng-general") as FakeChannel;
  const pendingStates: Array<[OutboxStateDto, string | null]> = [
    ["queued", null],
    ["sending", null],
    ["failed", "Teams is busy right now"],
    ["wedged", "You no longer have permission to post here"],
  ];
  pendingStates.forEach(([state, error], k) => {
    const id = `local-${nextLocal++}`;
    const outboxId = nextOutbox++;
    const html = `<p>${esc(["Deploying the hotfix now.", "Notes from today's stand-up are in the wiki.", "Can we move the demo to Thursday?", "Heads-up: the API key rotates tonight."][k] as string)}</p>`;
    const pending: PendingDto = {
      outboxId,
      kind: "post",
      state,
      attempts: state === "queued" ? 0 : 2,
      errorCode: error ? "x" : null,
      errorMessage: error,
      nextAttemptAt: state === "failed" ? new Date(now + 5 * 60_000).toISOString() : null,
    };
    const m: MessageDto = {
      key: { channelId: general.dto.id, rootId: id, id },
      kind: "message",
      createdAt: new Date(now - (4 - k) * 40_000).toISOString(),
      editedAt: null,
      deletedAt: null,
      subject: null,
      importance: "normal",
      fromId: ME.userId,
      fromName: ME.displayName,
      mine: true,
      html,
      text: textOf(html),
      webUrl: null,
      mentionsMe: false,
      reactions: [],
      attachments: [],
      replyCount: 0,
      lastReplyAt: null,
      unread: false,
      pending: [pending],
      local: true,
    };
    general.posts.push(m);
    outbox.set(outboxId, {
      item: {
        id: outboxId,
        channelId: general.dto.id,
        channelName: general.dto.name,
        kind: "post",
        state,
        preview: m.text,
        attempts: pending.attempts,
        enqueuedAt: m.createdAt,
        nextAttemptAt: pending.nextAttemptAt,
        errorCode: pending.errorCode,
        errorMessage: error,
      },
      messageId: id,
      channelId: general.dto.id,
      rootId: id,
    });
  });
  {
    const target = [...general.posts].reverse().find((p) => p.mine && !p.local && !p.deletedAt);
    if (target) {
      const outboxId = nextOutbox++;
      target.pending = [
        { outboxId, kind: "edit", state: "failed", attempts: 1, errorCode: "throttled", errorMessage: "Teams asked us to slow down", nextAttemptAt: new Date(now + 90_000).toISOString() },
      ];
      outbox.set(outboxId, {
        item: {
          id: outboxId,
          channelId: general.dto.id,
          channelName: general.dto.name,
          kind: "edit",
          state: "failed",
          preview: target.text.slice(0, 80),
          attempts: 1,
          enqueuedAt: new Date(now - 60_000).toISOString(),
          nextAttemptAt: target.pending[0]?.nextAttemptAt ?? null,
          errorCode: "throttled",
          errorMessage: "Teams asked us to slow down",
        },
        messageId: target.key.id,
        channelId: general.dto.id,
        rootId: target.key.id,
      });
    }
  }

  function ch(id: string): FakeChannel {
    const c = channels.get(id);
    if (!c) throw { code: "not_found", message: "That channel is not in the cache." };
    return c;
  }

  function postAt(c: FakeChannel, i: number): MessageDto {
    if (!c.lazy) return c.posts[i] as MessageDto;
    return c.posts[i - c.size] ?? makePost(c.dto.id, i, c.size, c.size - c.dto.unread);
  }

  function total(c: FakeChannel): number {
    return c.lazy ? c.size + c.posts.length : c.posts.length;
  }

  function findPost(c: FakeChannel, id: string): MessageDto | undefined {
    if (c.lazy) {
      const m = /-m(\d+)$/.exec(id);
      if (m) {
        const i = Number(m[1]);
        const existing = c.posts.find((p) => p.key.id === id);
        return existing ?? (i < c.size ? postAt(c, i) : undefined);
      }
    }
    return c.posts.find((p) => p.key.id === id) ?? undefined;
  }

  function repliesOf(c: FakeChannel, root: MessageDto): MessageDto[] {
    let list = c.replies.get(root.key.id);
    if (!list) {
      const r = rng(root.key.id.length * 31 + root.createdAt.length);
      list = Array.from({ length: root.replyCount }, (_, k) => {
        const who = PEOPLE[1 + Math.floor(r() * (PEOPLE.length - 1))] as MemberDto;
        const mine = r() < 0.2;
        const from = mine ? ME : who;
        const html = BODIES[Math.floor(r() * BODIES.length)] as string;
        const id = `${root.key.id}-r${k}`;
        return {
          ...root,
          key: { channelId: root.key.channelId, rootId: root.key.rootId, id },
          createdAt: new Date(Date.parse(root.createdAt) + (k + 1) * 600_000).toISOString(),
          editedAt: null,
          deletedAt: null,
          subject: null,
          importance: "normal",
          fromId: from.userId,
          fromName: from.displayName,
          mine,
          html,
          text: textOf(html),
          mentionsMe: false,
          reactions: r() < 0.3 ? [{ reaction: "like", emoji: "👍", count: 2, mine: false, names: ["Ada Lovelace", "Alan Turing"] }] : [],
          attachments: [],
          replyCount: 0,
          lastReplyAt: null,
          unread: false,
          pending: [],
          local: false,
        };
      });
      c.replies.set(root.key.id, list);
    }
    return list;
  }

  function status(): StatusDto {
    const counts = { queued: 0, sending: 0, failed: 0, wedged: 0, expired: 0 };
    for (const { item } of outbox.values()) if (item.state in counts) counts[item.state as keyof typeof counts]++;
    const mode = params.get("status");
    let sync: SyncStateDto = { state: "idle", lastSyncedAt: new Date(now - 90_000).toISOString() };
    if (mode === "offline") sync = { state: "offline", since: new Date(now - 600_000).toISOString(), reason: "No network" };
    if (mode === "syncing") sync = { state: "syncing", done: 3, total: 8, pages: 5 };
    if (mode === "throttled") sync = { state: "throttled", until: new Date(now + 120_000).toISOString() };
    if (mode === "needs_sign_in") sync = { state: "needs_sign_in", reason: "Your session expired" };
    if (mode === "error") sync = { state: "error", code: "graph", message: "Graph returned 500" };
    if (!signedIn) sync = { state: "signed_out" };
    return { accountId: signedIn ? "tenant.u-me" : null, sync, channelErrors: [], outbox: counts };
  }

  function account(): AccountDto {
    return { id: "tenant.u-me", displayName: ME.displayName, email: ME.email, tenantId: "tenant", userId: ME.userId, state: "signed_in", active: true };
  }

  function appState(): AppStateDto {
    return {
      version: "0.1.0-preview",
      mode: "demo",
      accounts: signedIn ? [account(), { ...account(), id: "fabrikam.u-me", displayName: "Robin Park (Fabrikam)", email: "robin@fabrikam.example", tenantId: "fabrikam", state: "needs_sign_in", active: false }] : [],
      activeAccount: signedIn ? "tenant.u-me" : null,
      status: status(),
      settings,
      configProblems: params.get("problems") === "1" ? ["PERCH_SYNC_INTERVAL is not a number; using 15 s"] : [],
      policy:
        params.get("policy") === "1"
          ? {
              source: "/etc/perch/policy.json",
              problems: [
                { key: "cloud", reason: "`mars` is not a known cloud (global, usgov, dod, china); Perch uses the user's own settings, else the global cloud" },
                { key: "tenat", reason: "`tenat` is not a Perch policy key (did you mean `tenant`?); Perch ignores it" },
              ],
            }
          : { source: null, problems: [] },
    };
  }

  // --- pushing changes to subscribers ---
  function pushMessage(channelId: string, diff: TimelineDiffDto, message: MessageDto) {
    for (const [, s] of subs) {
      if (s.channelId !== channelId) continue;
      const isRoot = message.key.rootId === message.key.id;
      if (s.kind === "timeline" && isRoot) send(s.channel, { subscription: 0, diffs: [diff], historyComplete: false, committedAtMs: Date.now() } satisfies TimelineBatchDto);
      if (s.kind === "thread" && s.rootId === message.key.rootId) send(s.channel, { subscription: 0, diffs: [diff], historyComplete: true, committedAtMs: Date.now() } satisfies TimelineBatchDto);
    }
  }

  function pushChannel(c: FakeChannel) {
    for (const [, s] of subs) if (s.kind === "sidebar") send(s.channel, [{ op: "channel", teamId: c.dto.teamId, channel: { ...c.dto } }]);
  }

  function pushStatus() {
    emit("status", status());
  }

  function replaceMessage(c: FakeChannel, id: string, next: MessageDto) {
    const list = next.key.rootId === next.key.id ? c.posts : (c.replies.get(next.key.rootId) ?? []);
    const at = list.findIndex((m) => m.key.id === id);
    if (at >= 0) list[at] = next;
    else if (c.lazy && next.key.rootId === next.key.id) c.posts.push(next);
  }

  function updateRootReplyCount(c: FakeChannel, rootId: string) {
    const root = findPost(c, rootId);
    if (!root) return;
    const count = (c.replies.get(rootId) ?? []).length;
    const next = { ...root, replyCount: count, lastReplyAt: new Date().toISOString() };
    replaceMessage(c, rootId, next);
    pushMessage(c.dto.id, { op: "update", item: next }, next);
  }

  /** Runs a queued write through sending to sent (or to failed when the text says "fail"). */
  function drive(outboxId: number) {
    const entry = outbox.get(outboxId);
    if (!entry) return;
    const c = ch(entry.channelId);
    const setState = (state: OutboxStateDto, error: string | null = null) => {
      entry.item = { ...entry.item, state, errorMessage: error, attempts: entry.item.attempts + (state === "sending" ? 1 : 0), nextAttemptAt: state === "failed" ? new Date(Date.now() + 60_000).toISOString() : null };
      const m = findPost(c, entry.messageId) ?? (c.replies.get(entry.rootId) ?? []).find((x) => x.key.id === entry.messageId);
      if (m) {
        const next = { ...m, pending: m.pending.map((p) => (p.outboxId === outboxId ? { ...p, state, errorMessage: error, nextAttemptAt: entry.item.nextAttemptAt } : p)) };
        replaceMessage(c, m.key.id, next);
        pushMessage(c.dto.id, { op: "update", item: next }, next);
      }
      pushStatus();
    };
    setTimeout(() => {
      if (!outbox.has(outboxId)) return;
      setState("sending");
      setTimeout(() => {
        if (!outbox.has(outboxId)) return;
        if (/\bfail\b/i.test(entry.item.preview) && entry.item.attempts < 2) {
          setState("failed", "Teams is busy right now");
          return;
        }
        outbox.delete(outboxId);
        const m = findPost(c, entry.messageId) ?? (c.replies.get(entry.rootId) ?? []).find((x) => x.key.id === entry.messageId);
        if (m) {
          if (m.local) {
            const id = `srv-${nextServer++}`;
            const next: MessageDto = {
              ...m,
              key: { ...m.key, id, rootId: m.key.rootId === m.key.id ? id : m.key.rootId },
              local: false,
              pending: [],
              webUrl: `https://teams.microsoft.com/l/message/${c.dto.id}/${id}`,
            };
            replaceMessage(c, m.key.id, next);
            pushMessage(c.dto.id, { op: "replace", key: m.key, item: next }, next);
          } else {
            const next = { ...m, pending: m.pending.filter((p) => p.outboxId !== outboxId) };
            replaceMessage(c, m.key.id, next);
            pushMessage(c.dto.id, { op: "update", item: next }, next);
          }
        }
        pushStatus();
      }, 1400);
    }, 900);
  }

  function enqueue(c: FakeChannel, kind: OutboxItemDto["kind"], message: MessageDto, preview: string): number {
    const id = nextOutbox++;
    outbox.set(id, {
      item: { id, channelId: c.dto.id, channelName: c.dto.name, kind, state: "queued", preview, attempts: 0, enqueuedAt: new Date().toISOString(), nextAttemptAt: null, errorCode: null, errorMessage: null },
      messageId: message.key.id,
      channelId: c.dto.id,
      rootId: message.key.rootId,
    });
    pushStatus();
    drive(id);
    return id;
  }

  function pendingOf(id: number, kind: OutboxItemDto["kind"]): PendingDto {
    return { outboxId: id, kind, state: "queued", attempts: 0, errorCode: null, errorMessage: null, nextAttemptAt: null };
  }

  function localMessage(c: FakeChannel, rootId: string | null, draft: DraftDto, subject: string | null, importance: string | null): MessageDto {
    const id = `local-${nextLocal++}`;
    const html = draftHtml(draft);
    return {
      key: { channelId: c.dto.id, rootId: rootId ?? id, id },
      kind: "message",
      createdAt: new Date().toISOString(),
      editedAt: null,
      deletedAt: null,
      subject,
      importance: importance ?? "normal",
      fromId: ME.userId,
      fromName: ME.displayName,
      mine: true,
      html,
      text: textOf(html),
      webUrl: null,
      mentionsMe: mentionsIn(draft).includes(ME.userId),
      reactions: [],
      attachments: [],
      replyCount: 0,
      lastReplyAt: null,
      unread: false,
      pending: [],
      local: true,
    };
  }

  function mutate(channelId: string, messageId: string, kind: OutboxItemDto["kind"], change: (m: MessageDto) => MessageDto): number {
    const c = ch(channelId);
    let m = findPost(c, messageId);
    if (!m) for (const list of c.replies.values()) m = m ?? list.find((x) => x.key.id === messageId);
    if (!m) throw { code: "not_found", message: "That message is no longer in the cache." };
    const id = nextOutbox++;
    const next = { ...change(m), pending: [...m.pending, pendingOf(id, kind)] };
    replaceMessage(c, messageId, next);
    pushMessage(channelId, { op: "update", item: next }, next);
    outbox.set(id, {
      item: { id, channelId, channelName: c.dto.name, kind, state: "queued", preview: next.text.slice(0, 80), attempts: 0, enqueuedAt: new Date().toISOString(), nextAttemptAt: null, errorCode: null, errorMessage: null },
      messageId,
      channelId,
      rootId: m.key.rootId,
    });
    pushStatus();
    drive(id);
    return id;
  }

  function react(m: MessageDto, reaction: string, on: boolean): MessageDto {
    const reactions = m.reactions.map((r) => ({ ...r }));
    const r = reactions.find((x) => x.reaction === reaction);
    if (on) {
      if (r) {
        if (!r.mine) {
          r.count++;
          r.mine = true;
          r.names = [...r.names, "You"];
        }
      } else reactions.push({ reaction, emoji: REACTION_EMOJI[reaction] ?? reaction, count: 1, mine: true, names: ["You"] });
    } else if (r && r.mine) {
      r.count--;
      r.mine = false;
      r.names = r.names.filter((n) => n !== "You");
    }
    return { ...m, reactions: reactions.filter((x) => x.count > 0) };
  }

  // --- commands ---
  const delay = <T>(value: T, ms = 60) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

  async function handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "app_info":
        return { name: "Perch", version: "0.1.0-preview" };
      case "app_state":
        return delay(appState());
      case "sign_in":
        await delay(null, 2500);
        signedIn = true;
        setTimeout(() => emit("accounts-changed", null), 10);
        return account();
      case "cancel_sign_in":
        return null;
      case "sign_out":
        signedIn = false;
        setTimeout(() => emit("accounts-changed", null), 10);
        return null;
      case "switch_account":
        throw { code: "needs_sign_in", message: "Sign in to Fabrikam again to switch to it." };
      case "plugin:event|listen": {
        const eventId = nextEventId++;
        const event = args.event as string;
        listeners.set(event, [...(listeners.get(event) ?? []), { eventId, handler: args.handler as number }]);
        return eventId;
      }
      case "plugin:event|unlisten":
        return null;
      case "subscribe_sidebar": {
        const id = nextSub++;
        const channel = args.onDiffs as ChannelRef;
        subs.set(id, { kind: "sidebar", channel, loaded: 0 });
        setTimeout(() => send(channel, [{ op: "reset", teams: teams.map((t) => ({ ...t, channels: t.channels.map((c) => ({ ...(channels.get(c.id) as FakeChannel).dto })) })) }]), 30);
        return id;
      }
      case "open_timeline": {
        const id = nextSub++;
        const channel = args.onBatch as ChannelRef;
        const c = ch(args.channelId as string);
        const loaded = Math.min(50, total(c));
        subs.set(id, { kind: "timeline", channel, channelId: c.dto.id, loaded });
        setTimeout(() => {
          const items: MessageDto[] = [];
          for (let i = total(c) - 1; i >= total(c) - loaded; i--) items.push(postAt(c, i));
          send(channel, { subscription: id, diffs: [{ op: "reset", items }], historyComplete: loaded >= total(c), committedAtMs: null } satisfies TimelineBatchDto);
        }, 120);
        return id;
      }
      case "load_older": {
        const s = subs.get(args.subscription as number);
        if (!s || s.kind !== "timeline" || !s.channelId) throw { code: "no_subscription", message: "That view is closed." };
        const c = ch(s.channelId);
        const all = total(c);
        const from = all - s.loaded - 1;
        const n = Math.min(args.count as number, from + 1);
        const diffs: TimelineDiffDto[] = [];
        for (let i = from; i > from - n; i--) diffs.push({ op: "insert", item: postAt(c, i) });
        s.loaded += n;
        const complete = s.loaded >= all;
        await delay(null, olderMs);
        send(s.channel, { subscription: args.subscription as number, diffs, historyComplete: complete, committedAtMs: null });
        return complete;
      }
      case "open_thread": {
        const id = nextSub++;
        const channel = args.onBatch as ChannelRef;
        const c = ch(args.channelId as string);
        const root = findPost(c, args.rootId as string);
        subs.set(id, { kind: "thread", channel, channelId: c.dto.id, rootId: args.rootId as string, loaded: 0 });
        setTimeout(() => {
          const items = root ? [root, ...repliesOf(c, root)] : [];
          send(channel, { subscription: id, diffs: [{ op: "reset", items }], historyComplete: true, committedAtMs: null });
        }, 100);
        return id;
      }
      case "close_subscription":
        subs.delete(args.subscription as number);
        return null;
      case "view_channel":
      case "attention":
      case "refresh":
        return null;
      case "mark_read": {
        const c = ch(args.channelId as string);
        if (c.dto.unread || c.dto.mentions) {
          c.dto = { ...c.dto, unread: 0, mentions: 0 };
          pushChannel(c);
        }
        return null;
      }
      case "set_followed": {
        const c = ch(args.channelId as string);
        c.dto = { ...c.dto, followed: args.followed as boolean };
        pushChannel(c);
        return null;
      }
      case "set_notify": {
        const c = ch(args.channelId as string);
        c.dto = { ...c.dto, notify: args.level as ChannelDto["notify"] };
        pushChannel(c);
        return null;
      }
      case "post": {
        const c = ch(args.channelId as string);
        const m = localMessage(c, null, args.draft as DraftDto, (args.subject as string | null) ?? null, (args.importance as string | null) ?? null);
        const oid = nextOutbox;
        m.pending = [pendingOf(oid, "post")];
        c.posts.push(m);
        pushMessage(c.dto.id, { op: "insert", item: m }, m);
        return enqueue(c, "post", m, m.text);
      }
      case "reply": {
        const c = ch(args.channelId as string);
        const root = findPost(c, args.rootId as string);
        if (!root) throw { code: "not_found", message: "That thread is no longer in the cache." };
        const list = repliesOf(c, root);
        const m = localMessage(c, root.key.id, args.draft as DraftDto, null, null);
        m.pending = [pendingOf(nextOutbox, "reply")];
        list.push(m);
        pushMessage(c.dto.id, { op: "insert", item: m }, m);
        updateRootReplyCount(c, root.key.id);
        return enqueue(c, "reply", m, m.text);
      }
      case "edit_message": {
        const html = draftHtml(args.draft as DraftDto);
        return mutate(args.channelId as string, args.messageId as string, "edit", (m) => ({ ...m, html, text: textOf(html), editedAt: new Date().toISOString() }));
      }
      case "delete_message":
        return mutate(args.channelId as string, args.messageId as string, "delete", (m) => ({ ...m, deletedAt: new Date().toISOString() }));
      case "undelete_message":
        return mutate(args.channelId as string, args.messageId as string, "undelete", (m) => ({ ...m, deletedAt: null }));
      case "react":
        return mutate(args.channelId as string, args.messageId as string, "react", (m) => react(m, args.reaction as string, true));
      case "unreact":
        return mutate(args.channelId as string, args.messageId as string, "unreact", (m) => react(m, args.reaction as string, false));
      case "outbox_list":
        return delay([...outbox.values()].map((e) => e.item));
      case "outbox_retry": {
        const e = outbox.get(args.id as number);
        if (e) {
          e.item = { ...e.item, state: "queued", attempts: Math.max(e.item.attempts, 2) };
          drive(args.id as number);
        }
        return null;
      }
      case "outbox_cancel": {
        const e = outbox.get(args.id as number);
        if (!e) return null;
        outbox.delete(args.id as number);
        const c = ch(e.channelId);
        const m = findPost(c, e.messageId) ?? (c.replies.get(e.rootId) ?? []).find((x) => x.key.id === e.messageId);
        if (m?.local) {
          if (m.key.rootId === m.key.id) c.posts = c.posts.filter((p) => p.key.id !== m.key.id);
          else c.replies.set(m.key.rootId, (c.replies.get(m.key.rootId) ?? []).filter((p) => p.key.id !== m.key.id));
          pushMessage(c.dto.id, { op: "remove", key: m.key }, m);
        } else if (m) {
          const next = { ...m, pending: m.pending.filter((p) => p.outboxId !== args.id) };
          replaceMessage(c, m.key.id, next);
          pushMessage(c.dto.id, { op: "update", item: next }, next);
        }
        pushStatus();
        return null;
      }
      case "members":
        return delay(PEOPLE);
      case "search": {
        const words = (args.text as string).toLowerCase().split(/\s+/).filter(Boolean);
        const hits: SearchHitDto[] = [];
        for (const team of teams) {
          for (const cd of team.channels) {
            const c = channels.get(cd.id) as FakeChannel;
            if (c.lazy) continue;
            for (const m of [...c.posts].reverse()) {
              const lower = m.text.toLowerCase();
              if (!words.every((w) => lower.includes(w))) continue;
              const parts: Array<{ text: string; highlight: boolean }> = [];
              const re = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "gi");
              for (const piece of m.text.slice(0, 160).split(re)) if (piece) parts.push({ text: piece, highlight: words.includes(piece.toLowerCase()) });
              hits.push({ key: m.key, teamId: team.id, teamName: team.name, channelName: c.dto.name, fromName: m.fromName, createdAt: m.createdAt, subject: m.subject, snippet: parts });
              if (hits.length >= (args.limit as number)) return delay(hits);
            }
          }
        }
        return delay(hits);
      }
      case "load_draft":
        return delay(drafts.get(`${args.channelId}/${args.rootId ?? ""}`) ?? null, 20);
      case "save_draft": {
        const d = args.draft as SavedDraftDto;
        const key = `${d.channelId}/${d.rootId ?? ""}`;
        if (d.draft.blocks.length || d.subject) drafts.set(key, d);
        else drafts.delete(key);
        localStorage.setItem("perch-preview-drafts", JSON.stringify([...drafts]));
        return null;
      }
      case "update_settings":
        settings = { ...(args.settings as SettingsDto), followedIntervalSecs: settings.followedIntervalSecs };
        return delay(settings);
      case "open_external":
        console.info("[fake shell] open_external", args.url);
        return null;
      case "update_status":
        // `?update=1`: an update is downloaded and ready (the notice).
        return params.get("update") === "1" ? { state: "ready", version: "0.2.0" } : { state: "off", reason: "Preview." };
      case "install_update":
        console.info("[fake shell] install_update");
        return null;
      default:
        throw { code: "unknown_command", message: `The preview shell does not know ${cmd}.` };
    }
  }

  const w = window as unknown as Record<string, unknown>;
  w.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    transformCallback(callback: Callback, once = false): number {
      const id = nextCallback++;
      callbacks.set(id, (payload) => {
        if (once) callbacks.delete(id);
        callback(payload);
      });
      return id;
    },
    unregisterCallback(id: number) {
      callbacks.delete(id);
    },
    invoke(cmd: string, args: Record<string, unknown> = {}) {
      return handle(cmd, args);
    },
  };
  w.__TAURI_EVENT_PLUGIN_INTERNALS__ = {
    unregisterListener(event: string, eventId: number) {
      listeners.set(event, (listeners.get(event) ?? []).filter((l) => l.eventId !== eventId));
    },
  };
}
