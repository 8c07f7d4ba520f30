//! A stand-in notification daemon: it owns `org.freedesktop.Notifications` on the run's
//! private session bus (the `dbus-run-session` that `scripts/test-e2e.sh` starts) and records
//! every `Notify` call, so a scenario can check exactly which desktop notifications the app
//! raised, through the same D-Bus call a real desktop would receive, and click one (the
//! daemon's `ActionInvoked` signal). One per test run, started before the first app
//! launches (the app's notification library looks the daemon up per call, so it must be
//! there first).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::Error;

/// One `Notify` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The id the recorder answered with.
    pub id: u32,
    /// The actions offered (key, label, key, label, …).
    pub actions: Vec<String>,
    /// `app_name`.
    pub app_name: String,
    /// `summary` (the title).
    pub summary: String,
    /// `body` (the preview).
    pub body: String,
}

/// The recorder, alive for the rest of the test process.
#[derive(Debug)]
pub struct Recorder {
    records: Arc<Mutex<Vec<Notification>>>,
    /// Keeps the bus name and the served object.
    _connection: zbus::blocking::Connection,
}

/// The D-Bus object, in a module of its own: the interface macro generates undocumented
/// public items (the signal's emitter among them).
mod daemon {
    #![allow(missing_docs)]

    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, PoisonError};

    use zbus::zvariant::OwnedValue;

    use super::Notification;

    /// The D-Bus object.
    pub(super) struct Daemon {
        pub(super) records: Arc<Mutex<Vec<Notification>>>,
        pub(super) next_id: u32,
    }

    #[zbus::interface(name = "org.freedesktop.Notifications")]
    impl Daemon {
        #[allow(clippy::too_many_arguments)]
        fn notify(
            &mut self,
            app_name: String,
            replaces_id: u32,
            _app_icon: String,
            summary: String,
            body: String,
            actions: Vec<String>,
            _hints: HashMap<String, OwnedValue>,
            _expire_timeout: i32,
        ) -> u32 {
            let id = if replaces_id != 0 {
                replaces_id
            } else {
                self.next_id += 1;
                self.next_id
            };
            self.records
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Notification {
                    id,
                    actions,
                    app_name,
                    summary,
                    body,
                });
            id
        }

        /// What a daemon sends when a person clicks a notification (or one of its actions).
        #[zbus(signal)]
        pub(super) async fn action_invoked(
            emitter: &zbus::object_server::SignalEmitter<'_>,
            id: u32,
            action_key: &str,
        ) -> zbus::Result<()>;

        fn close_notification(&self, _id: u32) {}

        fn get_capabilities(&self) -> Vec<String> {
            vec!["body".to_owned(), "actions".to_owned()]
        }

        fn get_server_information(&self) -> (String, String, String, String) {
            (
                "perch-e2e-recorder".to_owned(),
                "Perch".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
                "1.2".to_owned(),
            )
        }
    }
}

use daemon::Daemon;

/// The object path of the notification daemon.
const PATH: &str = "/org/freedesktop/Notifications";

static RECORDER: OnceLock<Result<Recorder, String>> = OnceLock::new();

/// The run's recorder, started on first use.
pub fn shared() -> Result<&'static Recorder, Error> {
    RECORDER
        .get_or_init(|| Recorder::start().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Setup(format!("start the notification recorder: {e}")))
}

impl Recorder {
    fn start() -> Result<Recorder, Error> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            return Err(Error::Setup(
                "no session bus: run under dbus-run-session (scripts/test-e2e.sh does)".to_owned(),
            ));
        }
        let records = Arc::new(Mutex::new(Vec::new()));
        let daemon = Daemon {
            records: Arc::clone(&records),
            next_id: 0,
        };
        let connection = zbus::blocking::connection::Builder::session()
            .and_then(|b| b.name("org.freedesktop.Notifications"))
            .and_then(|b| b.serve_at(PATH, daemon))
            .and_then(|b| b.build())
            .map_err(|e| {
                Error::Setup(format!(
                    "own org.freedesktop.Notifications on the session bus: {e} \
                     (is another notification daemon running?)"
                ))
            })?;
        Ok(Recorder {
            records,
            _connection: connection,
        })
    }

    /// Clicks a notification as a person would: the daemon's `ActionInvoked(id, "default")`.
    pub fn activate(&self, id: u32) -> Result<(), Error> {
        let iface = self
            ._connection
            .object_server()
            .interface::<_, Daemon>(PATH)
            .map_err(|e| Error::check("find the recorder's D-Bus object", e.to_string()))?;
        zbus::block_on(Daemon::action_invoked(
            iface.signal_emitter(),
            id,
            "default",
        ))
        .map_err(|e| Error::check("send ActionInvoked on the session bus", e.to_string()))
    }

    /// Every notification so far.
    pub fn all(&self) -> Vec<Notification> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many notifications so far (take it before an action, compare after).
    pub fn count(&self) -> usize {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
