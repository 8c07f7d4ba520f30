//! The person's app settings (theme, quiet hours, sync intervals, notification previews) and
//! per-channel notification levels: their stored form in the store's `settings` table, their
//! validation, and the limits a policy imposes (minimum intervals, previews off, locked keys).
//! Pure apart from the two functions that read and write the store.

use chrono::NaiveTime;
use perch_core::AccountId;
use perch_store::{CacheStore, Store};
use serde::{Deserialize, Serialize};

use crate::dto::{NotifyLevelDto, QuietHoursDto, SettingsDto, ThemeDto};
use crate::error::AppError;

/// The store key of the app settings.
pub const SETTINGS_KEY: &str = "app.settings";

/// Highest interval of either kind (a day).
pub use perch_core::policy::MAX_INTERVAL_SECS;
/// Lowest followed-channels interval.
pub use perch_core::policy::MIN_FOLLOWED_INTERVAL_SECS;
/// Lowest in-view interval a person may choose (Graph etiquette: 15 s, FACTS.md's polling rule
/// is per channel and far above this). The managed policy refuses a lower minimum.
pub use perch_core::policy::MIN_VIEW_INTERVAL_SECS;

/// What an organisation's policy imposes on the settings: built from the managed policy
/// ([`SettingsPolicy::under`]); tests fill it directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsPolicy {
    /// Raises the in-view minimum.
    pub min_view_interval_secs: Option<u32>,
    /// Raises the followed minimum.
    pub min_followed_interval_secs: Option<u32>,
    /// Forces previews on or off.
    pub notification_previews: Option<bool>,
}

impl SettingsPolicy {
    /// This policy with the managed policy's keys laid over it: the higher of the two minimums,
    /// the managed policy's forced previews when it sets them.
    pub fn under(self, managed: &perch_core::Policy) -> SettingsPolicy {
        let higher = |a: Option<u32>, b: Option<u32>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        SettingsPolicy {
            min_view_interval_secs: higher(
                self.min_view_interval_secs,
                managed.min_view_interval_secs,
            ),
            min_followed_interval_secs: higher(
                self.min_followed_interval_secs,
                managed.min_followed_interval_secs,
            ),
            notification_previews: managed.notification_previews.or(self.notification_previews),
        }
    }
}

/// The stored settings (without the policy's view of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// Theme.
    pub theme: ThemeDto,
    /// Quiet hours.
    pub quiet_hours: Option<QuietHoursDto>,
    /// In-view interval.
    pub view_interval_secs: u32,
    /// Followed interval.
    pub followed_interval_secs: u32,
    /// Previews in notifications.
    pub notification_previews: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: ThemeDto::System,
            quiet_hours: None,
            view_interval_secs: 15,
            followed_interval_secs: 300,
            notification_previews: true,
        }
    }
}

impl Settings {
    /// The settings as the UI sees them under `policy`: values raised to the minimums,
    /// forced values applied, and the locked fields named.
    pub fn view(&self, policy: &SettingsPolicy) -> SettingsDto {
        let min_view = policy
            .min_view_interval_secs
            .unwrap_or(0)
            .max(MIN_VIEW_INTERVAL_SECS);
        let min_followed = policy
            .min_followed_interval_secs
            .unwrap_or(0)
            .max(MIN_FOLLOWED_INTERVAL_SECS);
        let mut locked = Vec::new();
        if policy.notification_previews.is_some() {
            locked.push("notificationPreviews".to_owned());
        }
        // A minimum the policy raises is not a lock (the person may still choose a longer
        // interval), but the UI says who set it.
        let mut policy_floors = Vec::new();
        if policy.min_view_interval_secs.unwrap_or(0) > MIN_VIEW_INTERVAL_SECS {
            policy_floors.push("viewIntervalSecs".to_owned());
        }
        if policy.min_followed_interval_secs.unwrap_or(0) > MIN_FOLLOWED_INTERVAL_SECS {
            policy_floors.push("followedIntervalSecs".to_owned());
        }
        SettingsDto {
            theme: self.theme,
            quiet_hours: self.quiet_hours.clone(),
            view_interval_secs: self.view_interval_secs.clamp(min_view, MAX_INTERVAL_SECS),
            followed_interval_secs: self
                .followed_interval_secs
                .clamp(min_followed, MAX_INTERVAL_SECS),
            notification_previews: policy
                .notification_previews
                .unwrap_or(self.notification_previews),
            locked,
            policy_floors,
            min_view_interval_secs: min_view,
            min_followed_interval_secs: min_followed,
        }
    }

    /// Validates what the UI sent. Intervals below the minimum are refused (the UI shows the
    /// minimum, so a lower value is a bug or a hand-edited request); a locked value that
    /// differs from the policy's is refused.
    pub fn from_dto(dto: &SettingsDto, policy: &SettingsPolicy) -> Result<Settings, AppError> {
        let limits = Settings::default().view(policy);
        let check = |name: &str, v: u32, min: u32| {
            if v < min || v > MAX_INTERVAL_SECS {
                Err(AppError::invalid(format!(
                    "{name} must be between {min} and {MAX_INTERVAL_SECS} seconds (got {v})"
                )))
            } else {
                Ok(v)
            }
        };
        let view = check(
            "the in-view sync interval",
            dto.view_interval_secs,
            limits.min_view_interval_secs,
        )?;
        let followed = check(
            "the followed-channels sync interval",
            dto.followed_interval_secs,
            limits.min_followed_interval_secs,
        )?;
        if let Some(forced) = policy.notification_previews {
            if dto.notification_previews != forced {
                return Err(AppError::new(
                    "locked_by_policy",
                    "notification previews are set by your organisation's policy",
                ));
            }
        }
        if let Some(q) = &dto.quiet_hours {
            parse_hhmm(&q.start)?;
            parse_hhmm(&q.end)?;
        }
        Ok(Settings {
            theme: dto.theme,
            quiet_hours: dto.quiet_hours.clone(),
            view_interval_secs: view,
            followed_interval_secs: followed,
            notification_previews: dto.notification_previews,
        })
    }

    /// Reads the stored settings; unreadable JSON (an older or hand-edited value) falls back
    /// to defaults and is reported by the caller's log.
    pub fn load(store: &Store) -> Settings {
        match store.setting(SETTINGS_KEY) {
            Ok(Some(value)) => serde_json::from_value(value).unwrap_or_else(|error| {
                tracing::warn!(%error, "stored settings are unreadable; using defaults");
                Settings::default()
            }),
            Ok(None) => Settings::default(),
            Err(error) => {
                tracing::warn!(%error, "could not read settings; using defaults");
                Settings::default()
            }
        }
    }

    /// Stores the settings.
    pub fn save(&self, store: &mut Store) -> Result<(), AppError> {
        let value = serde_json::to_value(self).map_err(|e| AppError::internal(e.to_string()))?;
        store.set_setting(SETTINGS_KEY, &value)?;
        Ok(())
    }

    /// Whether `now` (local wall-clock time) is inside the quiet hours. A window whose end is
    /// before its start runs over midnight; equal ends mean no quiet hours.
    pub fn is_quiet(&self, now: NaiveTime) -> bool {
        let Some(q) = &self.quiet_hours else {
            return false;
        };
        let (Ok(start), Ok(end)) = (parse_hhmm(&q.start), parse_hhmm(&q.end)) else {
            return false;
        };
        if start == end {
            false
        } else if start < end {
            now >= start && now < end
        } else {
            now >= start || now < end
        }
    }
}

/// Parses "HH:MM".
pub fn parse_hhmm(s: &str) -> Result<NaiveTime, AppError> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .map_err(|_| AppError::invalid(format!("`{s}` is not a time of day as HH:MM")))
}

/// The store key of a channel's notification level.
fn notify_key(account: &AccountId, channel_id: &str) -> String {
    format!("notify.{account}.{channel_id}")
}

/// A channel's notification level (default: mentions only, like Teams for channels).
pub fn notify_level(store: &Store, account: &AccountId, channel_id: &str) -> NotifyLevelDto {
    store
        .setting(&notify_key(account, channel_id))
        .ok()
        .flatten()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Sets a channel's notification level.
pub fn set_notify_level(
    store: &mut Store,
    account: &AccountId,
    channel_id: &str,
    level: NotifyLevelDto,
) -> Result<(), AppError> {
    let value = serde_json::to_value(level).map_err(|e| AppError::internal(e.to_string()))?;
    store.set_setting(&notify_key(account, channel_id), &value)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        parse_hhmm(s).unwrap()
    }

    #[test]
    fn quiet_hours_run_over_midnight() {
        let mut s = Settings {
            quiet_hours: Some(QuietHoursDto {
                start: "22:00".into(),
                end: "07:30".into(),
            }),
            ..Settings::default()
        };
        assert!(s.is_quiet(t("23:15")));
        assert!(s.is_quiet(t("03:00")));
        assert!(!s.is_quiet(t("07:30")));
        assert!(!s.is_quiet(t("12:00")));
        s.quiet_hours = Some(QuietHoursDto {
            start: "12:00".into(),
            end: "13:00".into(),
        });
        assert!(s.is_quiet(t("12:30")));
        assert!(!s.is_quiet(t("13:00")));
        s.quiet_hours = None;
        assert!(!s.is_quiet(t("12:30")));
    }

    #[test]
    fn policy_raises_minimums_and_locks_previews() {
        let policy = SettingsPolicy {
            min_view_interval_secs: Some(60),
            min_followed_interval_secs: None,
            notification_previews: Some(false),
        };
        let view = Settings::default().view(&policy);
        assert_eq!(view.view_interval_secs, 60);
        assert_eq!(view.min_view_interval_secs, 60);
        assert_eq!(view.min_followed_interval_secs, MIN_FOLLOWED_INTERVAL_SECS);
        assert!(!view.notification_previews);
        assert_eq!(view.locked, vec!["notificationPreviews"]);
        assert_eq!(view.policy_floors, vec!["viewIntervalSecs"]);

        let mut asked = view.clone();
        asked.notification_previews = true;
        assert_eq!(
            Settings::from_dto(&asked, &policy).unwrap_err().code,
            "locked_by_policy"
        );
        let mut asked = view.clone();
        asked.view_interval_secs = 20;
        assert_eq!(
            Settings::from_dto(&asked, &policy).unwrap_err().code,
            "invalid_value"
        );
        let mut asked = view;
        asked.quiet_hours = Some(QuietHoursDto {
            start: "25:00".into(),
            end: "07:00".into(),
        });
        assert!(Settings::from_dto(&asked, &policy).is_err());
    }

    #[test]
    fn the_managed_policy_lays_over_the_settings_policy() {
        let managed = perch_core::policy::parse_json(
            r#"{"min_view_interval_secs": 30, "min_followed_interval_secs": 600, "notification_previews": false}"#,
            "p",
        )
        .policy;
        let own = SettingsPolicy {
            min_view_interval_secs: Some(60),
            min_followed_interval_secs: None,
            notification_previews: Some(true),
        };
        let policy = own.under(&managed);
        assert_eq!(policy.min_view_interval_secs, Some(60));
        assert_eq!(policy.min_followed_interval_secs, Some(600));
        assert_eq!(policy.notification_previews, Some(false));
        let view = Settings::default().view(&policy);
        assert_eq!(view.followed_interval_secs, 600);
        assert_eq!(
            view.policy_floors,
            vec!["viewIntervalSecs", "followedIntervalSecs"]
        );
        assert_eq!(view.locked, vec!["notificationPreviews"]);
        assert_eq!(
            SettingsPolicy::default().under(&perch_core::Policy::default()),
            SettingsPolicy::default()
        );
    }

    #[test]
    fn settings_round_trip_through_the_store() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(Settings::load(&store), Settings::default());
        let s = Settings {
            theme: ThemeDto::Dark,
            view_interval_secs: 30,
            ..Settings::default()
        };
        s.save(&mut store).unwrap();
        assert_eq!(Settings::load(&store), s);
        store
            .set_setting(SETTINGS_KEY, &serde_json::json!("garbage"))
            .unwrap();
        assert_eq!(Settings::load(&store), Settings::default());
    }
}
