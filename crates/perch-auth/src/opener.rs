//! Opening the sign-in page in the person's browser. The caller supplies the opener: the shell
//! wraps tauri-plugin-opener, the CLI uses [`SystemOpener`] (`$BROWSER`, else `xdg-open`,
//! `open` or the Windows URL handler), tests play the browser themselves. When no browser can
//! be started the URL is shown instead ([`BrowserOpener::show_url`]) so the person can open it
//! by hand.

use std::process::{Command, Stdio};

/// Opens a URL for the person.
pub trait BrowserOpener: Send + Sync {
    /// Opens `url` in a browser; `Err` with a reason when that was not possible. Must not
    /// block for long (start the browser, do not wait for it).
    fn open(&self, url: &str) -> Result<(), String>;

    /// Shows `url` when it could not be opened. The default prints it to stderr.
    fn show_url(&self, url: &str, reason: &str) {
        eprintln!(
            "Could not open a browser ({reason}). Open this address to sign in:\n\n  {url}\n"
        );
    }
}

impl<F> BrowserOpener for F
where
    F: Fn(&str) -> Result<(), String> + Send + Sync,
{
    fn open(&self, url: &str) -> Result<(), String> {
        self(url)
    }
}

/// The platform opener, honouring `$BROWSER`.
#[derive(Debug, Clone, Default)]
pub struct SystemOpener;

impl SystemOpener {
    /// The command lines tried, first to last, for the given `$BROWSER` value.
    pub fn candidates(browser_var: Option<&str>, url: &str) -> Vec<(String, Vec<String>, bool)> {
        let mut out = Vec::new();
        // `$BROWSER` may list several commands separated by `:`; `%s` stands for the URL.
        if let Some(var) = browser_var.filter(|v| !v.trim().is_empty()) {
            for command in var.split(':').filter(|c| !c.trim().is_empty()) {
                let mut words: Vec<String> =
                    command.split_whitespace().map(str::to_owned).collect();
                if words.is_empty() {
                    continue;
                }
                let program = words.remove(0);
                if words.iter().any(|w| w.contains("%s")) {
                    for w in &mut words {
                        *w = w.replace("%s", url);
                    }
                } else {
                    words.push(url.to_owned());
                }
                // A browser runs until closed: start it, do not wait.
                out.push((program, words, false));
            }
        }
        if cfg!(target_os = "macos") {
            out.push(("open".into(), vec![url.into()], true));
        } else if cfg!(windows) {
            out.push((
                "rundll32".into(),
                vec!["url.dll,FileProtocolHandler".into(), url.into()],
                false,
            ));
        } else {
            out.push(("xdg-open".into(), vec![url.into()], true));
        }
        out
    }
}

impl BrowserOpener for SystemOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        let browser = std::env::var("BROWSER").ok();
        let mut reasons = Vec::new();
        for (program, args, wait) in SystemOpener::candidates(browser.as_deref(), url) {
            let mut command = Command::new(&program);
            command
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            match command.spawn() {
                Ok(mut child) if wait => match child.wait() {
                    Ok(status) if status.success() => return Ok(()),
                    Ok(status) => reasons.push(format!("{program} exited with {status}")),
                    Err(e) => reasons.push(format!("{program}: {e}")),
                },
                Ok(_) => return Ok(()),
                Err(e) => reasons.push(format!("{program}: {e}")),
            }
        }
        Err(reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_variable() {
        let c = SystemOpener::candidates(Some("firefox --new-tab:lynx %s"), "http://x/");
        assert_eq!(c[0].0, "firefox");
        assert_eq!(c[0].1, vec!["--new-tab", "http://x/"]);
        assert_eq!(c[1].1, vec!["http://x/"]);
        assert!(!c[0].2);
        assert_eq!(SystemOpener::candidates(None, "u").len(), 1);
    }
}
