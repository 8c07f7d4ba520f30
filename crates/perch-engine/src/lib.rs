//! `perch-engine`: the heart of Perch. For each signed-in account it keeps the local SQLite
//! cache (perch-store) in step with Microsoft Graph (perch-graph), politely:
//!
//! - teams and channels at start, on refresh, and at most daily in the background;
//! - channel messages only through delta, started with a date filter, resumed from the saved
//!   deltaLink, restarted from the watermark when a token expires; older history and whole
//!   threads on demand through list paging;
//! - an attention-driven schedule ([`schedule`]): the channel in view every 15 s, followed
//!   channels every 5 min, slower when hidden, stopped when the person is away;
//! - message HTML sanitised (perch-html) before it is stored for display;
//! - observable state: [`Engine::status`] as a watch, timelines, threads and the sidebar as
//!   subscriptions that yield the current items then diffs ([`views`]);
//! - the person's writes through a persisted send queue that delivers each exactly once
//!   ([`outbox`]), shown at once as local echoes ([`echo`]).
//!
//! The engine never holds a token: the Graph client asks perch-auth's token manager for one
//! per request.

pub mod config;
pub mod convert;
pub mod echo;
pub mod engine;
pub mod error;
pub mod outbox;
pub mod schedule;
pub mod status;
pub mod views;

pub use config::EngineConfig;
pub use engine::{Engine, EngineParts, Progress, RoundReport, StructureReport};
pub use error::EngineError;
pub use outbox::{DrainReport, NewPost};
pub use status::{Status, SyncStatus};
pub use views::{
    Change, Sidebar, SidebarChannel, SidebarDiff, SidebarTeam, Thread, Timeline, TimelineDiff,
};
