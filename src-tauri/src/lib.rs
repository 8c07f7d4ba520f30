//! The Tauri shell: the only code that knows Tauri. It builds the app (generic over the runtime,
//! so `tauri::test` can drive it), starts [`perch_client::App`] in the background, and exposes it
//! through thin commands ([`commands`]), the `perch-media:` scheme (inline images, served from
//! the app core with the account's token, which never reaches the web view), events for small
//! global state (`status`, `accounts-changed`), desktop notifications, and the guards: the web
//! view never navigates away from the app (links go to the system browser), and only declared,
//! granted commands can be called. `perch --version` and `--help` answer before any of that
//! ([`args`]); the in-app updater is [`updater`].

pub mod args;
pub mod commands;
pub mod updater;

use std::sync::Arc;

use perch_auth::{KeyringStore, MemoryStore, SecretStore, SystemOpener};
use perch_client::dto::StatusDto;
use perch_client::{App, AppConfig, AppError, Diagnostics, Events, Notification, SettingsPolicy};
use perch_core::{DataDir, Platform};
use tauri::http::{header, Response, StatusCode};
use tauri::{AppHandle, Builder, Emitter, Manager, Runtime};
use tokio::sync::watch;

/// The app core once started, or why it could not start (`None` while starting).
type Started = Option<Result<App, AppError>>;

/// The app core, once started (or why it could not start).
pub struct Shell {
    rx: watch::Receiver<Started>,
    tx: std::sync::Mutex<Option<watch::Sender<Started>>>,
    /// The policy the app started with and its log folder, for the Diagnostics page.
    pub diagnostics: Diagnostics,
}

impl Shell {
    /// The app core if it has started.
    pub fn ready(&self) -> Option<App> {
        match &*self.rx.borrow() {
            Some(Ok(app)) => Some(app.clone()),
            _ => None,
        }
    }

    /// Waits for the app core to be ready.
    pub async fn app(&self) -> Result<App, AppError> {
        let mut rx = self.rx.clone();
        loop {
            if let Some(result) = rx.borrow_and_update().clone() {
                return result;
            }
            if rx.changed().await.is_err() {
                return Err(AppError::new("app_stopped", "Perch is shutting down."));
            }
        }
    }
}

/// Forwards the app core's events to the window.
struct WindowEvents<R: Runtime> {
    handle: AppHandle<R>,
}

impl<R: Runtime> Events for WindowEvents<R> {
    fn status(&self, status: &StatusDto) {
        if let Err(error) = self.handle.emit("status", status) {
            tracing::debug!(%error, "status not delivered");
        }
    }

    fn accounts_changed(&self) {
        let _ = self.handle.emit("accounts-changed", ());
    }

    fn notify(&self, n: &Notification) {
        // On Linux the plugin cannot tell when a notification is activated; notify-rust (what
        // the plugin uses there) can: a thread waits for the daemon's ActionInvoked.
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            show_with_activation(self.handle.clone(), n);
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        self.notify_with_plugin(n);
    }
}

impl<R: Runtime> WindowEvents<R> {
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    fn notify_with_plugin(&self, n: &Notification) {
        use tauri_plugin_notification::NotificationExt;
        if self
            .handle
            .try_state::<tauri_plugin_notification::Notification<R>>()
            .is_none()
        {
            return;
        }
        if let Err(error) = self
            .handle
            .notification()
            .builder()
            .title(&n.title)
            .body(&n.body)
            .show()
        {
            tracing::warn!(%error, "could not show a notification");
        }
    }
}

/// Shows a desktop notification through the session bus's notification daemon with a default
/// action; activating it (a click on the bubble) focuses the window and opens the message.
/// The waiting thread ends when the daemon closes the notification.
#[cfg(all(unix, not(target_os = "macos")))]
fn show_with_activation<R: Runtime>(handle: AppHandle<R>, n: &Notification) {
    let (title, body, target) = (n.title.clone(), n.body.clone(), n.target.clone());
    let spawned = std::thread::Builder::new()
        .name("notification".to_owned())
        .spawn(move || {
            let shown = notify_rust::Notification::new()
                .appname("Perch")
                .summary(&title)
                .body(&body)
                .action("default", "Open")
                .show();
            match shown {
                Ok(shown) => shown.wait_for_action(|action| {
                    if action == "default" {
                        activate(&handle, &target);
                    }
                }),
                Err(error) => tracing::warn!(%error, "could not show a notification"),
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not show a notification");
    }
}

/// Brings the window forward and opens the message a notification was about.
pub fn activate<R: Runtime>(handle: &AppHandle<R>, target: &perch_client::dto::MessageKeyDto) {
    if let Some(window) = handle.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    if let Err(error) = handle.emit("open-message", target) {
        tracing::debug!(%error, "open-message not delivered");
    }
}

/// The media prefix the web view loads inline images from (WebView2 maps custom schemes to
/// `http://{scheme}.localhost/`).
pub fn media_prefix() -> &'static str {
    if cfg!(windows) {
        "http://perch-media.localhost/"
    } else {
        "perch-media://localhost/"
    }
}

/// Opens an http(s) or mailto link in the system browser (never in the web view).
pub fn open_external<R: Runtime>(handle: &AppHandle<R>, url: &str) -> Result<(), AppError> {
    let parsed = url::Url::parse(url)
        .map_err(|_| AppError::invalid(format!("`{url}` is not a link Perch can open")))?;
    if !matches!(parsed.scheme(), "http" | "https" | "mailto") {
        return Err(AppError::invalid(
            "Perch opens only web (http, https) and mail links",
        ));
    }
    if let Some(opener) = handle.try_state::<tauri_plugin_opener::Opener<R>>() {
        return opener
            .open_url(parsed.as_str(), None::<&str>)
            .map_err(|e| AppError::new("open_failed", format!("could not open the link: {e}")));
    }
    use perch_auth::BrowserOpener;
    SystemOpener
        .open(parsed.as_str())
        .map_err(|e| AppError::new("open_failed", format!("could not open the link: {e}")))
}

/// Whether the web view may load `url` itself: only the app's own pages.
pub fn is_app_url(url: &url::Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => {
            url.host_str() == Some("tauri.localhost")
                || (cfg!(debug_assertions)
                    && url.host_str() == Some("127.0.0.1")
                    && url.port() == Some(1420))
        }
        "about" => url.as_str() == "about:blank",
        _ => false,
    }
}

/// Where the app core comes from: the real configuration (`run`) or a test's.
pub type Starter = Box<dyn FnOnce() -> Result<AppConfig, AppError> + Send>;

/// The configuration from the process environment: the data folder (`PERCH_DATA_DIR` or the
/// platform's), the OS keyring (or memory when it cannot be used, reported), `PERCH_*`
/// settings, the managed policy as `run` read it (`perch_core::policy::read_system`: the OS
/// location; in debug builds `PERCH_POLICY_FILE`), the system browser, demo mode unless
/// `PERCH_DEMO=0` or the policy's `demo_mode: false`.
pub fn config_from_env(managed: perch_core::PolicyReport) -> Result<AppConfig, AppError> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let data_dir = DataDir::resolve(env.iter().cloned(), Platform::current()).ok_or_else(|| {
        AppError::new(
            "no_data_dir",
            "Perch cannot tell where to keep its data: set PERCH_DATA_DIR or HOME.",
        )
    })?;
    // The keyring is probed (written and cleaned once) so that a locked or missing one is
    // found now, not after a sign-in; Perch then keeps sign-ins in memory for this session
    // only (never on disk) and says so.
    let mut notices = Vec::new();
    let secrets: Arc<dyn SecretStore> = match KeyringStore::platform().and_then(|k| {
        k.probe()?;
        Ok(k)
    }) {
        Ok(keyring) => Arc::new(keyring),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "no keyring: sign-ins last this session only");
            notices.push(format!(
                "{}. Until it is available, Perch keeps your sign-in only until it closes.",
                error.to_string().trim_end_matches('.')
            ));
            Arc::new(MemoryStore::new())
        }
    };
    let allow_demo = !env.iter().any(|(k, v)| k == "PERCH_DEMO" && v == "0");
    let engine = perch_engine::EngineConfig {
        media_prefix: media_prefix().to_owned(),
        ..perch_engine::EngineConfig::default()
    };
    Ok(AppConfig {
        data_dir,
        env,
        secrets,
        opener: Arc::new(SystemOpener),
        allow_demo,
        demo_live: true,
        engine,
        policy: SettingsPolicy::default(),
        managed,
        notices,
    })
}

fn serve_media<R: Runtime>(
    handle: AppHandle<R>,
    path: String,
    responder: tauri::UriSchemeResponder,
) {
    tauri::async_runtime::spawn(async move {
        let result = match handle.state::<Shell>().app().await {
            Ok(app) => app.media(&path).await,
            Err(e) => Err(e),
        };
        let response = match result {
            Ok(media) => Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, media.content_type)
                .header(header::CACHE_CONTROL, "private, max-age=86400")
                .header("X-Content-Type-Options", "nosniff")
                .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'")
                .body(media.bytes),
            Err(error) => {
                tracing::debug!(code = %error.code, "media not served");
                Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .header(header::CONTENT_TYPE, "text/plain")
                    .body(error.message.into_bytes())
            }
        };
        match response {
            Ok(r) => responder.respond(r),
            Err(error) => tracing::warn!(%error, "bad media response"),
        }
    });
}

/// Adds every command, the media scheme and the navigation guard to a builder, for any runtime
/// (`tauri::test::mock_builder()` in tests, `Builder::default()` in the app). The core is
/// started by [`start_core`]. `diagnostics` is what the Diagnostics page reports with (the
/// policy and the log folder).
pub fn setup<R: Runtime>(builder: Builder<R>, diagnostics: Diagnostics) -> Builder<R> {
    let (tx, rx) = watch::channel(None);
    builder
        .manage(Shell {
            rx,
            tx: std::sync::Mutex::new(Some(tx)),
            diagnostics,
        })
        .manage(updater::Updates::default())
        // Registered for its Rust API only: none of its commands is granted to the web view.
        .plugin(tauri_plugin_updater::Builder::new().build())
        .invoke_handler(commands::handler())
        .plugin(
            tauri::plugin::Builder::<R>::new("perch-guard")
                .on_navigation(|webview, url| {
                    if is_app_url(url) {
                        return true;
                    }
                    tracing::info!(url = %url.scheme(), "navigation blocked; opening outside");
                    if matches!(url.scheme(), "http" | "https" | "mailto") {
                        let _ = open_external(webview.app_handle(), url.as_str());
                    }
                    false
                })
                .build(),
        )
        .register_asynchronous_uri_scheme_protocol("perch-media", |ctx, request, responder| {
            serve_media(
                ctx.app_handle().clone(),
                request.uri().path().to_owned(),
                responder,
            );
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Focused(focused) = event {
                // In order, on this thread (before the core started there is nothing to tell).
                if let Some(app) = window.app_handle().state::<Shell>().ready() {
                    app.attention(*focused, *focused);
                }
            }
        })
        .on_page_load(|webview, payload| {
            // A (re)loaded page has none of the old page's channels: end their streams.
            if payload.event() == tauri::webview::PageLoadEvent::Started {
                if let Some(app) = webview.app_handle().state::<Shell>().ready() {
                    app.close_all_subscriptions();
                }
            }
        })
}

/// Starts the app core in the background; commands wait for it. Called once, from the app's
/// setup hook (tests call it after building the mock app).
pub fn start_core<R: Runtime>(handle: &AppHandle<R>, start: Starter) {
    let Some(tx) = handle
        .state::<Shell>()
        .tx
        .lock()
        .ok()
        .and_then(|mut t| t.take())
    else {
        tracing::error!("the app core was started twice");
        return;
    };
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        let events = Arc::new(WindowEvents {
            handle: handle.clone(),
        });
        let result = match start() {
            Ok(config) => App::start(config, events).await,
            Err(e) => Err(e),
        };
        if let Err(error) = &result {
            tracing::error!(code = %error.code, %error, "Perch could not start its core");
        }
        let app = result.as_ref().ok().cloned();
        let _ = tx.send(Some(result));
        if let Some(app) = app {
            let _ = handle.emit("accounts-changed", ());
            if let Err(error) = app.demo_sign_in_if_needed().await {
                tracing::warn!(code = %error.code, %error, "demo sign-in failed");
            }
        }
    });
}

/// Starts logging: the day's redacted file in the log folder (`PERCH_LOG_DIR`, else the
/// OS's) at the policy's level, else `PERCH_LOG`, else `info`; and stderr at `PERCH_LOG`, else
/// `info`, as before (also redacted).
fn init_logging(policy: &perch_core::policy::Policy) -> Option<perch_diag::LogGuard> {
    let mut config = perch_diag::LogConfig::from_env("perch");
    config.stderr = Some(
        config
            .env_filter
            .clone()
            .unwrap_or_else(|| "info".to_owned()),
    );
    match perch_diag::logging::init(&config, policy) {
        Ok(guard) => Some(guard),
        Err(error) => {
            eprintln!("perch: {error}");
            None
        }
    }
}

/// Runs the desktop app (or, for `--version` and `--help`, prints and returns before any
/// logging, GTK or display set-up).
pub fn run() {
    if let Some(action) = args::early_action(std::env::args_os().skip(1)) {
        print!("{}", args::early_text(action));
        return;
    }
    // Before any other thread exists (the variables are read by WebKitGTK as it starts).
    webkit_rendering();
    // The managed policy, read once: the log level and whether logs may hold message content,
    // the configuration, the updater, and the Diagnostics page.
    let policy = perch_core::policy::read_system();
    let logs = init_logging(&policy.policy);
    let managed = policy.clone();
    let diagnostics = Diagnostics {
        log_dir: logs
            .as_ref()
            .and_then(|g| g.dir.clone())
            .or_else(perch_diag::logging::current_log_dir),
        policy,
    };
    let builder = Builder::<tauri::Wry>::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            // The policy may turn the updater off or move its endpoint.
            let decision = updater::decision_for_build(
                &managed.policy,
                updater::installed_by_package_manager(),
                &updater::configured_endpoints(app.config()),
                cfg!(debug_assertions),
            );
            start_core(app.handle(), Box::new(move || config_from_env(managed)));
            updater::start(app.handle(), decision);
            Ok(())
        });
    let app = match setup(builder, diagnostics).build(tauri::generate_context!()) {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "Perch could not start");
            std::process::exit(1);
        }
    };
    // SIGTERM and SIGINT (a session ending, `kill`, Ctrl+C in a terminal) exit like closing
    // the window, so the engines stop cleanly and the demo tenant is saved.
    #[cfg(unix)]
    {
        let handle = app.handle().clone();
        tauri::async_runtime::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("asked to stop; closing");
            handle.exit(0);
        });
    }
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Save the demo tenant and stop the engines before the process ends.
            if let Some(app) = handle.state::<Shell>().ready() {
                tauri::async_runtime::block_on(async move { app.shutdown().await });
            }
        }
    });
    // The log file's writer flushes what is queued as its guard goes.
    drop(logs);
}

#[cfg(test)]
mod tests;

/// WebKitGTK's rendering mode (Linux): without accelerated compositing unless the person asks
/// for it (`PERCH_WEBKIT_COMPOSITING=1`) or has set WebKit's own variable. Compositing costs the
/// web process about 130 MB (GL surfaces and tiles; with no GPU, through llvmpipe) for nothing a
/// virtualised list of cards needs; README → Performance has the figures. Must run before any
/// thread starts: it sets the process environment.
fn webkit_rendering() {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let wanted = std::env::var_os("PERCH_WEBKIT_COMPOSITING").is_some_and(|v| v == "1");
        if !wanted && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
            std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        }
    }
}
