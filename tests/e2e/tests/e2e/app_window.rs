//! The app window on a fresh machine: with no organisation configured it starts the demo
//! tenant in-process, signs in through the real PKCE flow, shows teams and channels and a
//! channel's messages; the page cannot reach commands the shell does not grant.

use std::time::Duration;

use perch_e2e::{scenario, Error};
use serde_json::Value;

/// The app's frame, there as soon as the UI mounted.
const FRAME: &str = r#"[data-testid="app-frame"]"#;
/// A channel in the sidebar.
const CHANNEL: &str = r#"[data-testid="channel"]"#;
/// A message card in the timeline.
const MESSAGE: &str = r#"[data-testid="message"]"#;
/// The demo banner.
const DEMO_BANNER: &str = r#"[data-testid="demo-banner"]"#;

/// How long the UI gets to load.
const UI_READY: Duration = Duration::from_secs(20);
/// How long the demo tenant gets to start, sign in and list teams and channels.
const DEMO_READY: Duration = Duration::from_secs(90);

/// The app and this crate both take their version from `[workspace.package]`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Calls `invoke(cmd)` in the page; answers `{"ok": bool, "value"|"error": …}`.
const INVOKE: &str = r#"
const [cmd, done] = arguments;
window.__TAURI_INTERNALS__.invoke(cmd).then(
  (value) => done({ ok: true, value }),
  (error) => done({ ok: false, error: typeof error === "string" ? error : JSON.stringify(error) }),
);
"#;

#[test]
fn the_demo_tenant_signs_in_and_shows_channels_and_messages() {
    scenario("demo", |app| {
        let session = app.session();
        session.wait_for_count(FRAME, 1, UI_READY)?;
        session.wait_for_count(DEMO_BANNER, 1, DEMO_READY)?;
        let channels = session.wait_for_count(CHANNEL, 5, DEMO_READY)?;
        println!("{channels} channels in the sidebar");
        let messages = session.wait_for_count(MESSAGE, 1, DEMO_READY)?;
        println!("{messages} messages rendered (only the visible rows are in the DOM)");

        let title = session.title()?;
        if title != "Perch" {
            return Err(Error::check(
                "check the document title",
                format!("it is {title:?}, not \"Perch\""),
            ));
        }
        let state = session.execute_async(INVOKE, vec!["app_state".into()])?;
        if state["value"]["mode"] != "demo" || state["value"]["activeAccount"].is_null() {
            return Err(Error::check(
                "read the app state",
                format!("expected a signed-in demo account, got {state}"),
            ));
        }
        session.settle()?;
        let (path, summary) = app.screenshot("demo-channel.png")?;
        println!("screenshot {} ({summary:?})", path.display());
        Ok(())
    });
}

#[test]
fn the_page_cannot_invoke_a_command_that_does_not_exist() {
    scenario("unknown-command", |app| {
        let session = app.session();
        // Wait for the UI first: before it loaded, `__TAURI_INTERNALS__` may not exist yet.
        session.wait_for_count(FRAME, 1, UI_READY)?;

        // The control: the same route reaches a granted command, so a rejection below is
        // the shell's refusal and not a broken script.
        let granted = session.execute_async(INVOKE, vec!["app_info".into()])?;
        if granted["ok"] != Value::Bool(true) || granted["value"]["version"] != VERSION {
            return Err(Error::check(
                "invoke `app_info` from the page",
                format!("answer: {granted}"),
            ));
        }

        for refused_cmd in [
            "read_secrets",
            "plugin:opener|open_url",
            "plugin:shell|execute",
        ] {
            let refused = session.execute_async(INVOKE, vec![refused_cmd.into()])?;
            if refused["ok"] != Value::Bool(false) {
                return Err(Error::check(
                    format!("invoke `{refused_cmd}` from the page"),
                    format!("it should be refused, but answered: {refused}"),
                ));
            }
            println!("`{refused_cmd}` refused: {}", refused["error"]);
        }
        Ok(())
    });
}
