//! The desktop binary's own command-line flags: `--version` (`-V`) and `--help` (`-h`) print and
//! exit before anything else runs (no logging, no GTK, no display), so `perch --version` works on
//! a headless machine, in a package's smoke test and over SSH. Everything else on the command
//! line is left alone (the desktop app takes no other arguments; the headless tool is
//! `perch-cli`).

use std::ffi::OsString;

/// What the command line asks for before the app starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Early {
    /// Print the version and exit.
    Version,
    /// Print the usage and exit.
    Help,
}

/// The first `--version`/`-V` or `--help`/`-h` among the arguments (without the program name).
/// A `--` ends the flags.
pub fn early_action<I>(args: I) -> Option<Early>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    for arg in args {
        let arg: OsString = arg.into();
        match arg.to_str() {
            Some("--") => return None,
            Some("--version" | "-V") => return Some(Early::Version),
            Some("--help" | "-h") => return Some(Early::Help),
            _ => {}
        }
    }
    None
}

/// The text printed for an early action.
pub fn early_text(action: Early) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match action {
        Early::Version => format!("perch {version}\n"),
        Early::Help => format!(
            "perch {version}: a fast, native desktop client for Microsoft Teams channels\n\
             \n\
             Usage: perch [--help | --version]\n\
             \n\
             Options:\n  \
               -h, --help     Print this help and exit\n  \
               -V, --version  Print the version and exit\n\
             \n\
             Environment:\n  \
               PERCH_TENANT, PERCH_CLIENT_ID  the organisation to sign in to (else the demo tenant)\n  \
               PERCH_DEMO=0                   never start the built-in demo tenant\n  \
               PERCH_DATA_DIR                 where Perch keeps its data\n  \
               PERCH_LOG                      log filter (e.g. debug), logs go to stderr\n\
             \n\
             The headless command-line client is `perch-cli` (perch-cli --help).\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_help_are_found_anywhere_before_a_double_dash() {
        assert_eq!(early_action(["--version"]), Some(Early::Version));
        assert_eq!(early_action(["-V"]), Some(Early::Version));
        assert_eq!(early_action(["--help"]), Some(Early::Help));
        assert_eq!(early_action(["-h"]), Some(Early::Help));
        assert_eq!(early_action(["--foo", "--version"]), Some(Early::Version));
        assert_eq!(early_action(["--help", "--version"]), Some(Early::Help));
        assert_eq!(early_action(["--", "--version"]), None);
        assert_eq!(early_action(Vec::<String>::new()), None);
        assert_eq!(early_action(["--versions", "-v", "help"]), None);
    }

    #[cfg(unix)]
    #[test]
    fn arguments_that_are_not_unicode_are_ignored() {
        use std::os::unix::ffi::OsStringExt;
        let odd = OsString::from_vec(vec![0xff, 0xfe]);
        assert_eq!(early_action([odd.clone()]), None);
        assert_eq!(
            early_action([odd, OsString::from("-V")]),
            Some(Early::Version)
        );
    }

    #[test]
    fn the_texts_name_the_version() {
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(early_text(Early::Version), format!("perch {version}\n"));
        let help = early_text(Early::Help);
        assert!(help.starts_with(&format!("perch {version}")));
        assert!(help.contains("--version") && help.contains("perch-cli"));
    }
}
