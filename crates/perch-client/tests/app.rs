//! The app core as the window uses it, against the real demo tenant (the emulator in-process,
//! over loopback HTTP) and a real SQLite file: demo sign-in through the real PKCE flow, the
//! sidebar and timeline streams, a post's local echo replaced in place by the server's message
//! (once), search, drafts, the media scheme's checks, a colleague's mention raising one
//! notification, and sign-out.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use perch_auth::MemoryStore;
use perch_client::dto::*;
use perch_client::{App, AppConfig, Events, Notification, SettingsPolicy};
use perch_core::compose::{Block, Draft, Inline};
use perch_core::DataDir;
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[derive(Default)]
struct Recorder {
    statuses: Mutex<Vec<StatusDto>>,
    notifications: Mutex<Vec<Notification>>,
    accounts_changed: Mutex<usize>,
}

impl Events for Recorder {
    fn status(&self, status: &StatusDto) {
        self.statuses.lock().push(status.clone());
    }
    fn accounts_changed(&self) {
        *self.accounts_changed.lock() += 1;
    }
    fn notify(&self, n: &Notification) {
        self.notifications.lock().push(n.clone());
    }
}

async fn start(dir: &std::path::Path, events: Arc<Recorder>) -> App {
    start_with_policy(dir, events, perch_core::PolicyReport::default()).await
}

async fn start_with_policy(
    dir: &std::path::Path,
    events: Arc<Recorder>,
    managed: perch_core::PolicyReport,
) -> App {
    let config = AppConfig {
        data_dir: DataDir::at(dir.to_path_buf()),
        env: Vec::new(),
        secrets: Arc::new(MemoryStore::new()),
        opener: Arc::new(perch_auth::SystemOpener),
        allow_demo: true,
        demo_live: false,
        engine: perch_engine::EngineConfig::default(),
        policy: SettingsPolicy::default(),
        managed,
        notices: Vec::new(),
    };
    App::start(config, events).await.expect("app starts")
}

fn text_draft(s: &str) -> Draft {
    Draft {
        blocks: vec![Block::Paragraph {
            inlines: vec![Inline::Text {
                text: s.into(),
                bold: false,
                italic: false,
                strike: false,
                code: false,
            }],
        }],
    }
}

fn sink<T: Send + 'static>() -> (perch_client::Sink<T>, mpsc::UnboundedReceiver<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(move |t: T| tx.send(t).is_ok()), rx)
}

fn apply(items: &mut Vec<MessageDto>, b: &TimelineBatchDto) {
    for d in &b.diffs {
        match d {
            TimelineDiffDto::Reset { items: all } => *items = all.clone(),
            TimelineDiffDto::Insert { item } => {
                assert!(
                    items.iter().all(|i| i.key.id != item.key.id),
                    "inserted twice: {}",
                    item.key.id
                );
                items.push(item.clone())
            }
            TimelineDiffDto::Update { item } => {
                if let Some(i) = items.iter_mut().find(|i| i.key.id == item.key.id) {
                    *i = item.clone();
                }
            }
            TimelineDiffDto::Remove { key } => items.retain(|i| i.key.id != key.id),
            TimelineDiffDto::Replace { key, item } => {
                if let Some(i) = items.iter_mut().find(|i| i.key.id == key.id) {
                    *i = item.clone();
                }
            }
        }
    }
}

/// Applies batches until the items satisfy `f`.
async fn until_items(
    rx: &mut mpsc::UnboundedReceiver<TimelineBatchDto>,
    items: &mut Vec<MessageDto>,
    what: &str,
    f: impl Fn(&[MessageDto]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !f(items) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(b)) => apply(items, &b),
            Ok(None) => panic!("stream ended waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

async fn admin(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let client = reqwest::Client::new();
    let mut request = client.request(method, format!("{base}/_emulator{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin call");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "admin {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_end_to_end_through_the_app_core() {
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Recorder::default());
    let app = start(dir.path(), events.clone()).await;

    // Fresh: demo mode, nobody signed in, and commands say so.
    let state = app.state().await.unwrap();
    assert_eq!(state.mode, ModeDto::Demo);
    assert!(state.accounts.is_empty());
    assert_eq!(state.status.sync, SyncStateDto::SignedOut);
    assert_eq!(app.outbox().await.unwrap_err().code, "not_signed_in");

    // The demo signs in through the real PKCE flow and follows a few channels.
    app.demo_sign_in_if_needed().await.expect("demo sign-in");
    let state = app.state().await.unwrap();
    let me = state.active_account.clone().expect("an active account");
    assert_eq!(state.accounts.len(), 1);
    assert_eq!(state.accounts[0].state, AccountStateDto::SignedIn);
    assert!(*events.accounts_changed.lock() >= 1);
    let base = app.demo_base_url().await.expect("demo runs");

    // The sidebar: a reset with teams, four followed channels.
    let (side_sink, mut side) = sink::<Vec<SidebarDiffDto>>();
    app.subscribe_sidebar(side_sink).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(30), side.recv())
        .await
        .expect("the sidebar answers")
        .expect("a first batch");
    let SidebarDiffDto::Reset { teams } = &first[0] else {
        unreachable!()
    };
    assert!(teams.len() >= 2, "teams: {}", teams.len());
    let followed: Vec<&ChannelDto> = teams
        .iter()
        .flat_map(|t| &t.channels)
        .filter(|c| c.followed)
        .collect();
    assert_eq!(followed.len(), 4, "the demo follows four channels");
    let channel = followed[0].clone();
    let other = followed[1].clone();
    let team_name = teams
        .iter()
        .find(|t| t.id == other.team_id)
        .unwrap()
        .name
        .clone();

    // The timeline: a reset, then the channel's messages once it synced (it is in view).
    let (tl_sink, mut tl) = sink::<TimelineBatchDto>();
    let sub = app.open_timeline(&channel.id, tl_sink).await.unwrap();
    let mut items: Vec<MessageDto> = Vec::new();
    until_items(&mut tl, &mut items, "the channel's messages", |i| {
        !i.is_empty()
    })
    .await;
    assert_eq!(sub, 2, "the sidebar was subscription 1");
    for m in &items {
        assert!(!m.html.contains("<script"), "sanitised html");
        assert!(!m.local);
    }

    // Post: the echo appears at once, then is replaced in place by the server's message.
    let words = format!("perch-client end to end {}", uuid::Uuid::new_v4().simple());
    let outbox_id = app
        .post(&channel.id, text_draft(&words), Some("Hello".into()), None)
        .await
        .unwrap();
    assert!(outbox_id > 0);
    until_items(&mut tl, &mut items, "the local echo", |i| {
        i.iter().any(|m| m.local)
    })
    .await;
    let echo_item = items.iter().find(|i| i.local).unwrap().clone();
    assert!(echo_item.mine);
    assert_eq!(echo_item.subject.as_deref(), Some("Hello"));
    assert_eq!(echo_item.pending[0].outbox_id, outbox_id);
    until_items(&mut tl, &mut items, "the echo replaced", |i| {
        i.iter().all(|m| !m.local) && i.iter().any(|m| m.text.contains(&words))
    })
    .await;
    let sent: Vec<&MessageDto> = items.iter().filter(|i| i.text.contains(&words)).collect();
    assert_eq!(sent.len(), 1, "exactly one row for the post");
    assert!(!sent[0].local && sent[0].pending.is_empty());
    let server_id = sent[0].key.id.clone();

    // Offline search finds it, with names for the result list.
    let hits = app.search(&words, None, 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].key.id, server_id);
    assert_eq!(hits[0].channel_name, channel.name);
    assert!(hits[0].snippet.iter().any(|p| p.highlight));

    // React, then the reaction shows as mine.
    app.react(&channel.id, &server_id, "like").await.unwrap();
    until_items(&mut tl, &mut items, "my reaction", |i| {
        i.iter()
            .any(|m| m.key.id == server_id && m.reactions.iter().any(|r| r.mine && r.emoji == "👍"))
    })
    .await;

    // Drafts survive and clear.
    let saved = SavedDraftDto {
        channel_id: channel.id.clone(),
        root_id: None,
        draft: text_draft("half a thought"),
        subject: Some("Later".into()),
        importance: None,
    };
    app.save_draft(&saved).unwrap();
    assert_eq!(
        app.load_draft(&channel.id, None).unwrap(),
        Some(saved.clone())
    );
    app.save_draft(&SavedDraftDto {
        draft: Draft::default(),
        subject: None,
        ..saved
    })
    .unwrap();
    assert_eq!(app.load_draft(&channel.id, None).unwrap(), None);

    // Media: an inline image of a cached message is served as a PNG; a path naming an image
    // the message does not show is refused.
    let with_image = items
        .iter()
        .find(|i| i.html.contains("perch-media://localhost/"));
    if let Some(m) = with_image {
        let start =
            m.html.find("perch-media://localhost").unwrap() + "perch-media://localhost".len();
        let end = start + m.html[start..].find('"').unwrap();
        let path = m.html[start..end].replace("&amp;", "&");
        let media = app.media(&path).await.expect("image served");
        assert_eq!(media.content_type, "image/png");
        let again = app.media(&path).await.expect("from the cache");
        assert_eq!(again.bytes, media.bytes);
        let (head, hosted) = path.rsplit_once('/').unwrap();
        let forged = format!("{head}/{hosted}x");
        assert_eq!(
            app.media(&forged).await.unwrap_err().code,
            "media_not_found"
        );
    }
    assert_eq!(
        app.media("/someone.else/hosted/a/b/c/-/d")
            .await
            .unwrap_err()
            .code,
        "media_not_found"
    );

    // A colleague mentions me in another followed channel (not in view): one notification.
    let tenant = admin(&base, reqwest::Method::GET, "/tenant", None).await;
    let users = tenant["users"].as_array().unwrap();
    let my_user = me.split('.').nth(1).unwrap();
    let my_upn = users.iter().find(|u| u["id"] == my_user).unwrap()["upn"]
        .as_str()
        .unwrap()
        .to_owned();
    let colleague = users.iter().find(|u| u["id"] != my_user).unwrap()["upn"]
        .as_str()
        .unwrap()
        .to_owned();
    app.set_notify(&other.id, NotifyLevelDto::Mentions).unwrap();
    admin(
        &base,
        reqwest::Method::POST,
        "/act",
        Some(json!({
            "as": colleague, "kind": "post", "team": other.team_id, "channel": other.id,
            "body": "<p><at id=\"0\">You</at> can you review the rollout plan?</p>",
            "mentions": [my_upn],
        })),
    )
    .await;
    // Bring the channel's round forward (the person clicked it in the sidebar and back).
    app.view_channel(Some(&other.id));
    app.view_channel(Some(&channel.id));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if !events.notifications.lock().is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notification came"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    {
        let notes = events.notifications.lock();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].mention);
        assert!(notes[0].title.contains(&team_name), "{}", notes[0].title);
        assert!(notes[0].body.contains("rollout plan"));
        assert_eq!(notes[0].target.channel_id, other.id);
    }

    // Status events arrived and say who they are for.
    assert!(events
        .statuses
        .lock()
        .iter()
        .any(|s| s.account_id.as_deref() == Some(me.as_str())));

    // Closing a subscription ends it; a reloaded page ends them all.
    let before = app.subscription_count();
    app.close_subscription(sub);
    assert_eq!(app.subscription_count(), before - 1);
    app.close_all_subscriptions();
    assert_eq!(app.subscription_count(), 0);

    // Sign out: no active account, commands say so, the status says signed out.
    app.sign_out(&me, false).await.unwrap();
    let state = app.state().await.unwrap();
    assert_eq!(state.active_account, None);
    assert_eq!(state.accounts[0].state, AccountStateDto::SignedOut);
    assert_eq!(
        app.search("x", None, 5).await.unwrap_err().code,
        "not_signed_in"
    );
    assert_eq!(
        events.statuses.lock().last().unwrap().sync,
        SyncStateDto::SignedOut
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_code_and_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(dir.path(), Arc::new(Recorder::default())).await;
    app.demo_sign_in_if_needed().await.unwrap();
    let empty = app
        .post("19:nope@thread.tacv2", Draft::default(), None, None)
        .await
        .unwrap_err();
    assert_eq!(empty.code, "unknown_channel");
    assert!(!empty.message.is_empty());
    let bad = app.load_older(999, 10).await.unwrap_err();
    assert_eq!(bad.code, "invalid_value");
    let mut settings = app.state().await.unwrap().settings;
    settings.view_interval_secs = 1;
    assert_eq!(
        app.update_settings(&settings).unwrap_err().code,
        "invalid_value"
    );
    settings.view_interval_secs = 30;
    settings.theme = ThemeDto::Dark;
    assert_eq!(
        app.update_settings(&settings).unwrap().theme,
        ThemeDto::Dark
    );
    assert_eq!(app.state().await.unwrap().settings.theme, ThemeDto::Dark);
    assert_eq!(
        app.switch_account("not-an-id").await.unwrap_err().code,
        "invalid_value"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reuses_the_demo_tenant_and_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(dir.path(), Arc::new(Recorder::default())).await;
    app.demo_sign_in_if_needed().await.unwrap();
    let first = app.state().await.unwrap();
    let base = app.demo_base_url().await.unwrap();
    app.shutdown().await;
    // As if the first run had been closed before it listed teams and channels.
    {
        use perch_store::CacheStore;
        let mut store =
            perch_store::Store::open(&DataDir::at(dir.path().to_path_buf()).database()).unwrap();
        let account: perch_core::AccountId = first.active_account.clone().unwrap().parse().unwrap();
        store.replace_teams(&account, &[]).unwrap();
        assert!(store.teams(&account).unwrap().is_empty());
    }

    let app = start(dir.path(), Arc::new(Recorder::default())).await;
    assert_eq!(app.demo_base_url().await.unwrap(), base, "the same port");
    let again = app.state().await.unwrap();
    assert_eq!(
        again.active_account, first.active_account,
        "the account is remembered"
    );
    // The refresh token lived in memory only (this test's custody), so the demo signs in again,
    // and what could not be fetched while signed out (teams and channels) comes right after.
    app.demo_sign_in_if_needed().await.unwrap();
    let state = app.state().await.unwrap();
    assert_eq!(
        state.accounts.len(),
        1,
        "the same account, not a second one"
    );
    let (side_sink, mut side) = sink::<Vec<SidebarDiffDto>>();
    app.subscribe_sidebar(side_sink).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let batch = tokio::time::timeout_at(deadline, side.recv())
            .await
            .expect("teams and channels arrive after the sign-in")
            .unwrap();
        if batch
            .iter()
            .any(|d| matches!(d, SidebarDiffDto::Reset { teams } if !teams.is_empty()))
        {
            break;
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_demo_tenant_is_moved_aside_and_stray_images_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("demo")).unwrap();
    std::fs::write(dir.path().join("demo/demo-tenant.json"), "{ not json").unwrap();
    std::fs::create_dir_all(dir.path().join("media")).unwrap();
    let stray = dir.path().join("media/0123abcd");
    std::fs::write(&stray, b"\x89PNG\r\n\x1a\nsomeone's image").unwrap();
    let app = start(dir.path(), Arc::new(Recorder::default())).await;
    let state = app.state().await.unwrap();
    assert_eq!(state.mode, ModeDto::Demo);
    assert!(
        state
            .config_problems
            .iter()
            .any(|p| p.contains("could not be read") && p.contains("damaged")),
        "{:?}",
        state.config_problems
    );
    assert!(
        !stray.exists(),
        "an image no account owns is deleted at start"
    );
    app.demo_sign_in_if_needed()
        .await
        .expect("the fresh demo tenant signs in");
    app.shutdown().await;
}

/// The managed policy's `demo_mode: false`: with no organisation configured, the demo tenant
/// never starts, the app says an organisation must be configured, sign-in refuses with that
/// message, and the policy's refused keys reach the UI's state (key and reason) while its sound
/// keys (the locked previews, the raised minimum) apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_without_demo_mode_never_starts_the_demo_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let managed = perch_core::policy::parse_json(
        r#"{"demo_mode": false, "cloud": "mars", "notification_previews": false,
            "min_followed_interval_secs": 600}"#,
        "/etc/perch/policy.json",
    );
    let app = start_with_policy(dir.path(), Arc::new(Recorder::default()), managed).await;
    let state = app.state().await.unwrap();
    assert_eq!(state.mode, ModeDto::Organisation);
    assert!(
        state
            .config_problems
            .iter()
            .any(|p| p.contains("policy turns the demo off") && p.contains("client_id")),
        "{:?}",
        state.config_problems
    );
    assert_eq!(app.demo_base_url().await, None);
    assert!(
        !dir.path().join("demo").exists(),
        "no demo tenant was started"
    );
    let refused = app.sign_in().await.unwrap_err();
    assert_eq!(refused.code, "config_missing");
    assert!(
        refused.message.contains("policy turns the demo off"),
        "{refused:?}"
    );

    assert_eq!(
        state.policy.source.as_deref(),
        Some("/etc/perch/policy.json")
    );
    assert_eq!(state.policy.problems.len(), 1);
    assert_eq!(state.policy.problems[0].key, "cloud");
    assert!(state.policy.problems[0].reason.contains("`mars`"));
    assert_eq!(app.policy_report().policy.demo_mode, Some(false));
    assert!(!state.settings.notification_previews);
    assert_eq!(state.settings.locked, vec!["notificationPreviews"]);
    assert_eq!(state.settings.min_followed_interval_secs, 600);
    assert_eq!(state.settings.policy_floors, vec!["followedIntervalSecs"]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_check_the_demo_tenant_and_save_a_redacted_bundle() {
    use perch_client::dto::FindingStatusDto;
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Recorder::default());
    let app = start(&dir.path().join("data"), events).await;
    app.demo_sign_in_if_needed().await.expect("demo sign-in");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("perch.2026-12-04.log"),
        "DEBUG x: refresh_token=0.AXYAsecretsecretsecretsecret body=\"a private message\"\n",
    )
    .unwrap();
    let diag = perch_client::Diagnostics {
        policy: Default::default(),
        log_dir: Some(logs),
    };
    let report = app.diagnostics(&diag).await.unwrap();
    let status = |id: &str| {
        report
            .findings
            .iter()
            .find(|f| f.id == id || f.id.starts_with(&format!("{id}.")))
            .unwrap_or_else(|| panic!("no {id}: {report:#?}"))
            .status
    };
    // The demo tenant is the configuration (a warning: not the person's organisation); its
    // loopback emulator answers; the signed-in demo account has every permission.
    assert_eq!(status("config"), FindingStatusDto::Warn);
    for id in [
        "reach.login",
        "reach.graph",
        "clock",
        "scopes",
        "database",
        "disk",
    ] {
        assert_eq!(status(id), FindingStatusDto::Pass, "{id}: {report:#?}");
    }
    let out = dir.path().join("out");
    let bundle = app
        .save_diagnostics_bundle(&diag, Some(out.clone()))
        .await
        .unwrap();
    assert!(bundle.path.starts_with(out.to_str().unwrap()), "{bundle:?}");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&bundle.path).unwrap()).unwrap();
    let mut all = String::new();
    for n in 0..zip.len() {
        zip.by_index(n).unwrap().read_to_string(&mut all).unwrap();
    }
    assert!(all.contains("Sign-in service"), "{all}");
    assert!(
        !all.contains("0.AXYAsecret") && !all.contains("private message"),
        "{all}"
    );
    app.shutdown().await;
}
