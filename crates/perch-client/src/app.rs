//! [`App`]: Perch as the desktop window uses it, without knowing the window. It owns the
//! settings layers (or the demo tenant when no organisation is configured), the token manager,
//! one sync engine per signed-in account (the active one started), the live subscriptions the
//! UI holds (sidebar, timelines, threads: each a task that turns engine diffs into DTO batches
//! for a [`Sink`]), the status and notification forwarding to [`Events`], drafts, settings and
//! the media cache ([`crate::media`]).
//!
//! The shell (src-tauri) wraps each method in a command and each sink in a `tauri::ipc::Channel`;
//! everything here is testable with no window, against the real emulator.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::Utc;
use perch_auth::{
    BrowserOpener, HttpClient, InteractiveOptions, ManagerOptions, SecretStore, TokenManager,
};
use perch_core::compose::Draft;
use perch_core::{
    resolve, AccountId, ConfigError, DataDir, Organisation, PolicyReport, SettingsLayer,
    SettingsSource,
};
use perch_engine::{Engine, EngineConfig, EngineParts, NewPost};
use perch_graph::{AccountTokens, ClientConfig, GraphClient};
use perch_store::{AccountRecord, AccountState, CacheStore, MessageKey, SearchQuery, Store};
use tokio::sync::{mpsc, oneshot, Mutex as AsyncMutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::demo::{AutoApproveBrowser, Demo, DemoIdentity};
use crate::dto::*;
use crate::error::AppError;
use crate::notify::{self, Notification, Notifier};
use crate::settings::{self, Settings, SettingsPolicy};

/// Where batches of a subscription go; returns false when the receiver is gone (the
/// subscription then ends).
pub type Sink<T> = Arc<dyn Fn(T) -> bool + Send + Sync>;

/// What the app tells the window without being asked.
pub trait Events: Send + Sync + 'static {
    /// The active account's status changed.
    fn status(&self, status: &StatusDto);
    /// Accounts were added, removed, switched or changed state.
    fn accounts_changed(&self);
    /// A notification to show.
    fn notify(&self, notification: &Notification);
}

/// How the app starts.
pub struct AppConfig {
    /// The data folder (database, settings, media cache, demo tenant).
    pub data_dir: DataDir,
    /// The process environment (`PERCH_*` settings).
    pub env: Vec<(String, String)>,
    /// Refresh-token custody: the OS keyring (or memory, "this session only").
    pub secrets: Arc<dyn SecretStore>,
    /// Opens the system browser for sign-in.
    pub opener: Arc<dyn BrowserOpener>,
    /// Whether the demo tenant may start when no organisation is configured.
    pub allow_demo: bool,
    /// Whether the demo tenant has simulated colleagues.
    pub demo_live: bool,
    /// Engine tuning (intervals are overridden by the person's settings).
    pub engine: EngineConfig,
    /// What a policy imposes on settings (tests fill this directly; [`AppConfig::managed`]'s
    /// keys are laid over it).
    pub policy: SettingsPolicy,
    /// The managed policy as read (`perch_core::policy::read_system()` in the app): the highest
    /// settings layer, extra scopes, allowed tenants, demo mode, background polling, proxy,
    /// cache retention and the settings it limits. Its problems are shown in the UI.
    pub managed: PolicyReport,
    /// Problems found while putting the configuration together (e.g. no usable keyring), shown
    /// with the configuration problems.
    pub notices: Vec<String>,
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("data_dir", &self.data_dir)
            .field("allow_demo", &self.allow_demo)
            .finish_non_exhaustive()
    }
}

/// The active account's running parts.
struct Active {
    id: AccountId,
    engine: Engine,
    tasks: Vec<JoinHandle<()>>,
}

/// A request for older posts, with where to answer.
type OlderRequest = (usize, OlderReply);
type OlderReply = oneshot::Sender<Result<bool, AppError>>;

/// A history page being fetched for a timeline; stopped when the timeline ends.
struct FetchOnDrop(JoinHandle<Result<bool, perch_engine::EngineError>>);

impl Drop for FetchOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Subscription {
    task: JoinHandle<()>,
    older: Option<mpsc::Sender<OlderRequest>>,
}

/// Aborts a task when dropped (a thread's fetch ends with its subscription).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Inner {
    data_dir: DataDir,
    mode: ModeDto,
    org: parking_lot::Mutex<Option<Organisation>>,
    problems: parking_lot::Mutex<Vec<String>>,
    manager: TokenManager,
    opener: Arc<dyn BrowserOpener>,
    store: parking_lot::Mutex<Store>,
    events: Arc<dyn Events>,
    engine_config: EngineConfig,
    policy: SettingsPolicy,
    /// The managed policy as read at start.
    managed: PolicyReport,
    active: AsyncMutex<Option<Active>>,
    /// The active engine, for calls that must not wait on `active`'s lock.
    current: parking_lot::Mutex<Option<(AccountId, Engine)>>,
    subs: parking_lot::Mutex<HashMap<u32, Subscription>>,
    next_sub: AtomicU32,
    sign_in: parking_lot::Mutex<Option<(u64, CancellationToken)>>,
    sign_in_seq: std::sync::atomic::AtomicU64,
    in_view: parking_lot::Mutex<Option<String>>,
    visible: std::sync::atomic::AtomicBool,
    demo: AsyncMutex<Option<Demo>>,
    /// False while the demo tenant starts in the background (the cache is shown meanwhile;
    /// the engine starts, and sign-ins go out, once it is up).
    demo_ready: tokio::sync::watch::Receiver<bool>,
    /// The demo browser's port, when in demo mode.
    demo_port: Arc<std::sync::atomic::AtomicU16>,
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("mode", &self.inner.mode)
            .finish_non_exhaustive()
    }
}

const ACTIVE_KEY: &str = "app.active_account";
/// Root posts a timeline opens with.
const TIMELINE_WINDOW: usize = 60;
/// Channels the demo follows after its first sign-in.
const DEMO_FOLLOWS: usize = 4;

impl App {
    /// Resolves the settings (or starts the demo tenant), opens the database and signs the
    /// last active account back in from the keyring. Never fails on configuration: problems
    /// are reported in [`AppStateDto::config_problems`] and sign-in says what is missing.
    pub async fn start(config: AppConfig, events: Arc<dyn Events>) -> Result<App, AppError> {
        let AppConfig {
            data_dir,
            env,
            secrets,
            opener,
            allow_demo,
            demo_live,
            engine,
            policy,
            managed,
            notices,
        } = config;
        let policy = policy.under(&managed.policy);
        let allow_demo = allow_demo && managed.policy.demo_mode != Some(false);
        let engine = EngineConfig {
            poll_hidden: engine.poll_hidden && managed.policy.background_polling != Some(false),
            ..engine
        }
        .with_retention_days(managed.policy.cache_retention_days);
        for problem in &managed.problems {
            tracing::warn!(key = %problem.key, reason = %problem.reason, "managed policy problem");
        }
        std::fs::create_dir_all(data_dir.path()).map_err(|e| {
            AppError::new(
                "data_dir_unwritable",
                format!(
                    "Perch could not create its data folder {}: {e}",
                    data_dir.path().display()
                ),
            )
        })?;
        let mut problems = notices;
        let settings_file = data_dir.settings_file();
        let mut layers = vec![SettingsLayer::defaults()];
        match SettingsLayer::read_file(&settings_file, SettingsSource::User(settings_file.clone()))
        {
            Ok(Some(user)) => layers.push(user),
            Ok(None) => {}
            Err(e) => problems.push(format!("{e} (ignored; fix or delete the file)")),
        }
        layers.push(SettingsLayer::environment(env));
        if let Some(layer) = managed.settings_layer() {
            layers.push(layer);
        }

        let started = std::time::Instant::now();
        let (store, recovery) = Store::open_checked(&data_dir.database())?;
        store.limit_cache(STORE_CACHE_KIB)?;
        let opened = started.elapsed();
        if let Some(r) = recovery {
            problems.push(format!(
                "The local database was damaged ({}); it was moved to {} and a new one started. \
                 Accounts, followed channels, drafts and unsent messages were kept; messages will be \
                 downloaded again.",
                r.reason,
                r.moved_to.display()
            ));
        }

        let mut demo = None;
        let mut pending_demo: Option<(DemoIdentity, Vec<SettingsLayer>)> = None;
        let before_demo = started.elapsed();
        let demo_dir = data_dir.path().join("demo");
        let (mode, org) = match resolve(&layers) {
            Ok(org) => (ModeDto::Organisation, Some(org)),
            Err(ConfigError::Missing { .. }) if allow_demo => {
                match DemoIdentity::load(&demo_dir) {
                    // Known from last time: paint the cache now, start the tenant meanwhile.
                    Some(identity) => {
                        let mut with_demo = layers.clone();
                        with_demo.push(identity.settings_layer());
                        let org = resolve(&with_demo)?;
                        pending_demo = Some((identity, layers.clone()));
                        (ModeDto::Demo, Some(org))
                    }
                    None => {
                        let (d, same_port, problem) = Demo::start(&demo_dir, demo_live).await?;
                        problems.extend(problem);
                        layers.push(d.settings_layer());
                        let org = resolve(&layers)?;
                        if !same_port {
                            forget_demo_accounts(&store, &org)?;
                        }
                        demo = Some(d);
                        (ModeDto::Demo, Some(org))
                    }
                }
            }
            Err(e @ ConfigError::Missing { .. }) if managed.policy.demo_mode == Some(false) => {
                problems.push(format!(
                    "Your organisation's policy turns the demo off, and no organisation is configured: {e}. Ask your IT department to set `tenant` and `client_id` in the policy."
                ));
                (ModeDto::Organisation, None)
            }
            Err(e) => {
                problems.push(e.to_string());
                (ModeDto::Organisation, None)
            }
        };
        // The policy's extra scopes are for the organisation's registration; the demo tenant
        // grants only Perch's own.
        let org = org.map(|mut org| {
            if mode == ModeDto::Organisation {
                managed.policy.extend_scopes(&mut org);
            }
            org
        });
        let demo_port = Arc::new(std::sync::atomic::AtomicU16::new(
            demo.as_ref()
                .map(Demo::port)
                .or(pending_demo.as_ref().map(|(i, _)| i.port))
                .unwrap_or(0),
        ));
        let opener: Arc<dyn BrowserOpener> = if mode == ModeDto::Demo {
            Arc::new(AutoApproveBrowser {
                port: demo_port.clone(),
            })
        } else {
            opener
        };
        let (ready_tx, demo_ready) = tokio::sync::watch::channel(pending_demo.is_none());
        let scopes = org.as_ref().map(|o| o.scopes.clone()).unwrap_or_default();
        let manager = TokenManager::new(
            HttpClient::with_proxy(managed.policy.proxy.as_deref())?,
            Store::open(&data_dir.database())?,
            secrets,
            ManagerOptions {
                scopes,
                // The local demo tenant is no organisation's: only real sign-ins are checked.
                allowed_tenants: if mode == ModeDto::Organisation {
                    managed.policy.allowed_tenant_ids()
                } else {
                    None
                },
                ..ManagerOptions::default()
            },
        );
        let app = App {
            inner: Arc::new(Inner {
                data_dir,
                mode,
                org: parking_lot::Mutex::new(org),
                problems: parking_lot::Mutex::new(problems),
                manager,
                opener,
                store: parking_lot::Mutex::new(store),
                events,
                engine_config: engine,
                policy,
                managed,
                active: AsyncMutex::new(None),
                current: parking_lot::Mutex::new(None),
                subs: parking_lot::Mutex::new(HashMap::new()),
                next_sub: AtomicU32::new(1),
                sign_in: parking_lot::Mutex::new(None),
                sign_in_seq: std::sync::atomic::AtomicU64::new(0),
                in_view: parking_lot::Mutex::new(None),
                visible: std::sync::atomic::AtomicBool::new(true),
                demo: AsyncMutex::new(demo),
                demo_ready,
                demo_port,
            }),
        };
        let configured = started.elapsed();
        let wanted = app.remembered_account()?;
        if let Some(id) = wanted {
            if let Err(error) = app.activate(id).await {
                tracing::warn!(code = %error.code, %error, "the last account could not be opened");
                app.problem(format!("Your last account could not be opened: {error}"));
            }
        }
        crate::media::sweep_orphans(&app);
        tokio::spawn(check_database_later(Arc::downgrade(&app.inner)));
        if let Some((identity, layers)) = pending_demo {
            tokio::spawn(
                app.clone()
                    .start_demo(identity, layers, demo_dir, demo_live, ready_tx),
            );
        }
        tracing::info!(
            total_ms = started.elapsed().as_millis() as u64,
            database_ms = opened.as_millis() as u64,
            demo_ms = configured.saturating_sub(before_demo).as_millis() as u64,
            "the app core started"
        );
        Ok(app)
    }

    /// Starts the demo tenant in the background (a restart: the cache is already on screen).
    /// Its engine starts once it is up; if it had to move to another port, the old cache is
    /// dropped and the demo signs in afresh.
    async fn start_demo(
        self,
        identity: DemoIdentity,
        mut layers: Vec<SettingsLayer>,
        dir: std::path::PathBuf,
        live: bool,
        ready: tokio::sync::watch::Sender<bool>,
    ) {
        // The window paints the cache first: loading the tenant takes a core for about 200 ms,
        // and on two cores that is what the first paint waited for.
        tokio::time::sleep(DEMO_START_DELAY).await;
        let started = std::time::Instant::now();
        let (demo, problem) = match Demo::start(&dir, live).await {
            Ok((d, _, problem)) => (d, problem),
            Err(error) => {
                self.problem(error.message.clone());
                let _ = ready.send(true);
                return;
            }
        };
        self.problem_opt(problem);
        let moved = demo.identity() != identity;
        self.inner
            .demo_port
            .store(demo.port(), std::sync::atomic::Ordering::SeqCst);
        layers.push(demo.settings_layer());
        *self.inner.demo.lock().await = Some(demo);
        if moved {
            tracing::info!("the demo tenant moved; starting its cache afresh");
            match resolve(&layers) {
                Ok(org) => {
                    if let Some(active) = self.inner.active.lock().await.take() {
                        stop(active);
                    }
                    self.set_current(None);
                    if let Err(error) = forget_demo_accounts(&self.inner.store.lock(), &org) {
                        tracing::warn!(%error, "old demo accounts not forgotten");
                    }
                    *self.inner.org.lock() = Some(org);
                }
                Err(error) => self.problem(error.to_string()),
            }
            let _ = ready.send(true);
            self.inner.events.accounts_changed();
            if let Err(error) = self.demo_sign_in_if_needed().await {
                tracing::warn!(code = %error.code, %error, "demo sign-in failed");
            }
        } else {
            let _ = ready.send(true);
            if let Some((_, engine)) = self.active_engine() {
                start_engine(&engine);
            }
        }
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "the demo tenant is up"
        );
    }

    /// Waits until the demo tenant (if any) is up.
    async fn wait_demo(&self) {
        let mut ready = self.inner.demo_ready.clone();
        let _ = ready.wait_for(|r| *r).await;
    }

    fn problem_opt(&self, problem: Option<String>) {
        if let Some(p) = problem {
            self.problem(p);
        }
    }

    /// Starts the demo's first sign-in (and follows a few channels) when the demo tenant runs
    /// and no account is signed in. Returns when done; errors are the sign-in's.
    pub async fn demo_sign_in_if_needed(&self) -> Result<(), AppError> {
        if self.inner.mode != ModeDto::Demo {
            return Ok(());
        }
        self.wait_demo().await;
        let needs = match self.active_engine() {
            Some((id, _)) => match self.inner.manager.account(&id)?.state {
                AccountState::NeedsSignIn | AccountState::SignedOut => true,
                // A remembered sign-in may be gone (a keyring that was reset, a "this session
                // only" custody): the demo tenant is local, so asking costs nothing.
                AccountState::SignedIn => self.inner.manager.access_token(&id).await.is_err(),
            },
            None => true,
        };
        if needs {
            self.sign_in().await?;
        }
        Ok(())
    }

    /// Stops every task and the demo tenant (saving it).
    pub async fn shutdown(&self) {
        for (_, sub) in self.inner.subs.lock().drain() {
            sub.task.abort();
        }
        if let Some(active) = self.inner.active.lock().await.take() {
            stop(active);
        }
        *self.inner.current.lock() = None;
        if let Some(demo) = self.inner.demo.lock().await.take() {
            demo.shutdown().await;
        }
    }

    /// The demo tenant's base URL, when it runs.
    pub async fn demo_base_url(&self) -> Option<String> {
        self.wait_demo().await;
        self.inner
            .demo
            .lock()
            .await
            .as_ref()
            .map(|d| d.base_url().to_owned())
    }

    /// Adds a problem for the banner.
    /// What the diagnostics checks look at: the data folder, the mode, the organisation (or
    /// the configuration problems) and the token manager.
    pub(crate) fn diagnostics_parts(
        &self,
    ) -> (
        DataDir,
        ModeDto,
        Option<Organisation>,
        Vec<String>,
        TokenManager,
    ) {
        (
            self.inner.data_dir.clone(),
            self.inner.mode,
            self.inner.org.lock().clone(),
            self.inner.problems.lock().clone(),
            self.inner.manager.clone(),
        )
    }

    fn problem(&self, text: String) {
        self.inner.problems.lock().push(text);
    }

    fn remembered_account(&self) -> Result<Option<AccountId>, AppError> {
        let records = self.inner.manager.accounts()?;
        let stored: Option<AccountId> = self
            .inner
            .store
            .lock()
            .setting(ACTIVE_KEY)?
            .and_then(|v| v.as_str().and_then(|s| s.parse().ok()));
        // Only an account of the running configuration (a demo account is not activated
        // against a real organisation, nor the other way round).
        let org = self.inner.org.lock().clone();
        let org = org.as_ref();
        let usable = |r: &&AccountRecord| {
            r.state != AccountState::SignedOut
                && org.is_some_and(|o| o.client_id == r.client_id && o.hosts == r.hosts)
        };
        Ok(stored
            .filter(|id| records.iter().filter(usable).any(|r| r.id == *id))
            .or_else(|| records.iter().find(usable).map(|r| r.id)))
    }

    fn active_engine(&self) -> Option<(AccountId, Engine)> {
        self.inner.current.lock().clone()
    }

    fn engine(&self) -> Result<(AccountId, Engine), AppError> {
        self.active_engine().ok_or_else(AppError::not_signed_in)
    }

    fn settings(&self) -> Settings {
        Settings::load(&self.inner.store.lock())
    }

    /// Builds, starts and makes current the engine of `id`, stopping the previous one.
    async fn activate(&self, id: AccountId) -> Result<(), AppError> {
        let record = self.inner.manager.account(&id)?;
        let tokens = Arc::new(AccountTokens {
            manager: self.inner.manager.clone(),
            account: id,
        });
        let graph_base = record.hosts.graph.trim_end_matches('/').to_owned();
        let graph = GraphClient::new(
            ClientConfig {
                proxy: self.inner.managed.policy.proxy.clone(),
                ..ClientConfig::new(graph_base.clone())
            },
            tokens,
        )?;
        let settings = self.settings().view(&self.inner.policy);
        let config = EngineConfig {
            in_view_interval: std::time::Duration::from_secs(settings.view_interval_secs.into()),
            followed_interval: std::time::Duration::from_secs(
                settings.followed_interval_secs.into(),
            ),
            ..self.inner.engine_config.clone()
        };
        let store = Store::open(&self.inner.data_dir.database())?;
        store.limit_cache(STORE_CACHE_KIB)?;
        let engine = Engine::new(EngineParts {
            account: id,
            graph,
            graph_base,
            store,
            config,
        });
        let mut guard = self.inner.active.lock().await;
        if let Some(previous) = guard.take() {
            stop(previous);
        }
        engine.window_visible(self.inner.visible.load(Ordering::SeqCst));
        if *self.inner.demo_ready.borrow() {
            start_engine(&engine);
        }
        let tasks = vec![
            tokio::spawn(forward_status(
                id,
                engine.clone(),
                self.inner.events.clone(),
            )),
            tokio::spawn(forward_notifications(self.clone(), id, engine.clone())),
        ];
        self.set_current(Some((id, engine.clone())));
        *guard = Some(Active { id, engine, tasks });
        drop(guard);
        self.inner
            .store
            .lock()
            .set_setting(ACTIVE_KEY, &serde_json::json!(id.to_string()))?;
        self.inner.events.accounts_changed();
        Ok(())
    }

    /// Everything the UI needs at start.
    pub async fn state(&self) -> Result<AppStateDto, AppError> {
        let active = self.active_engine();
        let accounts = self
            .inner
            .manager
            .accounts()?
            .iter()
            .map(|r| AccountDto::of(r, active.as_ref().is_some_and(|(id, _)| *id == r.id)))
            .collect();
        let status = match &active {
            Some((id, engine)) => StatusDto::of(id, &engine.status().borrow()),
            None => StatusDto::signed_out(),
        };
        Ok(AppStateDto {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            mode: self.inner.mode,
            accounts,
            active_account: active.map(|(id, _)| id.to_string()),
            status,
            settings: self.settings().view(&self.inner.policy),
            config_problems: self.inner.problems.lock().clone(),
            policy: PolicyDto::of(&self.inner.managed),
        })
    }

    /// The managed policy as read at start: its source, the keys it sets and the refused keys
    /// with their reasons (for the shell, a Diagnostics page and `doctor`-like reports).
    pub fn policy_report(&self) -> &PolicyReport {
        &self.inner.managed
    }

    /// Interactive sign-in through the system browser: a known account that needs it signs in
    /// again (and its engine resumes), otherwise a new account is added and made active.
    pub async fn sign_in(&self) -> Result<AccountDto, AppError> {
        self.wait_demo().await;
        let org = self.inner.org.lock().clone().ok_or_else(|| {
            AppError::new(
                "config_missing",
                match self.inner.problems.lock().first() {
                    Some(p) => p.clone(),
                    None => "No organisation is configured: set PERCH_TENANT and PERCH_CLIENT_ID (see the README).".into(),
                },
            )
        })?;
        let cancel = CancellationToken::new();
        let seq = {
            let mut slot = self.inner.sign_in.lock();
            let seq = self.inner.sign_in_seq.fetch_add(1, Ordering::Relaxed);
            if let Some((_, previous)) = slot.replace((seq, cancel.clone())) {
                previous.cancel();
            }
            seq
        };
        let options = InteractiveOptions {
            cancel: cancel.clone(),
            ..InteractiveOptions::default()
        };
        let again = match self.active_engine() {
            Some((id, _)) => {
                let record = self.inner.manager.account(&id)?;
                (record.state == AccountState::NeedsSignIn).then_some(id)
            }
            None => None,
        };
        let first = self.inner.manager.accounts()?.is_empty();
        let result = match again {
            Some(id) => {
                self.inner
                    .manager
                    .sign_in_again(&id, self.inner.opener.as_ref(), &options)
                    .await
            }
            None if first => {
                self.inner
                    .manager
                    .sign_in(&org, self.inner.opener.as_ref(), &options)
                    .await
            }
            None => {
                self.inner
                    .manager
                    .add_account(&org, self.inner.opener.as_ref(), &options)
                    .await
            }
        };
        {
            let mut slot = self.inner.sign_in.lock();
            if slot.as_ref().is_some_and(|(s, _)| *s == seq) {
                slot.take();
            }
        }
        let record = result?;
        match self.active_engine() {
            Some((id, engine)) if id == record.id => {
                engine.signed_in_again();
                self.inner.events.accounts_changed();
                // What failed while signed out (teams and channels at start) is fetched now,
                // not at the next background refresh.
                let app = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = engine.ensure_structure().await {
                        tracing::warn!(code = error.code(), %error, "teams and channels not refreshed");
                    }
                    if app.inner.mode == ModeDto::Demo {
                        app.demo_follow().await;
                    }
                });
            }
            _ => {
                self.activate(record.id).await?;
                if self.inner.mode == ModeDto::Demo {
                    self.demo_follow().await;
                }
            }
        }
        Ok(AccountDto::of(&record, true))
    }

    /// The demo's first run: teams and channels, then a few followed channels.
    async fn demo_follow(&self) {
        let Some((_, engine)) = self.active_engine() else {
            return;
        };
        if let Err(error) = engine.ensure_structure().await {
            tracing::warn!(%error, "demo: no teams and channels");
            return;
        }
        let Ok(teams) = engine.sidebar_snapshot().await else {
            return;
        };
        if teams
            .iter()
            .flat_map(|t| &t.channels)
            .any(|c| c.channel.followed)
        {
            return;
        }
        let mut picked = Vec::new();
        for team in &teams {
            if let Some(first) = team.channels.first() {
                picked.push(first.channel.id.clone());
            }
        }
        for team in &teams {
            for c in team.channels.iter().skip(1) {
                picked.push(c.channel.id.clone());
            }
        }
        for id in picked.into_iter().take(DEMO_FOLLOWS) {
            if let Err(error) = engine.set_followed(&id, true).await {
                tracing::warn!(%error, "demo: could not follow a channel");
            }
        }
    }

    /// Gives up a sign-in that waits for the browser.
    pub fn cancel_sign_in(&self) {
        if let Some((_, token)) = self.inner.sign_in.lock().take() {
            token.cancel();
        }
    }

    /// Signs an account out (with `purge`, its cache too); the next signed-in account, if any,
    /// becomes active.
    pub async fn sign_out(&self, account: &str, purge: bool) -> Result<(), AppError> {
        let id: AccountId = account
            .parse()
            .map_err(|_| AppError::invalid(format!("`{account}` is not an account id")))?;
        let was_active = self.active_engine().is_some_and(|(a, _)| a == id);
        if was_active {
            if let Some(active) = self.inner.active.lock().await.take() {
                stop(active);
            }
            self.set_current(None);
        }
        self.inner.manager.sign_out(&id, purge).await?;
        if purge {
            crate::media::sweep_orphans(self);
        }
        if was_active {
            if let Some(next) = self.remembered_account()? {
                self.activate(next).await?;
            } else {
                self.inner.events.status(&StatusDto::signed_out());
            }
        }
        self.inner.events.accounts_changed();
        Ok(())
    }

    /// Makes another known account active.
    pub async fn switch_account(&self, account: &str) -> Result<(), AppError> {
        let id: AccountId = account
            .parse()
            .map_err(|_| AppError::invalid(format!("`{account}` is not an account id")))?;
        if self.active_engine().is_some_and(|(a, _)| a == id) {
            return Ok(());
        }
        self.activate(id).await
    }

    /// Swaps the active engine and ends every subscription of the previous one, atomically
    /// with respect to [`App::register`].
    fn set_current(&self, current: Option<(AccountId, Engine)>) {
        let mut subs = self.inner.subs.lock();
        for (_, sub) in subs.drain() {
            sub.task.abort();
        }
        *self.inner.current.lock() = current;
    }

    /// Keeps a subscription's task, unless the account changed while it was being opened (its
    /// diffs would be another account's).
    fn register(
        &self,
        id: u32,
        account: AccountId,
        task: JoinHandle<()>,
        older: Option<mpsc::Sender<OlderRequest>>,
    ) -> Result<(), AppError> {
        let mut subs = self.inner.subs.lock();
        let current = self.inner.current.lock().as_ref().map(|(a, _)| *a);
        if current != Some(account) {
            task.abort();
            return Err(AppError::new(
                "account_changed",
                "The account changed while this view was opening.",
            ));
        }
        subs.insert(id, Subscription { task, older });
        Ok(())
    }

    /// Forgets a subscription whose task ended by itself.
    fn ended(inner: &std::sync::Weak<Inner>, id: u32) {
        if let Some(inner) = inner.upgrade() {
            inner.subs.lock().remove(&id);
        }
    }

    /// Ends every subscription (the page reloaded: its channels are gone).
    pub fn close_all_subscriptions(&self) {
        for (_, sub) in self.inner.subs.lock().drain() {
            sub.task.abort();
        }
    }

    fn next_id(&self) -> u32 {
        self.inner.next_sub.fetch_add(1, Ordering::Relaxed)
    }

    fn notify_levels(&self, account: AccountId) -> impl Fn(&str) -> NotifyLevelDto + '_ {
        move |channel: &str| settings::notify_level(&self.inner.store.lock(), &account, channel)
    }

    /// The sidebar: a reset now, then diffs, until closed.
    pub async fn subscribe_sidebar(
        &self,
        sink: Sink<Vec<SidebarDiffDto>>,
    ) -> Result<u32, AppError> {
        let (account, engine) = self.engine()?;
        let (teams, mut sidebar) = engine.sidebar().await?;
        let levels = self.notify_levels(account);
        let first = vec![SidebarDiffDto::Reset {
            teams: teams.iter().map(|t| TeamDto::of(t, &levels)).collect(),
        }];
        let id = self.next_id();
        if !sink(first) {
            return Ok(id);
        }
        let app = self.clone();
        let weak = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            while let Some(batch) = sidebar.next().await {
                match batch {
                    Ok(diffs) => {
                        let levels = app.notify_levels(account);
                        let dtos = diffs
                            .iter()
                            .map(|d| SidebarDiffDto::of(d, &levels))
                            .collect();
                        if !sink(dtos) {
                            break;
                        }
                    }
                    Err(error) => tracing::warn!(%error, "sidebar update failed"),
                }
            }
            drop(app);
            App::ended(&weak, id);
        });
        self.register(id, account, task, None)?;
        Ok(id)
    }

    /// A channel's timeline: a reset now (newest posts first), then diffs, until closed.
    /// Opening it puts the channel in view (it syncs at once and often).
    pub async fn open_timeline(
        &self,
        channel_id: &str,
        sink: Sink<TimelineBatchDto>,
    ) -> Result<u32, AppError> {
        let (account, engine) = self.engine()?;
        let (items, mut timeline) = engine.timeline(channel_id, TIMELINE_WINDOW).await?;
        let me = account.user_id.to_string();
        let complete = {
            let state = self.inner.store.lock().sync_state(&account, channel_id)?;
            state.history_complete && items.len() < TIMELINE_WINDOW
        };
        let id = self.next_id();
        let reset = TimelineBatchDto {
            subscription: id,
            diffs: vec![TimelineDiffDto::Reset {
                items: items.iter().map(|i| MessageDto::of(i, &me)).collect(),
            }],
            history_complete: complete,
            committed_at_ms: None,
        };
        if !sink(reset) {
            return Ok(id);
        }
        let (older_tx, mut older_rx) = mpsc::channel::<OlderRequest>(4);
        let weak = Arc::downgrade(&self.inner);
        let channel = channel_id.to_owned();
        let task = tokio::spawn(async move {
            let mut complete = complete;
            // A page of older history being fetched, and the request waiting for it. Diffs keep
            // flowing meanwhile: a fetch can take long (offline, throttled), and a post written
            // now must show at once.
            let mut fetching: Option<(usize, OlderReply, FetchOnDrop)> = None;
            loop {
                tokio::select! {
                    batch = timeline.next() => match batch {
                        Some(Ok(diffs)) => {
                            let committed = timeline.committed_at().map(unix_ms);
                            let dto = TimelineBatchDto::of(id, &diffs, &me, complete, committed);
                            if !sink(dto) { break; }
                        }
                        Some(Err(error)) => tracing::warn!(%error, "timeline update failed"),
                        None => break,
                    },
                    Some((count, reply)) = older_rx.recv(), if fetching.is_none() => {
                        match timeline.older_from_cache(count).await {
                            Ok(diffs) if !diffs.is_empty() => {
                                let dto = TimelineBatchDto::of(id, &diffs, &me, complete, None);
                                // The inserts first, so the UI has them before it may ask again.
                                let open = sink(dto);
                                let _ = reply.send(Ok(false));
                                if !open { break; }
                            }
                            Ok(_) => {
                                let (engine, channel) = (engine.clone(), channel.clone());
                                let fetch = tokio::spawn(async move {
                                    engine.fetch_history_page(&channel).await
                                });
                                fetching = Some((count, reply, FetchOnDrop(fetch)));
                            }
                            Err(error) => { let _ = reply.send(Err(error.into())); }
                        }
                    }
                    fetched = async { (&mut fetching.as_mut().expect("guarded").2 .0).await }, if fetching.is_some() => {
                        let Some((count, reply, _)) = fetching.take() else { continue };
                        let diffs = match fetched {
                            Ok(Ok(_)) => timeline.older_from_cache(count).await.map_err(AppError::from),
                            Ok(Err(error)) => Err(error.into()),
                            Err(_) => Err(AppError::new("subscription_closed", "the timeline was closed")),
                        };
                        match diffs {
                            Ok(diffs) => {
                                complete = diffs.is_empty();
                                let dto = TimelineBatchDto::of(id, &diffs, &me, complete, None);
                                let open = sink(dto);
                                let _ = reply.send(Ok(complete));
                                if !open { break; }
                            }
                            Err(error) => { let _ = reply.send(Err(error)); }
                        }
                    }
                }
            }
            App::ended(&weak, id);
        });
        self.register(id, account, task, Some(older_tx))?;
        self.view_channel(Some(channel_id));
        Ok(id)
    }

    /// Loads older posts into a timeline subscription; true when all history is loaded.
    pub async fn load_older(&self, subscription: u32, count: usize) -> Result<bool, AppError> {
        let tx = self
            .inner
            .subs
            .lock()
            .get(&subscription)
            .and_then(|s| s.older.clone())
            .ok_or_else(|| AppError::invalid(format!("no timeline subscription {subscription}")))?;
        let (reply, answer) = oneshot::channel();
        tx.send((count, reply))
            .await
            .map_err(|_| AppError::new("subscription_closed", "the timeline was closed"))?;
        answer
            .await
            .map_err(|_| AppError::new("subscription_closed", "the timeline was closed"))?
    }

    /// A thread: the root post then its replies (oldest first) now, then diffs to the
    /// replies and updates of the root post; the whole thread is fetched from Graph in the
    /// background.
    pub async fn open_thread(
        &self,
        channel_id: &str,
        root_id: &str,
        sink: Sink<TimelineBatchDto>,
    ) -> Result<u32, AppError> {
        let (account, engine) = self.engine()?;
        let me = account.user_id.to_string();
        let (replies, mut thread) = engine.thread(channel_id, root_id).await?;
        let root_key = MessageKey {
            channel_id: channel_id.to_owned(),
            root_id: root_id.to_owned(),
            id: root_id.to_owned(),
        };
        let root = engine.message(root_key).await?;
        let mut items = Vec::with_capacity(replies.len() + 1);
        if let Some(row) = root {
            let reply_count = i64::try_from(replies.len()).unwrap_or(i64::MAX);
            items.push(MessageDto::of(
                &perch_store::TimelineItem {
                    row,
                    reply_count,
                    last_reply_at: replies.last().map(|r| r.row.created_at),
                    unread: false,
                    pending: Vec::new(),
                },
                &me,
            ));
        }
        items.extend(replies.iter().map(|i| MessageDto::of(i, &me)));
        let id = self.next_id();
        if !sink(TimelineBatchDto {
            subscription: id,
            diffs: vec![TimelineDiffDto::Reset { items }],
            history_complete: true,
            committed_at_ms: None,
        }) {
            return Ok(id);
        }
        let weak = Arc::downgrade(&self.inner);
        let task = tokio::spawn({
            let engine = engine.clone();
            let (channel, root) = (channel_id.to_owned(), root_id.to_owned());
            async move {
                // Fetching the whole thread ends with the subscription (dropped on abort).
                let _fetch = {
                    let engine = engine.clone();
                    AbortOnDrop(tokio::spawn(async move {
                        if let Err(error) = engine.refresh_thread(&channel, &root).await {
                            tracing::info!(code = error.code(), %error, "thread not refreshed");
                        }
                    }))
                };
                while let Some(batch) = thread.next().await {
                    match batch {
                        Ok(diffs) => {
                            let dto = TimelineBatchDto::of(id, &diffs, &me, true, None);
                            if !sink(dto) {
                                break;
                            }
                        }
                        Err(error) => tracing::warn!(%error, "thread update failed"),
                    }
                }
                App::ended(&weak, id);
            }
        });
        self.register(id, account, task, None)?;
        Ok(id)
    }

    /// Ends a subscription (unknown ids are ignored: it may have ended on its own).
    pub fn close_subscription(&self, subscription: u32) {
        if let Some(sub) = self.inner.subs.lock().remove(&subscription) {
            sub.task.abort();
        }
    }

    /// Open subscriptions (tests check that closing works).
    pub fn subscription_count(&self) -> usize {
        self.inner.subs.lock().len()
    }

    /// The channel on screen (synced at once and often), or none.
    pub fn view_channel(&self, channel_id: Option<&str>) {
        *self.inner.in_view.lock() = channel_id.map(str::to_owned);
        if let Some((_, engine)) = self.active_engine() {
            engine.view_channel(channel_id);
        }
    }

    /// The window was shown or hidden, and whether the person just did something.
    pub fn attention(&self, visible: bool, input: bool) {
        self.inner.visible.store(visible, Ordering::SeqCst);
        if let Some((_, engine)) = self.active_engine() {
            engine.window_visible(visible);
            if input {
                engine.user_input();
            }
        }
    }

    /// Marks a channel read up to now.
    pub async fn mark_read(&self, channel_id: &str) -> Result<(), AppError> {
        let (_, engine) = self.engine()?;
        engine.mark_read(channel_id, Utc::now()).await?;
        Ok(())
    }

    /// Follows or unfollows a channel.
    pub async fn set_followed(&self, channel_id: &str, followed: bool) -> Result<(), AppError> {
        let (_, engine) = self.engine()?;
        engine.set_followed(channel_id, followed).await?;
        Ok(())
    }

    /// Teams and channels now.
    pub async fn refresh(&self) -> Result<(), AppError> {
        let (_, engine) = self.engine()?;
        engine.refresh().await?;
        Ok(())
    }

    /// Queues a new post.
    pub async fn post(
        &self,
        channel_id: &str,
        draft: Draft,
        subject: Option<String>,
        importance: Option<String>,
    ) -> Result<i64, AppError> {
        let (_, engine) = self.engine()?;
        let item = engine
            .post(
                channel_id,
                NewPost {
                    draft,
                    subject: subject.filter(|s| !s.trim().is_empty()),
                    importance,
                },
            )
            .await?;
        self.clear_draft(channel_id, None);
        Ok(item.id)
    }

    /// Queues a reply.
    pub async fn reply(
        &self,
        channel_id: &str,
        root_id: &str,
        draft: Draft,
    ) -> Result<i64, AppError> {
        let (_, engine) = self.engine()?;
        let item = engine.reply(channel_id, root_id, &draft).await?;
        self.clear_draft(channel_id, Some(root_id));
        Ok(item.id)
    }

    /// Queues an edit.
    pub async fn edit(
        &self,
        channel_id: &str,
        message_id: &str,
        draft: Draft,
    ) -> Result<i64, AppError> {
        let (account, engine) = self.engine()?;
        // An edit keeps the post's subject and importance (the composer edits the body).
        let current = {
            let store = self.inner.store.lock();
            match store.find_message(&account, channel_id, message_id)? {
                Some(key) => store.message(&account, &key)?,
                None => None,
            }
        };
        let (subject, importance) = match (current, perch_engine::echo::parse_local_id(message_id))
        {
            (Some(row), _) => (row.subject, Some(row.importance)),
            (None, Some(local)) => match engine.outbox_item(local).await? {
                Some(item) => {
                    let payload = perch_engine::echo::Payload::of(&item);
                    (payload.subject, payload.importance)
                }
                None => (None, None),
            },
            (None, None) => (None, None),
        };
        let post = NewPost {
            draft,
            subject,
            importance,
        };
        Ok(engine.edit(channel_id, message_id, post).await?.id)
    }

    /// Queues a delete.
    pub async fn delete(&self, channel_id: &str, message_id: &str) -> Result<i64, AppError> {
        let (_, engine) = self.engine()?;
        Ok(engine.delete(channel_id, message_id).await?.id)
    }

    /// Queues an undelete.
    pub async fn undelete(&self, channel_id: &str, message_id: &str) -> Result<i64, AppError> {
        let (_, engine) = self.engine()?;
        Ok(engine.undelete(channel_id, message_id).await?.id)
    }

    /// Queues a reaction.
    pub async fn react(
        &self,
        channel_id: &str,
        message_id: &str,
        reaction: &str,
    ) -> Result<i64, AppError> {
        let (_, engine) = self.engine()?;
        Ok(engine.react(channel_id, message_id, reaction).await?.id)
    }

    /// Queues removing a reaction.
    pub async fn unreact(
        &self,
        channel_id: &str,
        message_id: &str,
        reaction: &str,
    ) -> Result<i64, AppError> {
        let (_, engine) = self.engine()?;
        Ok(engine.unreact(channel_id, message_id, reaction).await?.id)
    }

    /// Unfinished writes.
    pub async fn outbox(&self) -> Result<Vec<OutboxItemDto>, AppError> {
        let (account, engine) = self.engine()?;
        let items = engine.outbox(None, false).await?;
        let channels: HashMap<String, String> = self
            .inner
            .store
            .lock()
            .channels(&account)?
            .into_iter()
            .map(|c| (c.id, c.display_name))
            .collect();
        Ok(items
            .iter()
            .map(|item| {
                let payload = perch_engine::echo::Payload::of(item);
                let preview = match (&payload.html, &payload.reaction) {
                    (Some(html), _) => notify::shorten(&plain_text(html), 80),
                    (None, Some(r)) => reaction_emoji(r),
                    (None, None) => String::new(),
                };
                OutboxItemDto {
                    id: item.id,
                    channel_id: item.channel_id.clone(),
                    channel_name: channels.get(&item.channel_id).cloned().unwrap_or_default(),
                    kind: item.kind.into(),
                    state: item.state.into(),
                    preview,
                    attempts: item.attempts,
                    enqueued_at: ts(item.enqueued_at),
                    next_attempt_at: item.next_attempt_at.map(ts),
                    error_code: item.last_error_code.clone(),
                    error_message: item.last_error_message.clone(),
                }
            })
            .collect())
    }

    /// Retries a write now.
    pub async fn outbox_retry(&self, id: i64) -> Result<(), AppError> {
        let (_, engine) = self.engine()?;
        if !engine.retry(id).await? {
            return Err(AppError::new(
                "not_retryable",
                "This message is already on its way (or was sent).",
            ));
        }
        Ok(())
    }

    /// Discards a write (and those that depend on it).
    pub async fn outbox_cancel(&self, id: i64) -> Result<(), AppError> {
        let (_, engine) = self.engine()?;
        if !engine.cancel(id).await? {
            return Err(AppError::new(
                "not_cancellable",
                "This message was already sent and can no longer be discarded.",
            ));
        }
        Ok(())
    }

    /// A channel's members for mention suggestions.
    pub async fn members(&self, channel_id: &str) -> Result<Vec<MemberDto>, AppError> {
        let (_, engine) = self.engine()?;
        Ok(engine
            .members(channel_id, false)
            .await?
            .into_iter()
            .map(|m| MemberDto {
                user_id: m.user_id,
                display_name: m.display_name,
                email: m.email,
            })
            .collect())
    }

    /// Offline search.
    pub async fn search(
        &self,
        text: &str,
        channel_id: Option<String>,
        limit: usize,
    ) -> Result<Vec<SearchHitDto>, AppError> {
        let (account, engine) = self.engine()?;
        let hits = engine
            .search(SearchQuery {
                text: text.to_owned(),
                channel_id,
                limit: limit.clamp(1, 100),
                ..SearchQuery::default()
            })
            .await?;
        let (teams, channels) = {
            let store = self.inner.store.lock();
            let teams: HashMap<String, String> = store
                .teams(&account)?
                .into_iter()
                .map(|t| (t.id, t.display_name))
                .collect();
            let channels: HashMap<String, String> = store
                .channels(&account)?
                .into_iter()
                .map(|c| (c.id, c.display_name))
                .collect();
            (teams, channels)
        };
        Ok(hits
            .iter()
            .map(|h| {
                SearchHitDto::of(
                    h,
                    teams.get(&h.team_id).cloned().unwrap_or_default(),
                    channels.get(&h.key.channel_id).cloned().unwrap_or_default(),
                )
            })
            .collect())
    }

    /// A saved draft.
    pub fn load_draft(
        &self,
        channel_id: &str,
        root_id: Option<&str>,
    ) -> Result<Option<SavedDraftDto>, AppError> {
        let (account, _) = self.engine()?;
        let body = self
            .inner
            .store
            .lock()
            .draft(&account, channel_id, root_id)?;
        Ok(
            body.and_then(|b| match serde_json::from_str::<SavedDraftDto>(&b) {
                Ok(d) => Some(d),
                Err(error) => {
                    tracing::warn!(%error, "a saved draft is unreadable; starting empty");
                    None
                }
            }),
        )
    }

    /// Saves a draft; an empty one (no blocks, no subject) is deleted.
    pub fn save_draft(&self, draft: &SavedDraftDto) -> Result<(), AppError> {
        let (account, _) = self.engine()?;
        let empty = draft.draft.blocks.is_empty()
            && draft.subject.as_deref().is_none_or(|s| s.trim().is_empty());
        let body = if empty {
            None
        } else {
            Some(serde_json::to_string(draft).map_err(|e| AppError::internal(e.to_string()))?)
        };
        self.inner.store.lock().set_draft(
            &account,
            &draft.channel_id,
            draft.root_id.as_deref(),
            body.as_deref(),
        )?;
        Ok(())
    }

    fn clear_draft(&self, channel_id: &str, root_id: Option<&str>) {
        if let Some((account, _)) = self.active_engine() {
            if let Err(error) = self
                .inner
                .store
                .lock()
                .set_draft(&account, channel_id, root_id, None)
            {
                tracing::warn!(%error, "could not clear a sent draft");
            }
        }
    }

    /// Saves settings (validated against the policy); new sync intervals are in force at once.
    pub fn update_settings(&self, dto: &SettingsDto) -> Result<SettingsDto, AppError> {
        let settings = Settings::from_dto(dto, &self.inner.policy)?;
        settings.save(&mut self.inner.store.lock())?;
        let view = settings.view(&self.inner.policy);
        if let Some((_, engine)) = self.active_engine() {
            engine.set_intervals(
                std::time::Duration::from_secs(view.view_interval_secs.into()),
                std::time::Duration::from_secs(view.followed_interval_secs.into()),
            );
        }
        Ok(view)
    }

    /// Sets a channel's notifications.
    pub fn set_notify(&self, channel_id: &str, level: NotifyLevelDto) -> Result<(), AppError> {
        let (account, _) = self.engine()?;
        settings::set_notify_level(&mut self.inner.store.lock(), &account, channel_id, level)
    }

    /// The media cache's view of the app (for [`crate::media`]).
    pub(crate) fn media_parts(&self) -> Result<(AccountId, Engine, DataDir), AppError> {
        let (id, engine) = self.engine()?;
        Ok((id, engine, self.inner.data_dir.clone()))
    }

    pub(crate) fn data_dir(&self) -> &DataDir {
        &self.inner.data_dir
    }

    pub(crate) fn store(&self) -> &parking_lot::Mutex<Store> {
        &self.inner.store
    }
}

/// Drops the demo accounts' cache when the demo tenant's address changed (stored links and
/// hosts name the old one); the next sign-in starts fresh.
fn forget_demo_accounts(store: &Store, org: &Organisation) -> Result<(), AppError> {
    for record in store.accounts()? {
        if record.client_id == org.client_id && record.hosts != org.hosts {
            tracing::info!(account = %record.id, "the demo tenant moved; forgetting its old cache");
            store.delete_account(&record.id)?;
        }
    }
    Ok(())
}

fn unix_ms(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Starts an engine's background work: the scheduler and sender, and teams and channels when
/// they are older than a day.
fn start_engine(engine: &Engine) {
    engine.start();
    let engine = engine.clone();
    tokio::spawn(async move {
        if let Err(error) = engine.ensure_structure().await {
            tracing::warn!(code = error.code(), %error, "teams and channels not refreshed");
        }
    });
}

fn stop(active: Active) {
    for task in active.tasks {
        task.abort();
    }
    active.engine.shutdown();
    tracing::debug!(account = %active.id, "engine stopped");
}

fn plain_text(html: &str) -> String {
    let media = perch_html::MediaRewrite {
        graph_bases: Vec::new(),
        media_prefix: "perch-media://localhost/".into(),
        account_key: String::new(),
    };
    perch_html::sanitize(html, "html", &media).text
}

async fn forward_status(id: AccountId, engine: Engine, events: Arc<dyn Events>) {
    let mut rx = engine.status();
    loop {
        let dto = StatusDto::of(&id, &rx.borrow_and_update());
        events.status(&dto);
        if rx.changed().await.is_err() {
            break;
        }
    }
}

async fn forward_notifications(app: App, id: AccountId, engine: Engine) {
    let mut rx = engine.changes();
    let mut notifier = Notifier::new(Utc::now());
    let me = id.user_id.to_string();
    loop {
        let received = if notifier.holding() {
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
                .await
                .ok()
        } else {
            Some(rx.recv().await)
        };
        let change = match received {
            None => {
                // Held-back notifications whose gap has passed.
                let (in_view, quiet, previews) = notify_context(&app);
                let ctx = notify::Context {
                    me: &me,
                    in_view: in_view.as_deref(),
                    quiet,
                    previews,
                    now: Utc::now(),
                };
                for n in notifier.flush(&ctx) {
                    app.inner.events.notify(&n);
                }
                continue;
            }
            Some(Ok(c)) => c,
            Some(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                tracing::warn!(
                    missed = n,
                    "notifications fell behind; some may not be shown"
                );
                continue;
            }
            Some(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
        };
        let perch_engine::Change::Messages {
            channel_id,
            inserted,
            ..
        } = change
        else {
            continue;
        };
        if inserted.is_empty() {
            continue;
        }
        let (names, followed, level) = {
            let store = app.inner.store.lock();
            let Ok(Some(channel)) = store.channel(&id, &channel_id) else {
                continue;
            };
            let team = store
                .teams(&id)
                .ok()
                .and_then(|ts| ts.into_iter().find(|t| t.id == channel.team_id))
                .map(|t| t.display_name)
                .unwrap_or_default();
            let level = settings::notify_level(&store, &id, &channel_id);
            ((team, channel.display_name), channel.followed, level)
        };
        let mut batch = Vec::new();
        for key in &inserted {
            let Ok(Some(row)) = engine.message(key.clone()).await else {
                continue;
            };
            batch.push(notify::Incoming {
                key: key.into(),
                channel_name: names.1.clone(),
                team_name: names.0.clone(),
                followed,
                level,
                from_id: row.from_id.clone(),
                from_name: row.from_name.clone(),
                message_type: row.message_type.clone(),
                created_at: row.created_at,
                deleted: row.deleted_at.is_some(),
                mentions_me: row.mentions_me,
                text: row.body_text.clone(),
                subject: row.subject.clone(),
            });
        }
        let (in_view, quiet, previews) = notify_context(&app);
        let ctx = notify::Context {
            me: &me,
            in_view: in_view.as_deref(),
            quiet,
            previews,
            now: Utc::now(),
        };
        for n in notifier.consider(&batch, &ctx) {
            app.inner.events.notify(&n);
        }
    }
}

/// The channel on screen (when the window is visible), quiet hours now, previews.
fn notify_context(app: &App) -> (Option<String>, bool, bool) {
    let settings = app.settings();
    let view = settings.view(&app.inner.policy);
    let visible = app.inner.visible.load(Ordering::SeqCst);
    let in_view = app.inner.in_view.lock().clone().filter(|_| visible);
    (
        in_view,
        settings.is_quiet(chrono::Local::now().time()),
        view.notification_previews,
    )
}

/// The page cache of each of the app's database connections, in KiB (SQLite's default here is
/// 32 MiB): with a 100,000-post channel the app's memory grew by about 40 MB of cached pages.
const STORE_CACHE_KIB: u32 = 8 * 1024;

/// How long a restart in demo mode waits before it loads the demo tenant (the cache is on
/// screen meanwhile).
const DEMO_START_DELAY: std::time::Duration = std::time::Duration::from_millis(1200);

/// How long after the start the full check of a big cache runs: the first paint and the first
/// sync come first.
const DATABASE_CHECK_DELAY: std::time::Duration = std::time::Duration::from_secs(20);

/// The full check of a big cache ([`Store::check_in_background`]), kept off the start. Damage
/// is repaired at the next start; until then the banner asks for a restart.
async fn check_database_later(inner: std::sync::Weak<Inner>) {
    tokio::time::sleep(DATABASE_CHECK_DELAY).await;
    let Some(path) = inner.upgrade().map(|i| i.data_dir.database()) else {
        return;
    };
    let started = std::time::Instant::now();
    let found = tokio::task::spawn_blocking(move || Store::check_in_background(&path)).await;
    let Some(inner) = inner.upgrade() else {
        return;
    };
    match found {
        Ok(Ok(perch_store::Check::Damaged(reason))) => {
            inner.problems.lock().push(format!(
                "The local database is damaged ({reason}). Restart Perch to repair it: accounts, \
                 followed channels, drafts and unsent messages are kept, and messages are \
                 downloaded again."
            ));
            inner.events.accounts_changed();
        }
        Ok(Ok(check)) => tracing::debug!(
            ?check,
            ms = started.elapsed().as_millis() as u64,
            "database check"
        ),
        Ok(Err(error)) => tracing::warn!(%error, "the database check could not run"),
        Err(error) => tracing::warn!(%error, "the database check stopped"),
    }
}
