//! Builders shared by the integration tests.

use chrono::{DateTime, Duration, TimeZone, Utc};
use perch_core::{AccountId, Cloud, Hosts};
use perch_store::{
    AccountRecord, AccountState, AttachmentRow, CacheStore, ChannelRow, MentionRow, MessageKey,
    MessageRow, ReactionRow, Store, TeamRow,
};
use uuid::Uuid;

/// A store plus the temp dir that holds it (file backend).
pub struct Ctx {
    pub store: Store,
    pub account: AccountId,
    pub _dir: Option<tempfile::TempDir>,
}

pub fn file() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("perch.sqlite3")).unwrap();
    let account = add_account(&mut store);
    Ctx {
        store,
        account,
        _dir: Some(dir),
    }
}

pub fn memory() -> Ctx {
    let mut store = Store::open_in_memory().unwrap();
    let account = add_account(&mut store);
    Ctx {
        store,
        account,
        _dir: None,
    }
}

pub fn add_account(store: &mut Store) -> AccountId {
    let id = AccountId::new(Uuid::new_v4(), Uuid::new_v4());
    let now = Utc::now();
    store
        .upsert_account(&AccountRecord {
            id,
            display_name: "Ada Lovelace".into(),
            upn: "ada@contoso.com".into(),
            client_id: Uuid::new_v4(),
            cloud: Cloud::Global,
            hosts: Hosts::of_cloud(Cloud::Global),
            state: AccountState::SignedIn,
            state_reason: None,
            added_at: now,
            updated_at: now,
        })
        .unwrap();
    id
}

pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 9, 0, 0).unwrap() + Duration::seconds(secs)
}

pub fn team(id: &str, name: &str) -> TeamRow {
    TeamRow {
        id: id.into(),
        display_name: name.into(),
        description: None,
    }
}

pub fn channel(team: &str, id: &str, name: &str) -> ChannelRow {
    ChannelRow {
        team_id: team.into(),
        id: id.into(),
        display_name: name.into(),
        description: Some(format!("{name} channel")),
        membership_type: "standard".into(),
        web_url: Some(format!("https://teams.example/{id}")),
        followed: false,
    }
}

/// Team "t1" with channels "c1", "c2"; team "t2" with "c3".
pub fn standard_layout(s: &mut dyn CacheStore, account: &AccountId) {
    s.replace_teams(account, &[team("t1", "Alpha"), team("t2", "Beta")])
        .unwrap();
    s.replace_channels(
        account,
        "t1",
        &[channel("t1", "c1", "General"), channel("t1", "c2", "Dev")],
    )
    .unwrap();
    s.replace_channels(account, "t2", &[channel("t2", "c3", "General")])
        .unwrap();
}

/// A plain message: created at `t(secs)`, modified then too.
pub fn msg(ch: &str, id: &str, reply_to: Option<&str>, secs: i64, text: &str) -> MessageRow {
    MessageRow {
        team_id: if ch == "c3" { "t2".into() } else { "t1".into() },
        channel_id: ch.into(),
        id: id.into(),
        reply_to_id: reply_to.map(str::to_owned),
        message_type: "message".into(),
        created_at: t(secs),
        last_modified_at: t(secs),
        last_edited_at: None,
        deleted_at: None,
        subject: None,
        summary: None,
        importance: "normal".into(),
        from_id: Some("00000000-0000-0000-0000-00000000b0b0".into()),
        from_name: Some("Bob Builder".into()),
        from_kind: Some("user".into()),
        body_html: format!("<p>{text}</p>"),
        body_text: text.into(),
        web_url: None,
        etag: None,
        mentions_me: false,
        reactions: vec![],
        mentions: vec![],
        attachments: vec![],
        hosted: vec![],
    }
}

/// A message with every optional part filled.
pub fn full_msg(ch: &str, id: &str, secs: i64) -> MessageRow {
    let mut m = msg(ch, id, None, secs, "quarterly planning review");
    m.subject = Some("Planning".into());
    m.summary = Some("sum".into());
    m.importance = "high".into();
    m.last_edited_at = Some(t(secs + 5));
    m.last_modified_at = t(secs + 5);
    m.web_url = Some("https://teams.example/m".into());
    m.etag = Some("7".into());
    m.mentions_me = true;
    m.reactions = vec![
        ReactionRow {
            reaction_type: "like".into(),
            user_id: Some("u1".into()),
            display_name: Some("U One".into()),
            created_at: Some(t(secs + 1)),
        },
        ReactionRow {
            reaction_type: "❤".into(),
            user_id: None,
            display_name: None,
            created_at: None,
        },
    ];
    m.mentions = vec![MentionRow {
        mention_id: 0,
        text: "Ada".into(),
        user_id: Some("ada".into()),
        display_name: Some("Ada Lovelace".into()),
    }];
    m.attachments = vec![AttachmentRow {
        id: Some("att1".into()),
        content_type: "reference".into(),
        name: Some("plan.docx".into()),
        content_url: Some("https://files.example/plan.docx".into()),
        content: None,
        thumbnail_url: None,
    }];
    m.hosted = vec!["h1".into(), "h2".into()];
    m
}

pub fn key(ch: &str, root: &str, id: &str) -> MessageKey {
    MessageKey {
        channel_id: ch.into(),
        root_id: root.into(),
        id: id.into(),
    }
}

/// FTS5's own consistency check of the index against the content view.
pub fn fts_consistent(store: &Store) {
    store
        .connection()
        .execute_batch(
            "INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)",
        )
        .expect("full-text index matches the messages");
}

/// `backends!(a, b)` makes tests `file::a`, `memory::a`, … that run the scenario functions
/// `a`, `b` of the calling module on a fresh file database and a fresh in-memory one.
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod file {
            $( #[test] fn $name() { super::$name(crate::support::file()) } )*
        }
        mod memory {
            $( #[test] fn $name() { super::$name(crate::support::memory()) } )*
        }
    };
}
