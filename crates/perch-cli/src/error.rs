//! [`CliError`]: every way a command fails, with the stable `code` scripts read in `--json`
//! output and the process exit code ([`ExitCode`]) they branch on. The texts come from the
//! crates below (perch-core's settings refusals, perch-auth's sign-in and keyring errors) with
//! a hint about what to run next; no variant holds a token.

use perch_auth::AuthError;
use perch_core::ConfigError;

/// The process exit codes (documented in the crate docs and `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: done.
    Ok = 0,
    /// 1: any other failure (the sign-in was declined, timed out, the database failed…).
    Failure = 1,
    /// 2: wrong usage: bad flags (clap), or an ACCOUNT that matches no account or several.
    Usage = 2,
    /// 3: an account needs an interactive sign-in (`perch-cli login`).
    NeedsSignIn = 3,
    /// 4: an administrator must act: consent for the app, or a Conditional Access policy.
    AdminAction = 4,
    /// 5: `doctor` found at least one failing check.
    DoctorFailed = 5,
    /// 65 (EX_DATAERR): a write was refused as written (empty, too long, a bad link, subject,
    /// reaction or mention, someone else's message, a deleted one, a reply to a reply): nothing
    /// was queued. Also a write Teams refused for good when it was sent (it waits in the outbox,
    /// wedged, for `outbox retry` or `outbox cancel`), one that expired unsent, and an outbox
    /// item that cannot be retried or cancelled in its state.
    Refused = 65,
    /// 69 (EX_UNAVAILABLE): the sign-in service or Graph is unavailable or unreachable.
    Unavailable = 69,
    /// 77 (EX_NOPERM): the system keyring is unavailable, locked or refused access.
    Keyring = 77,
    /// 78 (EX_CONFIG): the settings are invalid or incomplete.
    Config = 78,
}

impl ExitCode {
    /// The number the process exits with.
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The settings could not be resolved (names the setting and the layer).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// No data folder could be determined (no `--data-dir`, `PERCH_DATA_DIR` or home folder).
    #[error("cannot tell where to keep Perch's data: pass --data-dir or set PERCH_DATA_DIR")]
    NoDataDir,
    /// Sign-in, token or keyring failure.
    #[error("{0}")]
    Auth(#[from] AuthError),
    /// The local database failed.
    #[error("{0}")]
    Store(#[from] perch_store::Error),
    /// The command line named no account where several exist, or one that does not exist.
    #[error("{0}")]
    Usage(String),
    /// Graph answered with an error.
    #[error("Microsoft Graph answered {status}: {code} ({message})")]
    Graph {
        /// The HTTP status.
        status: u16,
        /// Graph's `error.code`.
        code: String,
        /// Graph's `error.message`.
        message: String,
    },
    /// Graph could not be reached.
    #[error("could not reach Microsoft Graph: {0}")]
    Network(String),
    /// The sync engine failed (Graph after retries, the cache, an unknown channel) or refused
    /// a write.
    #[error("{0}")]
    Engine(#[from] perch_engine::EngineError),
    /// A request Perch will not carry out as asked (an outbox item that cannot be retried or
    /// cancelled in its state).
    #[error("{message}")]
    Refused {
        /// A stable code for scripts.
        code: &'static str,
        /// What was refused and why.
        message: String,
    },
    /// The message text could not be read from stdin.
    #[error("could not read the message from stdin: {0}")]
    Stdin(#[source] std::io::Error),
}

impl From<perch_graph::GraphError> for CliError {
    fn from(e: perch_graph::GraphError) -> Self {
        CliError::Engine(perch_engine::EngineError::Graph(e))
    }
}

impl CliError {
    /// A stable code for scripts (perch-auth's and perch-core's codes where they apply).
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Config(e) => e.code(),
            CliError::NoDataDir => "no_data_dir",
            CliError::Auth(e) => e.code(),
            CliError::Store(e) => e.code(),
            CliError::Usage(_) => "usage",
            CliError::Graph { status: 401, .. } => "graph_unauthorized",
            CliError::Graph { status, .. } if *status >= 500 => "graph_unavailable",
            CliError::Graph { .. } => "graph_error",
            CliError::Network(_) => "network",
            CliError::Engine(e) => e.code(),
            CliError::Refused { code, .. } => code,
            CliError::Stdin(_) => "stdin",
        }
    }

    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Config(_) | CliError::NoDataDir => ExitCode::Config,
            CliError::Auth(e) => auth_exit_code(e),
            CliError::Store(_) => ExitCode::Failure,
            CliError::Usage(_) => ExitCode::Usage,
            CliError::Graph { status: 401, .. } => ExitCode::NeedsSignIn,
            CliError::Graph { status, .. } if *status >= 500 || *status == 429 => {
                ExitCode::Unavailable
            }
            CliError::Graph { .. } => ExitCode::Failure,
            CliError::Network(_) => ExitCode::Unavailable,
            CliError::Engine(e) => engine_exit_code(e),
            CliError::Refused { .. } => ExitCode::Refused,
            CliError::Stdin(_) => ExitCode::Failure,
        }
    }

    /// What to do next, when there is something to say beyond the message.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CliError::Auth(e) => match e {
                AuthError::NeedsSignIn { .. } => Some("run `perch-cli login` to sign in again"),
                AuthError::KeyringUnavailable { .. }
                | AuthError::KeyringLocked { .. }
                | AuthError::Keyring { .. } => Some(
                    "or pass --session-only to keep the sign-in in memory for this command only",
                ),
                _ => None,
            },
            CliError::Engine(e) if e.needs_sign_in() => Some("run `perch-cli login` to sign in again"),
            CliError::Engine(e) if e.disk_full() => {
                Some("free some disk space; nothing was lost and the next sync continues where it stopped")
            }
            CliError::Engine(perch_engine::EngineError::Compose(
                perch_core::compose::ComposeError::UnknownMention { .. },
            )) => Some(
                "nothing was queued; mention a member of the channel as @[Full Name], or as @firstname when no other member has that first name",
            ),
            CliError::Engine(perch_engine::EngineError::UnknownMessage(_)) => Some(
                "a message that is new here comes with `perch-cli sync CHANNEL`; a post not yet sent is named local-N (see `perch-cli outbox`)",
            ),
            CliError::Engine(e) if engine_exit_code(e) == ExitCode::Refused => {
                Some("nothing was queued")
            }
            _ => None,
        }
    }
}

/// The exit code for a sync engine error.
pub fn engine_exit_code(error: &perch_engine::EngineError) -> ExitCode {
    use perch_engine::EngineError;
    match error {
        e if e.needs_sign_in() => ExitCode::NeedsSignIn,
        EngineError::Graph(perch_graph::GraphError::Auth(a)) => auth_exit_code(a),
        EngineError::Graph(g) if g.is_transient() => ExitCode::Unavailable,
        EngineError::UnknownChannel(_)
        | EngineError::UnknownMessage(_)
        | EngineError::UnknownOutboxItem(_) => ExitCode::Usage,
        EngineError::Compose(_)
        | EngineError::NotYours(_)
        | EngineError::MessageDeleted(_)
        | EngineError::NotARootPost(_)
        | EngineError::Invalid(_) => ExitCode::Refused,
        _ => ExitCode::Failure,
    }
}

/// The exit code for a perch-auth error.
pub fn auth_exit_code(error: &AuthError) -> ExitCode {
    match error {
        AuthError::NeedsSignIn { .. } => ExitCode::NeedsSignIn,
        AuthError::ConsentRequired { .. }
        | AuthError::ConditionalAccess { .. }
        | AuthError::TenantNotAllowed { .. } => ExitCode::AdminAction,
        AuthError::ServiceUnavailable { .. } | AuthError::Network(_) => ExitCode::Unavailable,
        AuthError::KeyringUnavailable { .. }
        | AuthError::KeyringLocked { .. }
        | AuthError::Keyring { .. } => ExitCode::Keyring,
        AuthError::Config(_) => ExitCode::Config,
        _ => ExitCode::Failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let e = CliError::Auth(AuthError::KeyringLocked { detail: "x".into() });
        assert_eq!(e.exit_code().as_i32(), 77);
        assert!(e.hint().unwrap().contains("--session-only"));
        let e = CliError::Auth(AuthError::ConditionalAccess {
            description: "x".into(),
        });
        assert_eq!(e.exit_code().as_i32(), 4);
        assert_eq!(CliError::NoDataDir.exit_code().as_i32(), 78);
        assert_eq!(
            CliError::Auth(AuthError::Network("x".into()))
                .exit_code()
                .as_i32(),
            69
        );
        let refused = CliError::Engine(perch_engine::EngineError::Compose(
            perch_core::compose::ComposeError::Empty,
        ));
        assert_eq!(refused.exit_code().as_i32(), 65);
        assert_eq!(refused.code(), "empty_message");
        assert_eq!(refused.hint(), Some("nothing was queued"));
        let unknown = CliError::Engine(perch_engine::EngineError::UnknownOutboxItem(7));
        assert_eq!(unknown.exit_code().as_i32(), 2);
    }
}
