//! Logging for both binaries: daily rolling files in the OS log folder, kept for
//! [`RETENTION_DAYS`], every line redacted ([`crate::redact`]) before it is written, and
//! optionally the same lines on stderr (the CLI).
//!
//! Where: `PERCH_LOG_DIR` first, then the platform's convention (mirroring perch-core's
//! `DataDir`): `$XDG_STATE_HOME/perch/logs` or `~/.local/state/perch/logs` on Linux,
//! `~/Library/Logs/Perch` on macOS, `%LOCALAPPDATA%\Perch\logs` on Windows.
//!
//! Level of the file: the policy's `log_level` when it sets one, else `PERCH_LOG` (an
//! `EnvFilter` directive), else the person's setting, else `info`. Redaction: secrets always;
//! e-mail addresses and message bodies unless the policy's `log_message_content` is `true`.
//! Fields are redacted by name as they are formatted ([`RedactingFields`]) and every finished
//! line by pattern ([`RedactingWriter`]).
//!
//! This module installs the global subscriber and nothing else; it never reads the database or
//! the keyring.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use perch_core::policy::Policy;
use perch_core::Platform;
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::redact::{is_content_field, is_secret_field, Redactor, CONTENT, SECRET};
use crate::DiagError;

/// Daily files kept per binary (older ones are deleted as new days start).
pub const RETENTION_DAYS: usize = 14;

/// The log folder from an environment (pass `std::env::vars()`), or `None` when no variable
/// says where the home folder is.
pub fn log_dir<I, K, V>(vars: I, platform: Platform) -> Option<PathBuf>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let env: HashMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if let Some(dir) = env.get("PERCH_LOG_DIR") {
        return Some(PathBuf::from(dir));
    }
    let home = env.get("HOME").map(PathBuf::from);
    match platform {
        Platform::Xdg => env
            .get("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| home.map(|h| h.join(".local").join("state")))
            .map(|base| base.join("perch").join("logs")),
        Platform::MacOs => home.map(|h| h.join("Library").join("Logs").join("Perch")),
        Platform::Windows => env
            .get("LOCALAPPDATA")
            .map(|d| PathBuf::from(d).join("Perch").join("logs")),
    }
}

/// The log folder of this process's environment.
pub fn current_log_dir() -> Option<PathBuf> {
    log_dir(std::env::vars(), Platform::current())
}

/// How one binary logs.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The file name prefix: files are `{prefix}.{YYYY-MM-DD}.log`.
    pub prefix: String,
    /// The log folder (`None`: no file, e.g. no home folder).
    pub dir: Option<PathBuf>,
    /// The file's filter when neither the policy nor `PERCH_LOG` says (the person's setting).
    pub file_level: String,
    /// `PERCH_LOG`, when set.
    pub env_filter: Option<String>,
    /// Also write to stderr with this filter (the CLI); `None`: no stderr output.
    pub stderr: Option<String>,
    /// Colours on stderr.
    pub ansi: bool,
}

impl LogConfig {
    /// The defaults for a binary whose files start with `prefix`, from the process
    /// environment: the OS log folder, `PERCH_LOG`, `info` in the file, no stderr.
    pub fn from_env(prefix: &str) -> LogConfig {
        LogConfig {
            prefix: prefix.to_owned(),
            dir: current_log_dir(),
            file_level: "info".to_owned(),
            env_filter: std::env::var("PERCH_LOG").ok().filter(|v| !v.is_empty()),
            stderr: None,
            ansi: false,
        }
    }

    /// The file's filter directive: the policy's level, else `PERCH_LOG`, else the setting.
    pub fn file_directive(&self, policy: &Policy) -> String {
        match (policy.log_level, &self.env_filter) {
            (Some(level), _) => level.as_str().to_owned(),
            (None, Some(env)) => env.clone(),
            (None, None) => self.file_level.clone(),
        }
    }
}

/// Keeps the file writer's background thread; drop it last (it flushes what is queued).
#[derive(Debug)]
pub struct LogGuard {
    _worker: Option<tracing_appender::non_blocking::WorkerGuard>,
    /// The folder the file goes to, when there is one.
    pub dir: Option<PathBuf>,
    /// Why there is no file although a folder was given.
    pub problem: Option<String>,
}

/// Installs the global subscriber: the redacted rolling file (when `config.dir` can be
/// created; otherwise [`LogGuard::problem`] says why and a warning is logged) and, if asked,
/// redacted stderr. A subscriber already installed is an error (logging stays as it was).
pub fn init(config: &LogConfig, policy: &Policy) -> Result<LogGuard, DiagError> {
    let redactor = Redactor::for_logs(policy.log_message_content);
    let fields = RedactingFields { redactor };
    let stderr_layer = config.stderr.as_ref().map(|directive| {
        tracing_subscriber::fmt::layer()
            .with_writer(RedactingWriter::new(io::stderr, redactor))
            .with_ansi(config.ansi)
            .with_target(false)
            .fmt_fields(fields)
            .with_filter(filter(directive))
    });
    let mut problem = None;
    let appender = match &config.dir {
        Some(dir) => match rolling(dir, &config.prefix) {
            Ok(appender) => Some((appender, dir.clone())),
            Err(e) => {
                problem = Some(e.to_string());
                None
            }
        },
        None => None,
    };
    let (file_layer, worker, dir) = match appender {
        Some((appender, dir)) => {
            let (writer, worker) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(RedactingWriter::new(writer, redactor))
                .with_ansi(false)
                .fmt_fields(fields)
                .with_filter(filter(&config.file_directive(policy)));
            (Some(layer), Some(worker), Some(dir))
        }
        None => (None, None, None),
    };
    tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init()
        .map_err(|e| DiagError::Logging(e.to_string()))?;
    if let Some(problem) = &problem {
        tracing::warn!(error = %problem, "no log file: the log folder cannot be written");
    }
    Ok(LogGuard {
        _worker: worker,
        dir,
        problem,
    })
}

fn filter(directive: &str) -> EnvFilter {
    EnvFilter::try_new(directive).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The daily rolling appender in `dir` (created), keeping [`RETENTION_DAYS`] files.
pub fn rolling(
    dir: &Path,
    prefix: &str,
) -> Result<tracing_appender::rolling::RollingFileAppender, DiagError> {
    std::fs::create_dir_all(dir).map_err(|source| DiagError::Io {
        path: dir.to_owned(),
        source,
    })?;
    tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(prefix)
        .filename_suffix("log")
        .max_log_files(RETENTION_DAYS)
        .build(dir)
        .map_err(|e| DiagError::Logging(format!("{}: {e}", dir.display())))
}

/// A [`MakeWriter`] whose writers redact each write (the fmt layer writes one whole line per
/// write) before passing it on.
#[derive(Debug, Clone)]
pub struct RedactingWriter<M> {
    inner: M,
    redactor: Redactor,
}

impl<M> RedactingWriter<M> {
    /// Wraps `inner`.
    pub fn new(inner: M, redactor: Redactor) -> Self {
        RedactingWriter { inner, redactor }
    }
}

/// One redacting write.
#[derive(Debug)]
pub struct Redacting<W> {
    inner: W,
    redactor: Redactor,
}

impl<W: io::Write> io::Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = self.redactor.redact(&text);
        self.inner.write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingWriter<M> {
    type Writer = Redacting<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting {
            inner: self.inner.make_writer(),
            redactor: self.redactor,
        }
    }
}

/// Formats fields like the default formatter, but writes secret fields (`*_token`, `secret`,
/// `password`, …) as `[redacted]` always, and content fields (`body`, `text`, `html`,
/// `content`, `preview`, `subject`, `summary`) as `[content]` unless content is allowed, in
/// which case they are quoted (so the bundle's patterns can still find and remove them).
#[derive(Debug, Clone, Copy)]
pub struct RedactingFields {
    redactor: Redactor,
}

impl RedactingFields {
    /// With the given redactor's content rule.
    pub fn new(redactor: Redactor) -> Self {
        RedactingFields { redactor }
    }
}

impl<'w> FormatFields<'w> for RedactingFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> std::fmt::Result {
        let mut visitor = FieldVisitor {
            writer,
            keep_content: self.redactor.keep_content,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct FieldVisitor<'w> {
    writer: Writer<'w>,
    keep_content: bool,
    first: bool,
    result: std::fmt::Result,
}

impl FieldVisitor<'_> {
    fn write(&mut self, field: &Field, value: &dyn std::fmt::Debug, quoted_text: Option<&str>) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        // `log` crate metadata (target, module, file, line) that tracing-log adds: not shown.
        if name.starts_with("log.") {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        let mut line = String::new();
        let _ = if is_secret_field(name) {
            write!(line, "{sep}{name}={SECRET}")
        } else if is_content_field(name) {
            if self.keep_content {
                let text = quoted_text.map_or_else(|| format!("{value:?}"), str::to_owned);
                write!(line, "{sep}{name}={text:?}")
            } else {
                write!(line, "{sep}{name}={CONTENT}")
            }
        } else if name == "message" {
            write!(line, "{sep}{value:?}")
        } else {
            write!(line, "{sep}{name}={value:?}")
        };
        self.result = self.writer.write_str(&line);
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, &format_args!("{value}"), None);
        } else {
            self.write(field, &value, Some(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        self.write(field, value, Some(&text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perch_core::policy::LogLevel;

    #[test]
    fn log_dir_per_platform() {
        let d = log_dir(
            [("PERCH_LOG_DIR", "/tmp/l"), ("HOME", "/home/u")],
            Platform::Xdg,
        );
        assert_eq!(d.unwrap(), Path::new("/tmp/l"));
        let d = log_dir([("HOME", "/home/u")], Platform::Xdg).unwrap();
        assert_eq!(d, Path::new("/home/u/.local/state/perch/logs"));
        let d = log_dir(
            [("HOME", "/home/u"), ("XDG_STATE_HOME", "/state")],
            Platform::Xdg,
        )
        .unwrap();
        assert_eq!(d, Path::new("/state/perch/logs"));
        let d = log_dir(
            [("HOME", "/home/u"), ("XDG_STATE_HOME", "relative")],
            Platform::Xdg,
        )
        .unwrap();
        assert_eq!(d, Path::new("/home/u/.local/state/perch/logs"));
        let d = log_dir([("HOME", "/Users/u")], Platform::MacOs).unwrap();
        assert_eq!(d, Path::new("/Users/u/Library/Logs/Perch"));
        let d = log_dir(
            [("LOCALAPPDATA", r"C:\Users\u\AppData\Local")],
            Platform::Windows,
        );
        assert!(d.unwrap().ends_with("logs"));
        assert!(log_dir(Vec::<(String, String)>::new(), Platform::Windows).is_none());
    }

    #[test]
    fn the_policy_level_wins_over_perch_log_and_the_setting() {
        let mut config = LogConfig {
            prefix: "t".into(),
            dir: None,
            file_level: "warn".into(),
            env_filter: None,
            stderr: None,
            ansi: false,
        };
        let none = Policy::default();
        assert_eq!(config.file_directive(&none), "warn");
        config.env_filter = Some("perch_auth=debug".into());
        assert_eq!(config.file_directive(&none), "perch_auth=debug");
        let policy = Policy {
            log_level: Some(LogLevel::Error),
            ..Policy::default()
        };
        assert_eq!(config.file_directive(&policy), "error");
    }

    /// A writer that keeps what was written.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn capture(keep_content: bool, emit: impl FnOnce()) -> String {
        let sink = Captured::default();
        let out = sink.clone();
        let redactor = Redactor { keep_content };
        let subscriber = tracing_subscriber::fmt()
            .with_writer(RedactingWriter::new(move || sink.clone(), redactor))
            .with_ansi(false)
            .fmt_fields(RedactingFields::new(redactor))
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn fields_are_redacted_by_name_and_lines_by_pattern() {
        let body = "The numbers for Q3 are in";
        let emit = || {
            tracing::info!(
                body = %body,
                refresh_token = "0.AXYA-secret",
                code = "keyring_locked",
                upn = "megan@contoso.com",
                "posted Bearer abc.def.ghi"
            );
        };
        let strict = capture(false, emit);
        assert!(!strict.contains("Q3"), "{strict}");
        assert!(!strict.contains("0.AXYA"), "{strict}");
        assert!(!strict.contains("megan@"), "{strict}");
        assert!(!strict.contains("abc.def"), "{strict}");
        assert!(strict.contains("code=\"keyring_locked\""), "{strict}");
        assert!(strict.contains("body=[content]"), "{strict}");
        let open = capture(true, emit);
        assert!(open.contains("The numbers for Q3 are in"), "{open}");
        assert!(open.contains("megan@contoso.com"), "{open}");
        assert!(
            !open.contains("0.AXYA") && !open.contains("abc.def"),
            "{open}"
        );
        // Kept bodies are quoted, so a bundle can still take them out.
        assert!(!Redactor::STRICT.redact(&open).contains("Q3"));
    }
}
