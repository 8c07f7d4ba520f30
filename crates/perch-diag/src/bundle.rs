//! The diagnostics bundle: one zip (deflate) a person can send to IT, holding the findings (as
//! text and JSON) and the log files, every file passed through the strict redaction
//! ([`Redactor::STRICT`]: secrets, e-mail addresses and message bodies) whatever the policy
//! allowed in the logs themselves. The database, settings and keyring are never included.
//!
//! The newest log files are taken first, up to [`MAX_LOG_BYTES`] in all. The zip is written to
//! a temporary name beside the target and renamed, so a failed write leaves no half bundle.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;

use crate::doctor::Report;
use crate::redact::Redactor;
use crate::DiagError;

/// Log bytes taken at most (newest files first).
pub const MAX_LOG_BYTES: u64 = 32 * 1024 * 1024;

/// What a bundle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Where it was written.
    pub path: PathBuf,
    /// The names inside it.
    pub entries: Vec<String>,
}

const README: &str = "\
This is a Perch diagnostics bundle, made to be sent to your IT department.

findings.txt / findings.json: the results of Perch's checks (perch-cli doctor, or Diagnostics
in the app's settings). logs/: Perch's recent log files.

Everything in it was redacted before it was written: access and refresh tokens, sign-in codes
and secrets, e-mail addresses and message text are replaced by [redacted], [email] or
[content]. It holds no database, settings file or keyring entry.
";

/// `perch-diagnostics-{UTC time}.zip`, the default file name.
pub fn default_name() -> String {
    format!(
        "perch-diagnostics-{}.zip",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    )
}

/// Writes the bundle to `path` from `report` and the `*.log` files in `log_dir`.
pub fn write(path: &Path, report: &Report, log_dir: Option<&Path>) -> Result<Bundle, DiagError> {
    let io = |source: std::io::Error| DiagError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let partial = path.with_extension("zip.partial");
    let file = std::fs::File::create(&partial).map_err(io)?;
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut entries = Vec::new();
    let mut add = |zip: &mut zip::ZipWriter<std::fs::File>, name: &str, text: &str| {
        zip.start_file(name, options)
            .map_err(|e| DiagError::Zip(e.to_string()))?;
        zip.write_all(redact_text(text).as_bytes()).map_err(io)?;
        entries.push(name.to_owned());
        Ok::<(), DiagError>(())
    };
    add(&mut zip, "README.txt", README)?;
    add(&mut zip, "findings.txt", &report.to_text())?;
    let json = serde_json::to_string_pretty(report).unwrap_or_default();
    add(&mut zip, "findings.json", &json)?;
    for (name, file) in log_files(log_dir) {
        let bytes = std::fs::read(&file).map_err(|source| DiagError::Io {
            path: file.clone(),
            source,
        })?;
        add(
            &mut zip,
            &format!("logs/{name}"),
            &String::from_utf8_lossy(&bytes),
        )?;
    }
    zip.finish().map_err(|e| DiagError::Zip(e.to_string()))?;
    std::fs::rename(&partial, path).map_err(io)?;
    Ok(Bundle {
        path: path.to_owned(),
        entries,
    })
}

/// Redacts text line by line with the strict rules.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&Redactor::STRICT.redact(line));
    }
    out
}

/// The `*.log` files (also rolled ones, `name.YYYY-MM-DD.log`) newest first, within the cap.
fn log_files(dir: Option<&Path>) -> Vec<(String, PathBuf)> {
    let Some(dir) = dir else { return Vec::new() };
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, u64, String, PathBuf)> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .filter_map(|e| {
            let meta = e.metadata().ok().filter(|m| m.is_file())?;
            let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            Some((
                modified,
                meta.len(),
                e.file_name().to_string_lossy().into_owned(),
                e.path(),
            ))
        })
        .collect();
    files.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)));
    let mut total = 0;
    let mut out = Vec::new();
    for (_, len, name, path) in files {
        if total + len > MAX_LOG_BYTES && !out.is_empty() {
            break;
        }
        total += len;
        out.push((name, path));
    }
    out
}
