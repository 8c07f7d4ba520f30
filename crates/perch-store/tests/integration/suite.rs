//! The shared cache suite: every scenario runs against a file database and an in-memory one
//! (the `backends!` macro in `support` generates both), through `&mut dyn CacheStore`.

use chrono::Duration;
use perch_store::{CacheStore, Error, MemberRow, MessageRow, SearchQuery, Store, SyncState};
use serde_json::json;

use crate::support::*;

pub fn teams_and_channels(mut ctx: Ctx) {
    let a = ctx.account;
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &a);
    let teams = s.teams(&a).unwrap();
    assert_eq!(
        teams.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["t1", "t2"]
    );
    let chans = s.channels(&a).unwrap();
    assert_eq!(
        chans.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c2", "c1", "c3"],
        "by team name, then channel name"
    );
    assert!(
        chans.iter().all(|c| !c.followed),
        "new channels are not followed"
    );
    assert_eq!(
        s.channel(&a, "c1").unwrap().unwrap(),
        channel("t1", "c1", "General")
    );
    assert_eq!(s.channel(&a, "nope").unwrap(), None);

    assert!(s.set_followed(&a, "c1", true).unwrap());
    assert!(s.set_followed(&a, "c1", true).unwrap(), "idempotent");
    assert!(!s.set_followed(&a, "nope", true).unwrap());
    s.ingest(&a, "c2", &[msg("c2", "m1", None, 1, "hello")], None)
        .unwrap();

    // Relisting keeps the follow, updates names, drops c2 (with its messages), adds c4.
    let mut renamed = channel("t1", "c1", "General (renamed)");
    renamed.followed = false; // ignored on write
    s.replace_channels(&a, "t1", &[renamed, channel("t1", "c4", "New")])
        .unwrap();
    let c1 = s.channel(&a, "c1").unwrap().unwrap();
    assert!(c1.followed);
    assert_eq!(c1.display_name, "General (renamed)");
    assert!(!s.channel(&a, "c4").unwrap().unwrap().followed);
    assert_eq!(s.channel(&a, "c2").unwrap(), None);
    assert_eq!(s.message(&a, &key("c2", "m1", "m1")).unwrap(), None);
    assert_eq!(s.message_count(&a, None).unwrap(), 0);

    assert!(s.set_followed(&a, "c1", false).unwrap());
    assert!(!s.channel(&a, "c1").unwrap().unwrap().followed);

    // A team no longer listed takes its channels with it.
    s.ingest(&a, "c3", &[msg("c3", "m2", None, 1, "hello")], None)
        .unwrap();
    s.replace_teams(&a, &[team("t1", "Alpha")]).unwrap();
    assert_eq!(s.teams(&a).unwrap().len(), 1);
    assert_eq!(s.channel(&a, "c3").unwrap(), None);
    assert_eq!(s.message_count(&a, None).unwrap(), 0);

    let err = s
        .replace_channels(&a, "t9", &[channel("t9", "c9", "X")])
        .unwrap_err();
    assert_eq!(err.code(), "store_unknown_team");
    fts_consistent(&ctx.store);
}

pub fn roots_replies_and_threads(mut ctx: Ctx) {
    let a = ctx.account;
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &a);
    let page = vec![
        msg("c1", "r1", None, 10, "first root"),
        msg("c1", "r2", None, 20, "second root"),
        msg("c1", "x2", Some("r1"), 40, "second reply"),
        msg("c1", "x1", Some("r1"), 30, "first reply"),
        full_msg("c1", "r3", 50),
    ];
    let out = s.ingest(&a, "c1", &page, None).unwrap();
    assert_eq!(out.inserted.len(), 5);
    assert!(out.updated.is_empty());
    assert_eq!(out.unchanged, 0);
    assert_eq!(out.inserted[2], key("c1", "r1", "x2"));

    let tl = s.timeline(&a, "c1", None, 10).unwrap();
    assert_eq!(
        tl.iter().map(|i| i.row.id.as_str()).collect::<Vec<_>>(),
        ["r3", "r2", "r1"]
    );
    assert_eq!(tl[2].reply_count, 2);
    assert_eq!(tl[2].last_reply_at, Some(t(40)));
    assert_eq!(tl[1].reply_count, 0);
    assert_eq!(tl[1].last_reply_at, None);
    assert_eq!(
        tl[0].row,
        full_msg("c1", "r3", 50),
        "every field and child row round-trips"
    );

    let th = s.thread(&a, "c1", "r1").unwrap();
    assert_eq!(
        th.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["x1", "x2"]
    );
    assert_eq!(th[0], msg("c1", "x1", Some("r1"), 30, "first reply"));
    assert!(s.thread(&a, "c1", "r2").unwrap().is_empty());

    assert_eq!(
        s.message(&a, &key("c1", "r1", "x1"))
            .unwrap()
            .unwrap()
            .body_text,
        "first reply"
    );
    assert_eq!(
        s.message(&a, &key("c1", "r1", "r1"))
            .unwrap()
            .unwrap()
            .reply_to_id,
        None
    );
    assert_eq!(
        s.message(&a, &key("c1", "r2", "x1")).unwrap(),
        None,
        "wrong root"
    );
    assert_eq!(s.message_count(&a, Some("c1")).unwrap(), 5);
    assert_eq!(s.message_count(&a, Some("c2")).unwrap(), 0);
    assert_eq!(s.message_count(&a, None).unwrap(), 5);

    let err = s.ingest(&a, "zz", &page, None).unwrap_err();
    assert!(matches!(err, Error::UnknownChannel { .. }));
    assert_eq!(err.code(), "store_unknown_channel");
    fts_consistent(&ctx.store);
}

pub fn updates_tombstones_and_stale_rows(mut ctx: Ctx) {
    let a = ctx.account;
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &a);
    let original = full_msg("c1", "r1", 10);
    s.ingest(
        &a,
        "c1",
        &[original.clone(), msg("c1", "x1", Some("r1"), 20, "a reply")],
        None,
    )
    .unwrap();

    // The same row again, and an older version: both left alone.
    let mut older = original.clone();
    older.last_modified_at = t(0);
    older.body_text = "stale text".into();
    let out = s
        .ingest(&a, "c1", &[original.clone(), older], None)
        .unwrap();
    assert_eq!(out.unchanged, 2);
    assert!(out.inserted.is_empty() && out.updated.is_empty());
    assert!(s
        .search(&a, &SearchQuery::new("stale "))
        .unwrap()
        .is_empty());

    // An edit: text, reactions and hosted ids change.
    let mut edited = original.clone();
    edited.last_modified_at = t(100);
    edited.last_edited_at = Some(t(100));
    edited.body_text = "budget approved".into();
    edited.body_html = "<p>budget approved</p>".into();
    edited.reactions.truncate(1);
    edited.hosted = vec!["h3".into()];
    let out = s.ingest(&a, "c1", &[edited.clone()], None).unwrap();
    assert_eq!(out.updated, vec![key("c1", "r1", "r1")]);
    assert_eq!(
        s.message(&a, &key("c1", "r1", "r1")).unwrap().unwrap(),
        edited
    );
    assert!(s
        .search(&a, &SearchQuery::new("quarterly "))
        .unwrap()
        .is_empty());
    assert_eq!(s.search(&a, &SearchQuery::new("budget")).unwrap().len(), 1);

    // A newer version with only a reaction change keeps the text indexed.
    let mut reacted = edited.clone();
    reacted.last_modified_at = t(110);
    reacted.reactions.clear();
    s.ingest(&a, "c1", &[reacted.clone()], None).unwrap();
    assert_eq!(
        s.message(&a, &key("c1", "r1", "r1")).unwrap().unwrap(),
        reacted
    );
    assert_eq!(s.search(&a, &SearchQuery::new("budget")).unwrap().len(), 1);

    // Deleting the reply: a tombstone, not counted, not searchable, still in the thread.
    let mut gone = msg("c1", "x1", Some("r1"), 20, "");
    gone.last_modified_at = t(200);
    gone.deleted_at = Some(t(200));
    gone.body_html = String::new();
    s.ingest(&a, "c1", &[gone.clone()], None).unwrap();
    let th = s.thread(&a, "c1", "r1").unwrap();
    assert_eq!(th, vec![gone.clone()]);
    assert_eq!(s.timeline(&a, "c1", None, 5).unwrap()[0].reply_count, 0);
    assert!(s.search(&a, &SearchQuery::new("reply")).unwrap().is_empty());
    assert_eq!(
        s.message_count(&a, Some("c1")).unwrap(),
        2,
        "tombstones are kept"
    );

    // Undeleted: searchable again.
    let mut back = msg("c1", "x1", Some("r1"), 20, "a reply restored");
    back.last_modified_at = t(300);
    s.ingest(&a, "c1", &[back], None).unwrap();
    assert_eq!(
        s.search(&a, &SearchQuery::new("restored")).unwrap().len(),
        1
    );

    // A root deleted in the same page it first appears in: stored as a tombstone.
    let mut dead = msg("c1", "r9", None, 400, "never seen");
    dead.deleted_at = Some(t(400));
    s.ingest(&a, "c1", &[dead], None).unwrap();
    assert!(s.timeline(&a, "c1", None, 1).unwrap()[0]
        .row
        .deleted_at
        .is_some());
    assert!(s.search(&a, &SearchQuery::new("never")).unwrap().is_empty());
    fts_consistent(&ctx.store);
}

pub fn timeline_paging(mut ctx: Ctx) {
    let a = ctx.account;
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &a);
    // 120 roots; pairs share a creation time; replies in between.
    let mut rows = Vec::new();
    for i in 0..120 {
        rows.push(msg("c1", &format!("r{i:03}"), None, i / 2, "root"));
        if i % 10 == 0 {
            rows.push(msg(
                "c1",
                &format!("x{i:03}"),
                Some(&format!("r{i:03}")),
                500 + i,
                "reply",
            ));
        }
    }
    s.ingest(&a, "c1", &rows, None).unwrap();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = s.timeline(&a, "c1", before.as_ref(), 50).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 50);
        for w in page.windows(2) {
            assert!(w[0].row.created_at >= w[1].row.created_at, "newest first");
        }
        let last = page.last().unwrap();
        before = Some(key("c1", &last.row.id, &last.row.id));
        seen.extend(page.into_iter().map(|i| i.row.id));
    }
    assert_eq!(seen.len(), 120, "every root once, no replies");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 120);
    assert!(s
        .timeline(&a, "c1", Some(&key("c1", "nope", "nope")), 10)
        .unwrap()
        .is_empty());
    assert!(s.timeline(&a, "c2", None, 10).unwrap().is_empty());
    assert!(s.timeline(&a, "zz", None, 10).unwrap().is_empty());

    let items = s
        .timeline_items(
            &a,
            &[
                key("c1", "r005", "r005"),
                key("c1", "nope", "nope"),
                key("c1", "r010", "x010"),
                key("c1", "r010", "r010"),
            ],
        )
        .unwrap();
    assert_eq!(
        items.iter().map(|i| i.row.id.as_str()).collect::<Vec<_>>(),
        ["r005", "x010", "r010"]
    );
    assert_eq!(items[1].reply_count, 0);
    assert_eq!(items[2].reply_count, 1);
    assert_eq!(items[2].last_reply_at, Some(t(510)));
}

pub fn counts_and_read_markers(mut ctx: Ctx) {
    let a = ctx.account;
    let me = a.user_id.to_string();
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &a);
    let mut mine = msg("c1", "r3", None, 30, "my own post");
    mine.from_id = Some(me.clone());
    let mut mention = msg("c1", "x1", Some("r1"), 40, "@Ada look");
    mention.mentions_me = true;
    let mut deleted = msg("c1", "r4", None, 50, "");
    deleted.deleted_at = Some(t(50));
    deleted.mentions_me = true;
    s.ingest(
        &a,
        "c1",
        &[
            msg("c1", "r1", None, 10, "one"),
            msg("c1", "r2", None, 20, "two"),
            mine,
            mention,
            deleted,
        ],
        None,
    )
    .unwrap();
    s.ingest(&a, "c3", &[msg("c3", "q1", None, 5, "other team")], None)
        .unwrap();

    let counts = s.counts(&a).unwrap();
    assert_eq!(counts.len(), 2, "only channels with messages: {counts:?}");
    let c1 = counts.iter().find(|c| c.channel_id == "c1").unwrap();
    assert_eq!((c1.team_id.as_str(), c1.unread, c1.mentions), ("t1", 3, 1));
    assert_eq!(
        c1.last_activity,
        Some(t(40)),
        "the tombstone is not activity"
    );
    let c3 = counts.iter().find(|c| c.channel_id == "c3").unwrap();
    assert_eq!(
        (c3.unread, c3.mentions, c3.last_activity),
        (1, 0, Some(t(5)))
    );

    let tl = s.timeline(&a, "c1", None, 10).unwrap();
    let unread: Vec<_> = tl.iter().map(|i| (i.row.id.as_str(), i.unread)).collect();
    assert_eq!(
        unread,
        [("r4", false), ("r3", false), ("r2", true), ("r1", true)]
    );

    s.mark_read(&a, "c1", t(20)).unwrap();
    let c1 = s
        .counts(&a)
        .unwrap()
        .into_iter()
        .find(|c| c.channel_id == "c1")
        .unwrap();
    assert_eq!((c1.unread, c1.mentions), (1, 1));
    // Never backwards.
    s.mark_read(&a, "c1", t(0)).unwrap();
    let c1 = s
        .counts(&a)
        .unwrap()
        .into_iter()
        .find(|c| c.channel_id == "c1")
        .unwrap();
    assert_eq!(c1.unread, 1);
    s.mark_read(&a, "c1", t(40)).unwrap();
    let c1 = s
        .counts(&a)
        .unwrap()
        .into_iter()
        .find(|c| c.channel_id == "c1")
        .unwrap();
    assert_eq!((c1.unread, c1.mentions), (0, 0));
    assert!(s
        .timeline(&a, "c1", None, 10)
        .unwrap()
        .iter()
        .all(|i| !i.unread));
    // A marker for a channel without data is harmless.
    s.mark_read(&a, "c2", t(1)).unwrap();
    assert_eq!(s.counts(&a).unwrap().len(), 2);
}

pub fn search(mut ctx: Ctx) {
    let a = ctx.account;
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &a);
    let mut planning = msg(
        "c1",
        "r1",
        None,
        10,
        "we will deploy the release on Friday after review",
    );
    planning.subject = Some("Release planning".into());
    let mut cafe = msg("c2", "r2", None, 20, "meet at the café near the office");
    cafe.from_id = Some("11111111-2222-3333-4444-555555555555".into());
    cafe.from_name = Some("Carol Café".into());
    let reply = msg(
        "c1",
        "x1",
        Some("r1"),
        30,
        "deployment looks fine, release approved",
    );
    let other_team = msg("c3", "q1", None, 40, "release notes for the other team");
    let hostile = msg(
        "c1",
        "r5",
        None,
        50,
        "quote \"this\" OR that - NEAR(x y) col:umn star* end",
    );
    s.ingest(&a, "c1", &[planning, reply, hostile], None)
        .unwrap();
    s.ingest(&a, "c2", &[cafe], None).unwrap();
    s.ingest(&a, "c3", &[other_team], None).unwrap();

    let ids =
        |hits: &[perch_store::SearchHit]| hits.iter().map(|h| h.key.id.clone()).collect::<Vec<_>>();
    let hits = s.search(&a, &SearchQuery::new("release ")).unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(
        hits[0].key,
        key("c1", "r1", "r1"),
        "a subject match ranks first: {hits:?}"
    );
    assert!(hits.windows(2).all(|w| w[0].rank >= w[1].rank));
    assert_eq!(hits[0].subject.as_deref(), Some("Release planning"));
    assert_eq!(hits[0].from_name.as_deref(), Some("Bob Builder"));
    assert_eq!(hits[0].team_id, "t1");
    assert_eq!(hits[0].created_at, t(10));
    let snippet = &hits[0].snippet;
    assert!(
        snippet
            .iter()
            .any(|p| p.highlight && p.text.eq_ignore_ascii_case("release")),
        "{snippet:?}"
    );
    let joined: String = snippet.iter().map(|p| p.text.as_str()).collect();
    assert!(joined.contains("deploy the release on Friday"), "{joined}");
    assert!(snippet.iter().all(|p| !p.text.contains('<')));

    // Prefix on the last word, unless the text ends with a space.
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("deplo")).unwrap()).len(),
        2
    );
    assert!(s
        .search(&a, &SearchQuery::new("deplo "))
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("deploy ")).unwrap()),
        ["r1"]
    );
    // A prefix matching many words (expanded from the stored word list) and one matching none.
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("re")).unwrap()).len(),
        3
    );
    assert!(s.search(&a, &SearchQuery::new("zzq")).unwrap().is_empty());
    // All words must match; case and diacritics are ignored.
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("RELEASE approved")).unwrap()),
        ["x1"]
    );
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("cafe")).unwrap()),
        ["r2"]
    );
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("CAFÉ ")).unwrap()),
        ["r2"]
    );
    // The sender's name is searchable.
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("carol")).unwrap()),
        ["r2"]
    );

    // Filters.
    let mut q = SearchQuery::new("release");
    q.channel_id = Some("c3".into());
    assert_eq!(ids(&s.search(&a, &q).unwrap()), ["q1"]);
    q.channel_id = Some("zz".into());
    assert!(s.search(&a, &q).unwrap().is_empty());
    let mut q = SearchQuery::new("release");
    q.team_id = Some("t1".into());
    let mut got = ids(&s.search(&a, &q).unwrap());
    got.sort();
    assert_eq!(got, ["r1", "x1"]);
    let mut q = SearchQuery::new("the");
    q.from_id = Some("11111111-2222-3333-4444-555555555555".into());
    assert_eq!(ids(&s.search(&a, &q).unwrap()), ["r2"]);
    let mut q = SearchQuery::new("release");
    q.after = Some(t(30));
    q.before = Some(t(40));
    assert_eq!(
        ids(&s.search(&a, &q).unwrap()),
        ["x1"],
        "after inclusive, before exclusive"
    );
    q.before = Some(t(30));
    assert!(s.search(&a, &q).unwrap().is_empty());

    // Hostile FTS5 syntax is just text: never an error.
    for text in [
        "\"",
        "\"this\"",
        "*",
        "star*",
        "NEAR(x y)",
        "NEAR(",
        "OR",
        "that OR",
        "- that",
        "-",
        "col:umn",
        "{subject}: x",
        "(",
        ")",
        "AND",
        "NOT quote",
        "^end",
        "''",
        "\\",
        "a\"b",
    ] {
        let r = s.search(&a, &SearchQuery::new(text));
        assert!(r.is_ok(), "{text:?}: {r:?}");
    }
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("NEAR(x")).unwrap()),
        ["r5"]
    );
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("\"this\" OR ")).unwrap()),
        ["r5"]
    );
    assert_eq!(
        ids(&s.search(&a, &SearchQuery::new("col:umn")).unwrap()),
        ["r5"]
    );
    // A word that looks like a filter token finds nothing it should not.
    assert!(s.search(&a, &SearchQuery::new("c1 ")).unwrap().is_empty());
    assert!(s.search(&a, &SearchQuery::new("")).unwrap().is_empty());
    assert!(s.search(&a, &SearchQuery::new(" - * ")).unwrap().is_empty());

    // Limits: 0 is the default 20, at most 200.
    let many: Vec<_> = (0..230)
        .map(|i| msg("c2", &format!("m{i}"), None, 1000 + i, "bulk words"))
        .collect();
    s.ingest(&a, "c2", &many, None).unwrap();
    let mut q = SearchQuery::new("bulk");
    q.limit = 0;
    assert_eq!(s.search(&a, &q).unwrap().len(), 20);
    q.limit = 5;
    assert_eq!(s.search(&a, &q).unwrap().len(), 5);
    q.limit = 1000;
    assert_eq!(s.search(&a, &q).unwrap().len(), 200);

    // Another account's messages are never found.
    let b = add_account(&mut ctx.store);
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &b);
    s.ingest(
        &b,
        "c1",
        &[msg("c1", "b1", None, 5, "release for b only")],
        None,
    )
    .unwrap();
    assert_eq!(
        s.search(&a, &SearchQuery::new("release ")).unwrap().len(),
        3
    );
    assert_eq!(
        ids(&s.search(&b, &SearchQuery::new("release ")).unwrap()),
        ["b1"]
    );
    fts_consistent(&ctx.store);
}

pub fn drafts_settings_and_sync_state(mut ctx: Ctx) {
    let a = ctx.account;
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &a);
    assert_eq!(s.draft(&a, "c1", None).unwrap(), None);
    s.set_draft(&a, "c1", None, Some("new post")).unwrap();
    s.set_draft(&a, "c1", Some("r1"), Some("a reply")).unwrap();
    s.set_draft(&a, "c1", None, Some("new post, edited"))
        .unwrap();
    assert_eq!(
        s.draft(&a, "c1", None).unwrap().as_deref(),
        Some("new post, edited")
    );
    assert_eq!(
        s.draft(&a, "c1", Some("r1")).unwrap().as_deref(),
        Some("a reply")
    );
    assert_eq!(s.draft(&a, "c2", None).unwrap(), None);
    s.set_draft(&a, "c1", None, None).unwrap();
    assert_eq!(s.draft(&a, "c1", None).unwrap(), None);
    assert_eq!(
        s.draft(&a, "c1", Some("r1")).unwrap().as_deref(),
        Some("a reply")
    );

    assert_eq!(s.setting("theme").unwrap(), None);
    s.set_setting("theme", &json!("dark")).unwrap();
    s.set_setting(
        "layout",
        &json!({"sidebar": 240, "dense": true, "list": [1, 2]}),
    )
    .unwrap();
    s.set_setting("theme", &json!("light")).unwrap();
    assert_eq!(s.setting("theme").unwrap(), Some(json!("light")));
    assert_eq!(
        s.setting("layout").unwrap(),
        Some(json!({"sidebar": 240, "dense": true, "list": [1, 2]}))
    );

    assert_eq!(s.sync_state(&a, "c1").unwrap(), SyncState::default());
    assert_eq!(s.sync_state(&a, "zz").unwrap(), SyncState::default());
    let state = SyncState {
        delta_link: Some("https://graph/delta?token=1".into()),
        next_link: None,
        watermark: Some(t(10) + Duration::microseconds(123)),
        round_started_at: Some(t(1)),
        last_synced_at: Some(t(11)),
        history_link: Some("https://graph/messages?skip=2".into()),
        history_complete: true,
    };
    s.ingest(&a, "c1", &[msg("c1", "r1", None, 10, "x")], Some(&state))
        .unwrap();
    assert_eq!(s.sync_state(&a, "c1").unwrap(), state);
    s.ingest(&a, "c1", &[msg("c1", "r2", None, 20, "y")], None)
        .unwrap();
    assert_eq!(
        s.sync_state(&a, "c1").unwrap(),
        state,
        "None leaves the state alone"
    );
    let next = SyncState {
        next_link: Some("n2".into()),
        ..SyncState::default()
    };
    s.ingest(&a, "c1", &[], Some(&next)).unwrap();
    assert_eq!(
        s.sync_state(&a, "c1").unwrap(),
        next,
        "an empty page still advances the state"
    );
    assert_eq!(s.sync_state(&a, "c2").unwrap(), SyncState::default());
}

pub fn account_cascade(mut ctx: Ctx) {
    let a = ctx.account;
    let b = add_account(&mut ctx.store);
    {
        let s: &mut dyn CacheStore = &mut ctx.store;
        for acc in [&a, &b] {
            standard_layout(s, acc);
            s.ingest(
                acc,
                "c1",
                &[
                    full_msg("c1", "r1", 1),
                    msg("c1", "x1", Some("r1"), 2, "reply"),
                ],
                Some(&SyncState::default()),
            )
            .unwrap();
            s.set_followed(acc, "c1", true).unwrap();
            s.set_draft(acc, "c1", None, Some("draft")).unwrap();
            s.mark_read(acc, "c1", t(1)).unwrap();
        }
    }
    ctx.store
        .put_hosted(&a, "t1/c1/r1/-/h1", "/cache/h1", 10)
        .unwrap();
    assert!(ctx.store.delete_account(&a).unwrap());
    let conn = ctx.store.connection();
    let (tenant, user) = (a.tenant_id.to_string(), a.user_id.to_string());
    for table in [
        "teams",
        "channels",
        "follows",
        "read_markers",
        "drafts",
        "hosted_cache",
        "outbox",
    ] {
        let n: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE tenant_id = ?1 AND user_id = ?2"),
                [&tenant, &user],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    for (table, expected) in [
        ("messages", 2),
        ("reactions", 2),
        ("mentions", 1),
        ("attachments", 1),
        ("message_hosted", 2),
        ("sync_state", 1),
    ] {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            n, expected,
            "{table}: only the other account's rows are left"
        );
    }
    let s: &mut dyn CacheStore = &mut ctx.store;
    assert!(s.search(&a, &SearchQuery::new("reply")).unwrap().is_empty());
    assert_eq!(s.search(&b, &SearchQuery::new("reply")).unwrap().len(), 1);
    assert_eq!(s.message_count(&b, None).unwrap(), 2);
    assert_eq!(s.draft(&b, "c1", None).unwrap().as_deref(), Some("draft"));
    fts_consistent(&ctx.store);
}

pub fn hosted_cache_index(ctx: Ctx) {
    let a = ctx.account;
    let s = &ctx.store;
    assert_eq!(s.hosted(&a, "k1").unwrap(), None);
    let tick = || std::thread::sleep(std::time::Duration::from_millis(2));
    s.put_hosted(&a, "k1", "/c/k1", 100).unwrap();
    tick();
    s.put_hosted(&a, "k2", "/c/k2", 200).unwrap();
    tick();
    s.put_hosted(&a, "k3", "/c/k3", 300).unwrap();
    tick();
    assert_eq!(s.hosted(&a, "k1").unwrap().unwrap().path, "/c/k1"); // k1 is now the newest use
    assert_eq!(s.hosted_bytes().unwrap(), 600);
    assert_eq!(s.evict_hosted(350).unwrap(), ["/c/k2", "/c/k3"]);
    assert_eq!(s.hosted_bytes().unwrap(), 100);
    assert!(s.hosted(&a, "k2").unwrap().is_none());
}

/// Index maintenance merges the segments that many small ingests leave, in bounded steps,
/// and changes no search result.
pub fn search_maintenance(mut ctx: Ctx) {
    let a = ctx.account;
    standard_layout(&mut ctx.store, &a);
    // Sixty one-page ingests: sixty index segments.
    for page in 0..60 {
        let rows: Vec<MessageRow> = (0..10)
            .map(|i| {
                let n = page * 10 + i;
                msg(
                    "c1",
                    &format!("m{n:04}"),
                    None,
                    n,
                    &format!("zebra{} quarterly budget w{n}", n % 7),
                )
            })
            .collect();
        ctx.store.ingest(&a, "c1", &rows, None).unwrap();
    }
    let queries = ["budget", "zebr", "quarterly budget", "w123", "zebra3"];
    let run = |s: &Store| -> Vec<Vec<String>> {
        queries
            .iter()
            .map(|q| {
                let mut query = SearchQuery::new(*q);
                query.limit = 200;
                let mut ids: Vec<String> = s
                    .search(&a, &query)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.key.id)
                    .collect();
                ids.sort();
                ids
            })
            .collect()
    };
    let before = run(&ctx.store);
    assert!(before.iter().all(|hits| !hits.is_empty()), "{before:?}");
    let mut steps = 0;
    while ctx.store.maintain_search(64).unwrap() {
        steps += 1;
        assert!(steps < 1000, "maintenance never finishes");
    }
    assert!(steps >= 1, "sixty segments needed merging");
    assert!(
        !ctx.store.maintain_search(64).unwrap(),
        "nothing left to do"
    );
    fts_consistent(&ctx.store);
    assert_eq!(run(&ctx.store), before, "the same hits after merging");
}

pub fn members_and_messages_since(mut ctx: Ctx) {
    let a = ctx.account;
    let s: &mut dyn CacheStore = &mut ctx.store;
    standard_layout(s, &a);
    assert_eq!(
        s.members(&a, "c1").unwrap(),
        (vec![], None),
        "never fetched"
    );
    let member = |id: &str, name: &str, roles: &[&str]| MemberRow {
        user_id: id.into(),
        display_name: name.into(),
        email: Some(format!("{id}@example.com")),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    s.replace_members(
        &a,
        "c1",
        &[member("u2", "zoe", &[]), member("u1", "Adele", &["owner"])],
        t(100),
    )
    .unwrap();
    let (members, fetched) = s.members(&a, "c1").unwrap();
    assert_eq!(fetched, Some(t(100)));
    assert_eq!(
        members,
        [member("u1", "Adele", &["owner"]), member("u2", "zoe", &[])],
        "by name, case-insensitively, roles round-trip"
    );
    s.replace_members(&a, "c1", &[member("u3", "Carl", &[])], t(200))
        .unwrap();
    assert_eq!(
        s.members(&a, "c1").unwrap(),
        (vec![member("u3", "Carl", &[])], Some(t(200))),
        "replaced, not merged"
    );
    assert_eq!(s.members(&a, "c2").unwrap(), (vec![], None), "per channel");

    let mine = |id: &str, reply_to: Option<&str>, secs: i64| {
        let mut m = msg("c1", id, reply_to, secs, id);
        m.from_id = Some("me".into());
        m
    };
    let page = vec![
        mine("r1", None, 10),
        mine("r2", None, 20),
        msg("c1", "r3", None, 30, "not mine"),
        mine("x1", Some("r1"), 15),
        mine("x2", Some("r1"), 25),
        mine("x3", Some("r2"), 26),
    ];
    s.ingest(&a, "c1", &page, None).unwrap();
    let ids = |rows: Vec<MessageRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.messages_since(&a, "c1", None, "me", t(10)).unwrap()),
        ["r1", "r2"],
        "roots only, from the time on, mine only"
    );
    assert_eq!(
        ids(s.messages_since(&a, "c1", None, "me", t(11)).unwrap()),
        ["r2"]
    );
    assert_eq!(
        ids(s.messages_since(&a, "c1", Some("r1"), "me", t(0)).unwrap()),
        ["x1", "x2"],
        "one thread's replies"
    );
    assert_eq!(
        s.find_message(&a, "c1", "x2").unwrap(),
        Some(key("c1", "r1", "x2"))
    );
    assert_eq!(
        s.find_message(&a, "c1", "r2").unwrap(),
        Some(key("c1", "r2", "r2"))
    );
    assert_eq!(s.find_message(&a, "c1", "nope").unwrap(), None);
    assert!(s
        .messages_since(&a, "zz", None, "me", t(0))
        .unwrap()
        .is_empty());
}

backends!(
    members_and_messages_since,
    search_maintenance,
    teams_and_channels,
    roots_replies_and_threads,
    updates_tombstones_and_stale_rows,
    timeline_paging,
    counts_and_read_markers,
    search,
    drafts_settings_and_sync_state,
    account_cascade,
    hosted_cache_index,
);
