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
    let data = dir.to_path_buf();
    let start: crate::Starter = Box::new(move || {
        Ok(AppConfig {
            data_dir: DataDir::at(data),
            env: Vec::new(),
            secrets: Arc::new(MemoryStore::new()),
            opener: Arc::new(perch_auth::SystemOpener),
            allow_demo: true,
            demo_live: false,
            engine: perch_engine::EngineConfig::default(),
            policy: SettingsPolicy::default(),
            notices: Vec::new(),
        })
    });
    // The real context: real capabilities, so permission checks are exercised.
    let app = crate::setup(mock_builder())
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
    let (_app, w) = window(dir.path());
    // The demo tenant starts in-process; no account is signed in yet (the sign-in is started by
    // the app after setup, not in this test), so account commands answer `not_signed_in`.
    let state = call(&w, "app_state", json!({})).expect("app_state");
    assert_eq!(state["mode"], "demo");
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
