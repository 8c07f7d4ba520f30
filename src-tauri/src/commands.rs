//! The commands the UI may invoke. Each is declared in `build.rs` and granted in
//! `capabilities/default.json`; anything else is refused by Tauri.

use serde::Serialize;
use tauri::Runtime;

/// What the shell reports about itself.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppInfo {
    /// Product name.
    pub name: String,
    /// Semantic version of this build.
    pub version: String,
}

/// Errors as the UI sees them: a stable `code` to branch on and a message for people.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommandError {
    /// Stable, snake_case.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

/// Name and version of the app.
#[tauri::command]
pub fn app_info() -> AppInfo {
    AppInfo {
        name: "Perch".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// The invoke handler with every command.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![app_info]
}

#[cfg(test)]
mod tests {
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
    use tauri::webview::InvokeRequest;
    use tauri::WebviewWindowBuilder;

    fn request(cmd: &str) -> InvokeRequest {
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("static url"),
            body: InvokeBody::default(),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        }
    }

    fn window() -> tauri::WebviewWindow<tauri::test::MockRuntime> {
        // The real context: real capabilities, so permission checks are exercised.
        let app = crate::setup(mock_builder())
            .build(tauri::generate_context!())
            .expect("mock app builds");
        WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock window builds")
    }

    #[test]
    fn app_info_answers_with_name_and_version() {
        let window = window();
        let response = get_ipc_response(&window, request("app_info")).expect("granted");
        let info: serde_json::Value = response.deserialize().expect("json");
        assert_eq!(info["name"], "Perch");
        assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn a_command_that_does_not_exist_is_refused() {
        let window = window();
        assert!(get_ipc_response(&window, request("read_secrets")).is_err());
    }
}
