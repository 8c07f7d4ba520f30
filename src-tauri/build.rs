//! Build script: tauri-build with the app's commands declared (so each is permission-checked)
//! and the capabilities and permissions read from `src-tauri/` (the package root is the
//! workspace root, see TAURI-NOTES).

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/permissions");
    println!("cargo:rerun-if-changed=tauri.conf.json");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(
            tauri_build::AppManifest::new()
                .commands(perch_commands())
                .permissions_path_pattern("./src-tauri/permissions/**/*"),
        );
    tauri_build::try_build(attributes).expect("tauri-build failed");
}

/// Every command the shell exposes. Keep in sync with `commands::handler()`.
fn perch_commands() -> &'static [&'static str] {
    &[
        "app_info",
        "app_state",
        "sign_in",
        "cancel_sign_in",
        "sign_out",
        "switch_account",
        "subscribe_sidebar",
        "open_timeline",
        "load_older",
        "open_thread",
        "close_subscription",
        "view_channel",
        "attention",
        "mark_read",
        "set_followed",
        "refresh",
        "post",
        "reply",
        "edit_message",
        "delete_message",
        "undelete_message",
        "react",
        "unreact",
        "outbox_list",
        "outbox_retry",
        "outbox_cancel",
        "members",
        "search",
        "load_draft",
        "save_draft",
        "update_settings",
        "set_notify",
        "open_external",
        "diagnostics",
        "save_diagnostics_bundle",
        "update_status",
        "install_update",
    ]
}
