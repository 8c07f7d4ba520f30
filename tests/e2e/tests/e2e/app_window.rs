//! The app window loads the bundled UI and the shell answers it; the page cannot reach
//! commands the shell does not grant.

use std::time::Duration;

use perch_e2e::{scenario, Error};
use serde_json::Value;

/// The UI's status line, which shows the version once the `app_info` command answered.
const STATUS: &str = r#"[data-testid="app-status"]"#;

/// How long the UI gets to load and hear back from the shell.
const UI_READY: Duration = Duration::from_secs(20);

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
fn the_app_window_loads_the_ui_and_the_shell_answers() {
    scenario("app-window", |app| {
        let session = app.session();
        session.wait_for_text(STATUS, &format!("Version {VERSION}"), UI_READY)?;

        let title = session.title()?;
        if title != "Perch" {
            return Err(Error::check(
                "check the document title",
                format!("it is {title:?}, not \"Perch\""),
            ));
        }

        let (path, summary) = app.screenshot("app-window.png")?;
        println!("screenshot {} ({summary:?})", path.display());
        Ok(())
    });
}

#[test]
fn the_page_cannot_invoke_a_command_that_does_not_exist() {
    scenario("unknown-command", |app| {
        let session = app.session();
        // Wait for the UI first: before it loaded, `__TAURI_INTERNALS__` may not exist yet.
        session.wait_for_text(STATUS, &format!("Version {VERSION}"), UI_READY)?;

        // The control: the same route reaches a granted command, so a rejection below is
        // the shell's refusal and not a broken script.
        let granted = session.execute_async(INVOKE, vec!["app_info".into()])?;
        if granted["ok"] != Value::Bool(true) || granted["value"]["version"] != VERSION {
            return Err(Error::check(
                "invoke `app_info` from the page",
                format!("answer: {granted}"),
            ));
        }

        let refused = session.execute_async(INVOKE, vec!["read_secrets".into()])?;
        if refused["ok"] != Value::Bool(false) {
            return Err(Error::check(
                "invoke `read_secrets` from the page",
                format!("it should be refused, but answered: {refused}"),
            ));
        }
        println!("`read_secrets` refused: {}", refused["error"]);
        Ok(())
    });
}
