//! The commands the UI may invoke: thin wrappers over [`perch_client::App`], one call each,
//! errors as `{code, message}`. Each is declared in `build.rs` and granted in
//! `capabilities/default.json`; anything else is refused by Tauri. Streams (sidebar,
//! timelines, threads) go back over the `Channel` the UI passes in.

use perch_client::dto::{
    AccountDto, AppStateDto, BundleDto, CommandErrorDto, DiagnosticsDto, MemberDto, NotifyLevelDto,
    OutboxItemDto, SavedDraftDto, SearchHitDto, SettingsDto, SidebarDiffDto, TimelineBatchDto,
    UpdateStatusDto,
};
use perch_client::{App, AppError};
use perch_core::compose::Draft;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use crate::updater::Updates;
use crate::Shell;

/// What the shell reports about itself.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppInfo {
    /// Product name.
    pub name: String,
    /// Semantic version of this build.
    pub version: String,
}

type Answer<T> = Result<T, CommandErrorDto>;

fn err(e: AppError) -> CommandErrorDto {
    e.dto()
}

async fn app(shell: &State<'_, Shell>) -> Answer<App> {
    shell.app().await.map_err(err)
}

fn sink<T: Serialize + Clone + Send + Sync + 'static>(
    channel: Channel<T>,
) -> perch_client::Sink<T> {
    std::sync::Arc::new(move |batch: T| channel.send(batch).is_ok())
}

/// Name and version of the app.
#[tauri::command]
pub fn app_info() -> AppInfo {
    AppInfo {
        name: "Perch".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Everything the UI needs at start.
#[tauri::command]
pub async fn app_state(shell: State<'_, Shell>) -> Answer<AppStateDto> {
    app(&shell).await?.state().await.map_err(err)
}

/// Interactive sign-in through the system browser.
#[tauri::command]
pub async fn sign_in(shell: State<'_, Shell>) -> Answer<AccountDto> {
    app(&shell).await?.sign_in().await.map_err(err)
}

/// Gives up a waiting sign-in.
#[tauri::command]
pub async fn cancel_sign_in(shell: State<'_, Shell>) -> Answer<()> {
    app(&shell).await?.cancel_sign_in();
    Ok(())
}

/// Signs an account out.
#[tauri::command]
pub async fn sign_out(shell: State<'_, Shell>, account_id: String, purge: bool) -> Answer<()> {
    app(&shell)
        .await?
        .sign_out(&account_id, purge)
        .await
        .map_err(err)
}

/// Makes another account active.
#[tauri::command]
pub async fn switch_account(shell: State<'_, Shell>, account_id: String) -> Answer<()> {
    app(&shell)
        .await?
        .switch_account(&account_id)
        .await
        .map_err(err)
}

/// Streams the sidebar.
#[tauri::command]
pub async fn subscribe_sidebar(
    shell: State<'_, Shell>,
    on_diffs: Channel<Vec<SidebarDiffDto>>,
) -> Answer<u32> {
    app(&shell)
        .await?
        .subscribe_sidebar(sink(on_diffs))
        .await
        .map_err(err)
}

/// Streams a channel's timeline.
#[tauri::command]
pub async fn open_timeline(
    shell: State<'_, Shell>,
    channel_id: String,
    on_batch: Channel<TimelineBatchDto>,
) -> Answer<u32> {
    app(&shell)
        .await?
        .open_timeline(&channel_id, sink(on_batch))
        .await
        .map_err(err)
}

/// Loads older posts into a timeline.
#[tauri::command]
pub async fn load_older(shell: State<'_, Shell>, subscription: u32, count: u32) -> Answer<bool> {
    app(&shell)
        .await?
        .load_older(subscription, count as usize)
        .await
        .map_err(err)
}

/// Streams a thread.
#[tauri::command]
pub async fn open_thread(
    shell: State<'_, Shell>,
    channel_id: String,
    root_id: String,
    on_batch: Channel<TimelineBatchDto>,
) -> Answer<u32> {
    app(&shell)
        .await?
        .open_thread(&channel_id, &root_id, sink(on_batch))
        .await
        .map_err(err)
}

/// Ends a subscription.
#[tauri::command]
pub async fn close_subscription(shell: State<'_, Shell>, subscription: u32) -> Answer<()> {
    app(&shell).await?.close_subscription(subscription);
    Ok(())
}

/// The channel on screen.
#[tauri::command]
pub async fn view_channel(shell: State<'_, Shell>, channel_id: Option<String>) -> Answer<()> {
    app(&shell).await?.view_channel(channel_id.as_deref());
    Ok(())
}

/// Window visibility and input.
#[tauri::command]
pub async fn attention(shell: State<'_, Shell>, visible: bool, input: bool) -> Answer<()> {
    app(&shell).await?.attention(visible, input);
    Ok(())
}

/// Marks a channel read.
#[tauri::command]
pub async fn mark_read(shell: State<'_, Shell>, channel_id: String) -> Answer<()> {
    app(&shell).await?.mark_read(&channel_id).await.map_err(err)
}

/// Follows or unfollows a channel.
#[tauri::command]
pub async fn set_followed(
    shell: State<'_, Shell>,
    channel_id: String,
    followed: bool,
) -> Answer<()> {
    app(&shell)
        .await?
        .set_followed(&channel_id, followed)
        .await
        .map_err(err)
}

/// Teams and channels now.
#[tauri::command]
pub async fn refresh(shell: State<'_, Shell>) -> Answer<()> {
    app(&shell).await?.refresh().await.map_err(err)
}

/// Queues a post.
#[tauri::command]
pub async fn post(
    shell: State<'_, Shell>,
    channel_id: String,
    draft: Draft,
    subject: Option<String>,
    importance: Option<String>,
) -> Answer<i64> {
    app(&shell)
        .await?
        .post(&channel_id, draft, subject, importance)
        .await
        .map_err(err)
}

/// Queues a reply.
#[tauri::command]
pub async fn reply(
    shell: State<'_, Shell>,
    channel_id: String,
    root_id: String,
    draft: Draft,
) -> Answer<i64> {
    app(&shell)
        .await?
        .reply(&channel_id, &root_id, draft)
        .await
        .map_err(err)
}

/// Queues an edit.
#[tauri::command]
pub async fn edit_message(
    shell: State<'_, Shell>,
    channel_id: String,
    message_id: String,
    draft: Draft,
) -> Answer<i64> {
    app(&shell)
        .await?
        .edit(&channel_id, &message_id, draft)
        .await
        .map_err(err)
}

/// Queues a delete.
#[tauri::command]
pub async fn delete_message(
    shell: State<'_, Shell>,
    channel_id: String,
    message_id: String,
) -> Answer<i64> {
    app(&shell)
        .await?
        .delete(&channel_id, &message_id)
        .await
        .map_err(err)
}

/// Queues an undelete.
#[tauri::command]
pub async fn undelete_message(
    shell: State<'_, Shell>,
    channel_id: String,
    message_id: String,
) -> Answer<i64> {
    app(&shell)
        .await?
        .undelete(&channel_id, &message_id)
        .await
        .map_err(err)
}

/// Queues a reaction.
#[tauri::command]
pub async fn react(
    shell: State<'_, Shell>,
    channel_id: String,
    message_id: String,
    reaction: String,
) -> Answer<i64> {
    app(&shell)
        .await?
        .react(&channel_id, &message_id, &reaction)
        .await
        .map_err(err)
}

/// Queues removing a reaction.
#[tauri::command]
pub async fn unreact(
    shell: State<'_, Shell>,
    channel_id: String,
    message_id: String,
    reaction: String,
) -> Answer<i64> {
    app(&shell)
        .await?
        .unreact(&channel_id, &message_id, &reaction)
        .await
        .map_err(err)
}

/// Unfinished writes.
#[tauri::command]
pub async fn outbox_list(shell: State<'_, Shell>) -> Answer<Vec<OutboxItemDto>> {
    app(&shell).await?.outbox().await.map_err(err)
}

/// Retries a write now.
#[tauri::command]
pub async fn outbox_retry(shell: State<'_, Shell>, id: i64) -> Answer<()> {
    app(&shell).await?.outbox_retry(id).await.map_err(err)
}

/// Discards a write.
#[tauri::command]
pub async fn outbox_cancel(shell: State<'_, Shell>, id: i64) -> Answer<()> {
    app(&shell).await?.outbox_cancel(id).await.map_err(err)
}

/// A channel's members.
#[tauri::command]
pub async fn members(shell: State<'_, Shell>, channel_id: String) -> Answer<Vec<MemberDto>> {
    app(&shell).await?.members(&channel_id).await.map_err(err)
}

/// Offline search.
#[tauri::command]
pub async fn search(
    shell: State<'_, Shell>,
    text: String,
    channel_id: Option<String>,
    limit: u32,
) -> Answer<Vec<SearchHitDto>> {
    app(&shell)
        .await?
        .search(&text, channel_id, limit as usize)
        .await
        .map_err(err)
}

/// A saved draft.
#[tauri::command]
pub async fn load_draft(
    shell: State<'_, Shell>,
    channel_id: String,
    root_id: Option<String>,
) -> Answer<Option<SavedDraftDto>> {
    app(&shell)
        .await?
        .load_draft(&channel_id, root_id.as_deref())
        .map_err(err)
}

/// Saves a draft.
#[tauri::command]
pub async fn save_draft(shell: State<'_, Shell>, draft: SavedDraftDto) -> Answer<()> {
    app(&shell).await?.save_draft(&draft).map_err(err)
}

/// Saves settings.
#[tauri::command]
pub async fn update_settings(
    shell: State<'_, Shell>,
    settings: SettingsDto,
) -> Answer<SettingsDto> {
    app(&shell).await?.update_settings(&settings).map_err(err)
}

/// Sets a channel's notifications.
#[tauri::command]
pub async fn set_notify(
    shell: State<'_, Shell>,
    channel_id: String,
    level: NotifyLevelDto,
) -> Answer<()> {
    app(&shell)
        .await?
        .set_notify(&channel_id, level)
        .map_err(err)
}

/// Opens an http(s) or mailto link in the system browser.
#[tauri::command]
pub fn open_external<R: Runtime>(app: AppHandle<R>, url: String) -> Answer<()> {
    crate::open_external(&app, &url).map_err(err)
}

/// Runs the diagnostics checks (the Diagnostics page).
#[tauri::command]
pub async fn diagnostics(shell: State<'_, Shell>) -> Answer<DiagnosticsDto> {
    app(&shell)
        .await?
        .diagnostics(&shell.diagnostics)
        .await
        .map_err(err)
}

/// Writes the redacted diagnostics bundle (Downloads, else the data folder); returns its path.
#[tauri::command]
pub async fn save_diagnostics_bundle(shell: State<'_, Shell>) -> Answer<BundleDto> {
    app(&shell)
        .await?
        .save_diagnostics_bundle(&shell.diagnostics, None)
        .await
        .map_err(err)
}

/// The in-app updater's state (off and why, idle, an update ready to install, a failure).
#[tauri::command]
pub fn update_status(updates: State<'_, Updates>) -> UpdateStatusDto {
    updates.status()
}

/// Installs the downloaded update and restarts Perch (off the main thread: writing an
/// AppImage or starting an installer takes a moment).
#[tauri::command]
pub async fn install_update<R: Runtime>(handle: AppHandle<R>) -> Answer<()> {
    crate::updater::install_and_restart(&handle).map_err(err)
}

/// Every command, in the order `build.rs` declares them.
/// The invoke handler.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_info,
        app_state,
        sign_in,
        cancel_sign_in,
        sign_out,
        switch_account,
        subscribe_sidebar,
        open_timeline,
        load_older,
        open_thread,
        close_subscription,
        view_channel,
        attention,
        mark_read,
        set_followed,
        refresh,
        post,
        reply,
        edit_message,
        delete_message,
        undelete_message,
        react,
        unreact,
        outbox_list,
        outbox_retry,
        outbox_cancel,
        members,
        search,
        load_draft,
        save_draft,
        update_settings,
        set_notify,
        open_external,
        diagnostics,
        save_diagnostics_bundle,
        update_status,
        install_update,
    ]
}
