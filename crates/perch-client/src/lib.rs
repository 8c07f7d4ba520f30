//! `perch-client`: Perch as the desktop window sees it, with no window system. The Tauri shell
//! (src-tauri) is a thin layer of commands over [`App`]; everything with behaviour lives here,
//! so it is tested without WebKit against the real emulator:
//!
//! - [`app`]: accounts and sign-in, the active account's engine, subscriptions that stream
//!   sidebar, timeline and thread diffs as DTO batches, writes, search, drafts, settings;
//! - [`demo`]: the built-in demo tenant (the emulator in-process) when no organisation is set;
//! - [`dto`]: every type that crosses the IPC boundary, and [`bindings`], their TypeScript;
//! - [`notify`]: which new messages raise a desktop notification, coalesced;
//! - [`media`]: the `perch-media:` scheme (inline images with the account's token, cached);
//! - [`settings`]: the person's settings and per-channel notification levels;
//! - [`diagnostics`]: the Diagnostics page's checks and the bundle for IT (perch-diag);
//! - [`error`]: [`AppError`], `{code, message}` for the UI.

pub mod app;
pub mod bindings;
pub mod demo;
pub mod diagnostics;
pub mod dto;
pub mod error;
pub mod media;
pub mod notify;
pub mod settings;

pub use app::{App, AppConfig, Events, Sink};
pub use diagnostics::Diagnostics;
pub use error::AppError;
pub use notify::Notification;
pub use settings::SettingsPolicy;
