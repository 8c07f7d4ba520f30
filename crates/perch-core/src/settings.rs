//! Settings layers and their resolution into an [`Organisation`]. Sources, lowest to highest:
//! built-in defaults, the user's settings file, the environment (`PERCH_*`), and the managed
//! policy an organisation's IT deploys (read and validated by [`crate::policy`], whose
//! `settings_layer()` gives this layer). A higher layer's value replaces a lower one's. Every value is validated after merging,
//! and a refusal names the setting and the layer it came from, so a person knows what to fix
//! and where.
//!
//! This module does no I/O: callers read files and the environment and pass the contents in.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{Cloud, Hosts, Organisation, Scopes, Tenant};

/// Where a settings value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingsSource {
    /// Built into Perch.
    Defaults,
    /// The user's settings file.
    User(PathBuf),
    /// Process environment variables (`PERCH_*`).
    Environment,
    /// The managed policy file deployed by the organisation.
    Policy(PathBuf),
    /// Anything else a caller layers in (a test, a CLI flag), with a name for messages.
    Named(String),
}

impl fmt::Display for SettingsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsSource::Defaults => f.write_str("built-in defaults"),
            SettingsSource::User(path) => write!(f, "user settings ({})", path.display()),
            SettingsSource::Environment => f.write_str("environment"),
            SettingsSource::Policy(path) => write!(f, "managed policy ({})", path.display()),
            SettingsSource::Named(name) => f.write_str(name),
        }
    }
}

/// Unvalidated settings as one layer states them; `None` means "this layer does not say".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct RawSettings {
    /// `organizations`, a tenant GUID or a domain.
    pub tenant: Option<String>,
    /// The app registration's client id (a GUID).
    pub client_id: Option<String>,
    /// `global`, `usgov`, `dod` or `china`.
    pub cloud: Option<String>,
    /// An explicit login host (overrides the cloud's).
    pub login_host: Option<String>,
    /// An explicit Graph host (overrides the cloud's).
    pub graph_host: Option<String>,
    /// Scopes, space or comma separated.
    pub scopes: Option<String>,
}

/// Environment variable names, paired with the setting they feed.
pub const ENV_VARS: [(&str, &str); 6] = [
    ("PERCH_TENANT", "tenant"),
    ("PERCH_CLIENT_ID", "client_id"),
    ("PERCH_CLOUD", "cloud"),
    ("PERCH_LOGIN_HOST", "login_host"),
    ("PERCH_GRAPH_HOST", "graph_host"),
    ("PERCH_SCOPES", "scopes"),
];

impl RawSettings {
    /// The built-in defaults: any work or school account, the global cloud, FACTS' scopes. There
    /// is no default client id: each organisation registers its own app.
    pub fn defaults() -> RawSettings {
        RawSettings {
            tenant: Some("organizations".to_owned()),
            cloud: Some(Cloud::Global.as_str().to_owned()),
            scopes: Some(Scopes::default().as_slice().join(" ")),
            ..RawSettings::default()
        }
    }

    /// Picks the `PERCH_*` variables out of an environment (pass `std::env::vars()`). Empty
    /// values count as unset.
    pub fn from_env<I, K, V>(vars: I) -> RawSettings
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut raw = RawSettings::default();
        for (key, value) in vars {
            let value: String = value.into();
            if value.trim().is_empty() {
                continue;
            }
            let slot = match key.as_ref() {
                "PERCH_TENANT" => &mut raw.tenant,
                "PERCH_CLIENT_ID" => &mut raw.client_id,
                "PERCH_CLOUD" => &mut raw.cloud,
                "PERCH_LOGIN_HOST" => &mut raw.login_host,
                "PERCH_GRAPH_HOST" => &mut raw.graph_host,
                "PERCH_SCOPES" => &mut raw.scopes,
                _ => continue,
            };
            *slot = Some(value);
        }
        raw
    }

    /// Parses a settings file's JSON text (the user's settings, or the policy file). Unknown keys
    /// are refused so that a typo is not silently ignored.
    pub fn from_json(text: &str, source: &SettingsSource) -> Result<RawSettings, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::Unreadable {
            source_name: source.to_string(),
            reason: e.to_string(),
        })
    }
}

/// One layer: its values and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsLayer {
    /// Where the values came from (named in error messages).
    pub source: SettingsSource,
    /// The values.
    pub values: RawSettings,
}

impl SettingsLayer {
    /// A layer.
    pub fn new(source: SettingsSource, values: RawSettings) -> SettingsLayer {
        SettingsLayer { source, values }
    }

    /// The defaults layer.
    pub fn defaults() -> SettingsLayer {
        SettingsLayer::new(SettingsSource::Defaults, RawSettings::defaults())
    }

    /// The environment layer, from `std::env::vars()` or a test's map.
    pub fn environment<I, K, V>(vars: I) -> SettingsLayer
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        SettingsLayer::new(SettingsSource::Environment, RawSettings::from_env(vars))
    }

    /// Reads a settings file (the user's settings or the managed policy): `Ok(None)` when the
    /// file does not exist, a [`ConfigError::Unreadable`] naming it when it cannot be read or
    /// parsed. `source` is the layer's name, e.g. `SettingsSource::User(path.clone())`.
    pub fn read_file(
        path: &std::path::Path,
        source: SettingsSource,
    ) -> Result<Option<SettingsLayer>, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(SettingsLayer::new(
                source.clone(),
                RawSettings::from_json(&text, &source)?,
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ConfigError::Unreadable {
                source_name: source.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    fn source_of(&self, setting: &str) -> String {
        if self.source == SettingsSource::Environment {
            if let Some((var, _)) = ENV_VARS.iter().find(|(_, s)| *s == setting) {
                return format!("environment ({var})");
            }
        }
        self.source.to_string()
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value is present but wrong.
    #[error("setting `{setting}` from {source_name} is invalid: {reason}")]
    Invalid {
        /// The setting's name (`tenant`, `client_id`, …).
        setting: &'static str,
        /// The layer it came from, e.g. `environment (PERCH_TENANT)`.
        source_name: String,
        /// What is wrong, quoting the value.
        reason: String,
    },
    /// A required value is missing from every layer.
    #[error("setting `{setting}` is not set: {hint}")]
    Missing {
        /// The setting's name.
        setting: &'static str,
        /// Where it can be set.
        hint: &'static str,
    },
    /// A settings file could not be parsed.
    #[error("{source_name} could not be read: {reason}")]
    Unreadable {
        /// The layer.
        source_name: String,
        /// The parser's message.
        reason: String,
    },
}

impl ConfigError {
    /// A stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Invalid { .. } => "config_invalid",
            ConfigError::Missing { .. } => "config_missing",
            ConfigError::Unreadable { .. } => "config_unreadable",
        }
    }
}

/// Merges layers (lowest first) and validates the result.
pub fn resolve(layers: &[SettingsLayer]) -> Result<Organisation, ConfigError> {
    // For each setting, the highest layer that states it.
    fn pick(
        layers: &[SettingsLayer],
        get: impl Fn(&RawSettings) -> &Option<String>,
    ) -> Option<(&str, &SettingsLayer)> {
        layers
            .iter()
            .rev()
            .find_map(|l| get(&l.values).as_deref().map(|v| (v, l)))
    }
    fn invalid(setting: &'static str, layer: &SettingsLayer, reason: String) -> ConfigError {
        ConfigError::Invalid {
            setting,
            source_name: layer.source_of(setting),
            reason,
        }
    }

    let tenant = match pick(layers, |r| &r.tenant) {
        Some((v, l)) => Tenant::parse(v).map_err(|e| invalid("tenant", l, e))?,
        None => Tenant::Organizations,
    };
    let client_id = match pick(layers, |r| &r.client_id) {
        Some((v, l)) => Uuid::parse_str(v.trim()).map_err(|_| {
            invalid(
                "client_id",
                l,
                format!("`{v}` is not an application (client) id: expected a GUID"),
            )
        })?,
        None => {
            return Err(ConfigError::Missing {
                setting: "client_id",
                hint: "set your organisation's app registration id in the settings file, PERCH_CLIENT_ID or the managed policy",
            })
        }
    };
    let cloud = match pick(layers, |r| &r.cloud) {
        Some((v, l)) => Cloud::parse(v).ok_or_else(|| {
            invalid(
                "cloud",
                l,
                format!("`{v}` is not a known cloud (global, usgov, dod, china)"),
            )
        })?,
        None => Cloud::Global,
    };
    let mut hosts = Hosts::of_cloud(cloud);
    if let Some((v, l)) = pick(layers, |r| &r.login_host) {
        hosts.login = Hosts::parse_host(v).map_err(|e| invalid("login_host", l, e))?;
    }
    if let Some((v, l)) = pick(layers, |r| &r.graph_host) {
        hosts.graph = Hosts::parse_host(v).map_err(|e| invalid("graph_host", l, e))?;
    }
    let scopes = match pick(layers, |r| &r.scopes) {
        Some((v, l)) => Scopes::parse(v).map_err(|e| invalid("scopes", l, e))?,
        None => Scopes::default(),
    };
    Ok(Organisation {
        tenant,
        client_id,
        cloud,
        hosts,
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

    fn env(pairs: &[(&str, &str)]) -> SettingsLayer {
        SettingsLayer::environment(pairs.iter().map(|(k, v)| (*k, v.to_string())))
    }

    #[test]
    fn layers_override_in_order() {
        let user = SettingsLayer::new(
            SettingsSource::User("/home/u/.config/perch/settings.json".into()),
            RawSettings::from_json(
                r#"{"tenant":"contoso.com","client_id":"11111111-2222-3333-4444-555555555555","cloud":"usgov"}"#,
                &SettingsSource::Defaults,
            )
            .unwrap(),
        );
        let org = resolve(&[
            SettingsLayer::defaults(),
            user,
            env(&[
                ("PERCH_CLOUD", "china"),
                ("PERCH_GRAPH_HOST", "http://127.0.0.1:9"),
            ]),
        ])
        .unwrap();
        assert_eq!(org.tenant, Tenant::Domain("contoso.com".into()));
        assert_eq!(org.cloud, Cloud::China);
        assert_eq!(org.hosts.login, Cloud::China.login_host());
        assert_eq!(org.hosts.graph, "http://127.0.0.1:9");
        assert_eq!(org.scopes, Scopes::default());

        let policy = SettingsLayer::new(
            SettingsSource::Policy("/etc/perch/policy.json".into()),
            RawSettings {
                cloud: Some("global".into()),
                ..Default::default()
            },
        );
        let org = resolve(&[
            SettingsLayer::defaults(),
            env(&[("PERCH_CLOUD", "china"), ("PERCH_CLIENT_ID", CLIENT)]),
            policy,
        ])
        .unwrap();
        assert_eq!(org.cloud, Cloud::Global);
    }

    #[test]
    fn settings_files() {
        let dir = std::env::temp_dir().join(format!("perch-core-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("settings.json");
        assert_eq!(
            SettingsLayer::read_file(&path, SettingsSource::User(path.clone())).unwrap(),
            None
        );
        std::fs::write(
            &path,
            r#"{"client_id":"11111111-2222-3333-4444-555555555555"}"#,
        )
        .unwrap();
        let layer = SettingsLayer::read_file(&path, SettingsSource::User(path.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(layer.values.client_id.as_deref(), Some(CLIENT));
        std::fs::write(&path, "{not json").unwrap();
        let err =
            SettingsLayer::read_file(&path, SettingsSource::Policy(path.clone())).unwrap_err();
        assert!(err.to_string().contains("managed policy"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refusals_name_setting_and_source() {
        let err = resolve(&[
            SettingsLayer::defaults(),
            env(&[("PERCH_TENANT", "common"), ("PERCH_CLIENT_ID", CLIENT)]),
        ])
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("`tenant` from environment (PERCH_TENANT)"),
            "{err}"
        );

        let err = resolve(&[
            SettingsLayer::defaults(),
            env(&[("PERCH_CLIENT_ID", CLIENT)]),
            SettingsLayer::new(
                SettingsSource::Policy("/etc/perch/policy.json".into()),
                RawSettings {
                    login_host: Some("http://login.example.com".into()),
                    ..Default::default()
                },
            ),
        ])
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`login_host`")
                && text.contains("managed policy (/etc/perch/policy.json)"),
            "{text}"
        );
        assert_eq!(err.code(), "config_invalid");

        let err = resolve(&[
            SettingsLayer::defaults(),
            env(&[("PERCH_CLOUD", "mars"), ("PERCH_CLIENT_ID", CLIENT)]),
        ])
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("`cloud` from environment (PERCH_CLOUD)"));

        let err = resolve(&[SettingsLayer::defaults()]).unwrap_err();
        assert_eq!(err.code(), "config_missing");

        let err = resolve(&[
            SettingsLayer::defaults(),
            env(&[("PERCH_CLIENT_ID", "not-a-guid")]),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("client_id"));

        let err =
            RawSettings::from_json(r#"{"tenat":"x"}"#, &SettingsSource::User("s.json".into()))
                .unwrap_err();
        assert_eq!(err.code(), "config_unreadable");
    }
}
