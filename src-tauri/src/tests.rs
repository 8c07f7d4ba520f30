//! Mock-runtime tests of the shell: every command is declared, granted and answers through the
//! real capability set (the real `generate_context!()`), undeclared ones are refused, and the
//! app core behind them is the real one (demo tenant in-process, a real SQLite file).

use std::sync::Arc;

use perch_auth::MemoryStore;
use perch_client::{AppConfig, SettingsPolicy};
use perch_core::DataDir;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;

fn request(cmd: &str, body: Value) -> InvokeRequest {
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("static url"),
        body: InvokeBody::Json(body),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

fn window(dir: &std::path::Path) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    window_with(dir, Vec::new())
}

/// A window whose app is configured for an organisation that nobody is signed in to (its
/// hosts are a closed loopback port): unlike the demo tenant, which signs in by itself as soon
/// as it is up, nothing signs in here.
fn window_without_sign_in(
    dir: &std::path::Path,
) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    let env = [
        ("PERCH_TENANT", "00000000-0000-0000-0000-00000000e2e0"),
        ("PERCH_CLIENT_ID", "00000000-0000-0000-0000-00000000c11e"),
        ("PERCH_LOGIN_HOST", "http://127.0.0.1:9"),
        ("PERCH_GRAPH_HOST", "http://127.0.0.1:9"),
    ];
    window_with(
        dir,
        env.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn window_with(
    dir: &std::path::Path,
    env: Vec<(String, String)>,
) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    let data = dir.to_path_buf();
    let start: crate::Starter = Box::new(move || {
        Ok(AppConfig {
            data_dir: DataDir::at(data),
            env,
            secrets: Arc::new(MemoryStore::new()),
            opener: Arc::new(perch_auth::SystemOpener),
            allow_demo: true,
            demo_live: false,
            engine: perch_engine::EngineConfig::default(),
            policy: SettingsPolicy::default(),
            managed: perch_core::PolicyReport::default(),
            notices: Vec::new(),
        })
    });
    // The real context: real capabilities, so permission checks are exercised.
    let diagnostics = perch_client::Diagnostics {
        policy: Default::default(),
        log_dir: Some(dir.join("logs")),
    };
    let app = crate::setup(mock_builder(), diagnostics)
        .build(tauri::generate_context!())
        .expect("mock app builds");
    crate::start_core(app.handle(), start);
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("mock window builds");
    (app, window)
}

fn call(w: &tauri::WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
    get_ipc_response(w, request(cmd, body)).map(|r| r.deserialize::<Value>().expect("json"))
}

#[test]
fn app_info_answers_with_name_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = window(dir.path());
    let info = call(&w, "app_info", json!({})).expect("granted");
    assert_eq!(info["name"], "Perch");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_command_that_does_not_exist_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = window(dir.path());
    assert!(call(&w, "read_secrets", json!({})).is_err());
    // A plugin command the UI was not granted.
    assert!(call(
        &w,
        "plugin:opener|open_url",
        json!({"url": "https://example.com"})
    )
    .is_err());
    assert!(call(
        &w,
        "plugin:notification|notify",
        json!({"options": {"title": "x"}})
    )
    .is_err());
}

#[test]
fn every_declared_command_is_granted_and_reaches_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = window_without_sign_in(dir.path());
    // An organisation nobody is signed in to: account commands answer `not_signed_in`.
    let state = call(&w, "app_state", json!({})).expect("app_state");
    assert_eq!(state["mode"], "organisation");
    assert_eq!(state["version"], env!("CARGO_PKG_VERSION"));
    for (cmd, body) in [
        ("members", json!({"channelId": "19:x@thread.tacv2"})),
        (
            "search",
            json!({"text": "x", "channelId": null, "limit": 5}),
        ),
        ("outbox_list", json!({})),
        ("mark_read", json!({"channelId": "c"})),
        ("load_draft", json!({"channelId": "c", "rootId": null})),
    ] {
        let refused = call(&w, cmd, body).expect_err(cmd);
        assert_eq!(refused["code"], "not_signed_in", "{cmd}: {refused}");
    }
    // Bad input is refused with a code and a message.
    let bad = call(&w, "open_external", json!({"url": "javascript:alert(1)"})).unwrap_err();
    assert_eq!(bad["code"], "invalid_value");
    let bad = call(
        &w,
        "sign_out",
        json!({"accountId": "nobody", "purge": false}),
    )
    .unwrap_err();
    assert_eq!(bad["code"], "invalid_value");
    // Commands with no account to act on still answer.
    call(&w, "view_channel", json!({"channelId": null})).expect("view_channel");
    call(&w, "attention", json!({"visible": true, "input": true})).expect("attention");
    call(&w, "close_subscription", json!({"subscription": 42})).expect("close");
}

/// Every command `build.rs` declares, with arguments of the right shape.
fn every_command() -> Vec<(&'static str, Value)> {
    let c = "19:x@thread.tacv2";
    let draft = json!({"blocks": [{"type": "paragraph", "inlines": [
        {"type": "text", "text": "hi", "bold": false, "italic": false, "strike": false, "code": false}]}]});
    vec![
        ("app_info", json!({})),
        ("app_state", json!({})),
        ("cancel_sign_in", json!({})),
        ("sign_out", json!({"accountId": "x", "purge": false})),
        ("switch_account", json!({"accountId": "x"})),
        ("load_older", json!({"subscription": 1, "count": 10})),
        ("close_subscription", json!({"subscription": 1})),
        ("view_channel", json!({"channelId": c})),
        ("attention", json!({"visible": false, "input": false})),
        ("mark_read", json!({"channelId": c})),
        ("set_followed", json!({"channelId": c, "followed": true})),
        ("refresh", json!({})),
        (
            "post",
            json!({"channelId": c, "draft": draft, "subject": null, "importance": null}),
        ),
        (
            "reply",
            json!({"channelId": c, "rootId": "1", "draft": draft}),
        ),
        (
            "edit_message",
            json!({"channelId": c, "messageId": "1", "draft": draft}),
        ),
        ("delete_message", json!({"channelId": c, "messageId": "1"})),
        (
            "undelete_message",
            json!({"channelId": c, "messageId": "1"}),
        ),
        (
            "react",
            json!({"channelId": c, "messageId": "1", "reaction": "like"}),
        ),
        (
            "unreact",
            json!({"channelId": c, "messageId": "1", "reaction": "like"}),
        ),
        ("outbox_list", json!({})),
        ("outbox_retry", json!({"id": 1})),
        ("outbox_cancel", json!({"id": 1})),
        ("members", json!({"channelId": c})),
        (
            "search",
            json!({"text": "x", "channelId": null, "limit": 5}),
        ),
        ("load_draft", json!({"channelId": c, "rootId": null})),
        (
            "save_draft",
            json!({"draft": {"channelId": c, "rootId": null, "draft": draft, "subject": null, "importance": null}}),
        ),
        (
            "update_settings",
            json!({"settings": {"theme": "dark", "quietHours": null, "viewIntervalSecs": 1,
            "followedIntervalSecs": 300, "notificationPreviews": true, "locked": [],
            "minViewIntervalSecs": 15, "minFollowedIntervalSecs": 60, "policyFloors": []}}),
        ),
        ("set_notify", json!({"channelId": c, "level": "all"})),
        ("open_external", json!({"url": "file:///etc/passwd"})),
        ("diagnostics", json!({})),
        ("update_status", json!({})),
        ("install_update", json!({})),
    ]
}

#[test]
fn every_command_is_granted_and_answers_in_the_app_s_terms() {
    // (sign_in and the three stream openers need a browser or a live Channel; the demo and
    // e2e tests cover them.)
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = window(dir.path());
    for (cmd, body) in every_command() {
        match call(&w, cmd, body) {
            Ok(_) => {}
            // An answer from the app core: `{code, message}`. Tauri's own refusals (not
            // granted, bad arguments) are plain strings.
            Err(e) => assert!(
                e["code"].is_string() && e["message"].is_string(),
                "{cmd}: refused by the shell rather than answered: {e}"
            ),
        }
    }
    let declared = include_str!("../build.rs");
    for (cmd, _) in every_command() {
        assert!(
            declared.contains(&format!("\"{cmd}\"")),
            "{cmd} is declared"
        );
    }
}

#[test]
fn diagnostics_reports_every_check_and_saves_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = window(dir.path());
    let report = call(&w, "diagnostics", json!({})).expect("diagnostics");
    let findings = report["findings"].as_array().expect("findings");
    for id in [
        "config", "policy", "keyring", "database", "disk", "versions",
    ] {
        let f = findings
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("no {id}: {report}"));
        assert!(
            matches!(f["status"].as_str(), Some("pass" | "warn" | "fail")),
            "{f}"
        );
        assert!(f["title"].is_string() && f["detail"].is_string(), "{f}");
    }
    // The demo tenant is the organisation here: its login host answers on loopback.
    let login = findings.iter().find(|f| f["id"] == "reach.login").unwrap();
    assert_eq!(login["status"], "pass", "{login}");
    assert!(report["worst"].is_string());
    let saved = call(&w, "save_diagnostics_bundle", json!({})).expect("bundle");
    let path = std::path::PathBuf::from(saved["path"].as_str().expect("path"));
    assert!(path.is_file(), "{path:?}");
    assert!(path.extension().is_some_and(|e| e == "zip"));
    let _ = std::fs::remove_file(path);
}

#[test]
fn the_updater_is_reached_only_through_the_shell_s_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (app, w) = window(dir.path());
    // Before the updater is started (tests never start a real check), it is off.
    let status = call(&w, "update_status", json!({})).expect("update_status");
    assert_eq!(status["state"], "off", "{status}");
    // As decided for a system package: off, saying why.
    crate::updater::start(
        app.handle(),
        crate::updater::UpdaterDecision::Off(crate::updater::OffReason::SystemPackage),
    );
    let status = call(&w, "update_status", json!({})).expect("update_status");
    assert_eq!(status["state"], "off");
    assert!(status["reason"]
        .as_str()
        .unwrap()
        .contains("package manager"));
    // Nothing downloaded: nothing to install.
    let refused = call(&w, "install_update", json!({})).unwrap_err();
    assert_eq!(refused["code"], "no_update", "{refused}");
    // The plugin's own commands are not granted to the web view.
    for (cmd, body) in [
        ("plugin:updater|check", json!({})),
        ("plugin:updater|download_and_install", json!({"rid": 1})),
        ("plugin:updater|install", json!({"rid": 1})),
    ] {
        let refused = call(&w, cmd, body).expect_err(cmd);
        assert!(refused.is_string(), "{cmd}: refused by Tauri: {refused}");
    }
}

#[test]
fn navigation_stays_in_the_app() {
    let ok = |u: &str| crate::is_app_url(&u.parse().unwrap());
    assert!(ok("tauri://localhost/index.html"));
    assert!(ok("http://tauri.localhost/"));
    assert!(!ok("https://evil.example/"));
    assert!(!ok("http://tauri.localhost.evil.example/"));
    assert!(!ok("javascript:alert(1)"));
    assert!(!ok("file:///etc/passwd"));
    assert!(!ok("perch-media://localhost/x"));
}
