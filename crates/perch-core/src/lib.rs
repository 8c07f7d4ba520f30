//! `perch-core`: the pure core of Perch. Types every other crate shares and the rules that
//! decide them: an organisation's sign-in configuration ([`config`]), the settings layers it is
//! resolved from and the validation that refuses bad values ([`settings`]), where Perch keeps
//! its state ([`data_dir`]), account ids ([`ids`]), the managed policy's keys, validation and
//! readers ([`policy`]), and the message composer's structure and the
//! safe HTML body built from it ([`compose`]).
//!
//! The only I/O is reading the environment map and the settings files that a caller passes in
//! ([`SettingsLayer::read_file`]), and the managed policy from the operating system's managed
//! locations ([`policy::read_system`]: a file, the macOS managed preferences, the Windows
//! registry). Nothing here talks to the network, the keyring or SQLite;
//! those live in `perch-auth` and `perch-store`, which depend on this crate and never the
//! other way round.

pub mod compose;
pub mod config;
pub mod data_dir;
pub mod ids;
pub mod policy;
pub mod settings;

pub use config::{Cloud, Hosts, Organisation, Scopes, Tenant};
pub use data_dir::{DataDir, Platform};
pub use ids::{AccountId, ParseAccountIdError};
pub use policy::{LogLevel, Policy, PolicyProblem, PolicyReport};
pub use settings::{resolve, ConfigError, RawSettings, SettingsLayer, SettingsSource};
