//! Where Perch keeps its state (the SQLite database, logs). `PERCH_DATA_DIR` moves all of it,
//! which is how tests and the demo keep out of a person's real profile. Otherwise the
//! platform's convention: `$XDG_DATA_HOME/perch` or `~/.local/share/perch` on Linux,
//! `~/Library/Application Support/Perch` on macOS, `%LOCALAPPDATA%\Perch` on Windows.
//!
//! Resolution is a pure function of the environment map passed in; creating the folder is the
//! caller's job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Perch's state folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir(PathBuf);

/// Which platform convention to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Linux and other XDG systems.
    Xdg,
    /// macOS.
    MacOs,
    /// Windows.
    Windows,
}

impl Platform {
    /// The platform this binary was built for.
    pub fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::MacOs
        } else if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Xdg
        }
    }
}

impl DataDir {
    /// Resolves the folder from an environment (pass `std::env::vars()`), or `None` when no
    /// variable says where the home folder is.
    pub fn resolve<I, K, V>(vars: I, platform: Platform) -> Option<DataDir>
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
        if let Some(dir) = env.get("PERCH_DATA_DIR") {
            return Some(DataDir(PathBuf::from(dir)));
        }
        let home = env.get("HOME").map(PathBuf::from);
        match platform {
            Platform::Xdg => env
                .get("XDG_DATA_HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| home.map(|h| h.join(".local").join("share")))
                .map(|base| DataDir(base.join("perch"))),
            Platform::MacOs => {
                home.map(|h| DataDir(h.join("Library").join("Application Support").join("Perch")))
            }
            Platform::Windows => env
                .get("LOCALAPPDATA")
                .map(|d| DataDir(PathBuf::from(d).join("Perch"))),
        }
    }

    /// A data folder at an explicit path.
    pub fn at(path: impl Into<PathBuf>) -> DataDir {
        DataDir(path.into())
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The SQLite database inside it.
    pub fn database(&self) -> PathBuf {
        self.0.join("perch.sqlite3")
    }

    /// The user settings file inside it.
    pub fn settings_file(&self) -> PathBuf {
        self.0.join("settings.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perch_data_dir_wins() {
        let d = DataDir::resolve(
            [("PERCH_DATA_DIR", "/tmp/x"), ("HOME", "/home/u")],
            Platform::Xdg,
        )
        .unwrap();
        assert_eq!(d.path(), Path::new("/tmp/x"));
        let d = DataDir::resolve([("HOME", "/home/u")], Platform::Xdg).unwrap();
        assert_eq!(d.path(), Path::new("/home/u/.local/share/perch"));
        let d = DataDir::resolve(
            [("HOME", "/home/u"), ("XDG_DATA_HOME", "/data")],
            Platform::Xdg,
        )
        .unwrap();
        assert_eq!(d.database(), Path::new("/data/perch/perch.sqlite3"));
        assert!(DataDir::resolve(Vec::<(String, String)>::new(), Platform::Windows).is_none());
        let d = DataDir::resolve([("HOME", "/Users/u")], Platform::MacOs).unwrap();
        assert!(d.path().ends_with("Library/Application Support/Perch"));
    }
}
