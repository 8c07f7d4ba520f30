//! The Tauri shell: builds the app (generic over the runtime, so `tauri::test` can drive it),
//! registers the commands and owns nothing else. Commands are thin: they take state, call one
//! core method and map errors to `{code, message}` for the UI.

pub mod commands;

use tauri::{Builder, Runtime};

/// Adds every command and plugin to a builder, for any runtime (`tauri::test::mock_builder()`
/// in tests, `Builder::default()` in the app).
pub fn setup<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder.invoke_handler(commands::handler())
}

/// Runs the desktop app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PERCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if std::env::args().any(|a| a == "--version" || a == "-V") {
        println!("perch {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if let Err(error) = setup(Builder::<tauri::Wry>::default()).run(tauri::generate_context!()) {
        tracing::error!(%error, "Perch could not start");
        std::process::exit(1);
    }
}
