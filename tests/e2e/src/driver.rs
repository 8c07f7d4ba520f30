//! The `tauri-driver` process: started on two free loopback ports, waited for, and stopped
//! again. `tauri-driver` starts `WebKitWebDriver`, which starts the app (and the app its WebKit
//! helpers); the harness runs `tauri-driver` in a process group of its own so that everything
//! below it can be found and ended, even what a crash left behind.
//!
//! Stopping follows what works here: SIGTERM to `tauri-driver` (it then ends
//! `WebKitWebDriver`; SIGKILL would orphan it), a bounded wait, and SIGKILL to whatever is
//! still in the group. Signals are sent with `kill(1)` because the workspace forbids `unsafe`.
//! This module never talks WebDriver beyond the readiness probe.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::wait::{poll, Attempt};
use crate::Error;

/// How long `tauri-driver` and `WebKitWebDriver` get to start listening.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `tauri-driver` gets to exit after SIGTERM, and the group after SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running `tauri-driver`, stopped on [`TauriDriver::stop`] or on drop.
#[derive(Debug)]
pub struct TauriDriver {
    /// The process; `None` once stopped.
    child: Option<Child>,
    /// Its process id, which is also the id of the group everything below it runs in.
    pgid: u32,
    /// The intermediary port the WebDriver client talks to.
    port: u16,
    /// Where its stdout and stderr go (with `WebKitWebDriver`'s and the app's stderr).
    log: PathBuf,
}

impl TauriDriver {
    /// Starts `tauri-driver` with its output in `log`, and waits until a WebDriver request
    /// through it gets an answer (which means `WebKitWebDriver` is listening too).
    /// `env` is added to the environment the app inherits. `on_spawn` gets the process group id
    /// as soon as it exists (for the watchdog).
    pub fn start(
        program: &Path,
        log: &Path,
        env: &[(String, String)],
        client: &reqwest::blocking::Client,
        on_spawn: impl FnOnce(u32),
    ) -> Result<TauriDriver, Error> {
        let port = free_port()?;
        let native_port = loop {
            let candidate = free_port()?;
            if candidate != port {
                break candidate;
            }
        };
        let out = File::create(log).map_err(|source| Error::Io {
            step: "create the tauri-driver log",
            path: log.display().to_string(),
            source,
        })?;
        let err = out.try_clone().map_err(|source| Error::Io {
            step: "create the tauri-driver log",
            path: log.display().to_string(),
            source,
        })?;
        let mut command = Command::new(program);
        command
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // The app inherits tauri-driver's environment through WebKitWebDriver.
        command.envs(env.iter().map(|(k, v)| (k, v)));
        if std::env::var_os("PERCH_LOG").is_none() && !env.iter().any(|(k, _)| k == "PERCH_LOG") {
            // The app inherits this through WebKitWebDriver; its log lands in the same file.
            command.env("PERCH_LOG", "info");
        }
        let child = command.spawn().map_err(|source| Error::Spawn {
            step: "start tauri-driver",
            program: program.display().to_string(),
            source,
        })?;
        let mut driver = TauriDriver {
            pgid: child.id(),
            child: Some(child),
            port,
            log: log.to_owned(),
        };
        on_spawn(driver.pgid);
        // On failure `driver` drops here and stops whatever did start.
        driver.wait_ready(client)?;
        Ok(driver)
    }

    /// The base URL of the WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The log file of `tauri-driver`, `WebKitWebDriver` and the app.
    pub fn log(&self) -> &Path {
        &self.log
    }

    fn wait_ready(&mut self, client: &reqwest::blocking::Client) -> Result<(), Error> {
        // tauri-driver must get the Host header `127.0.0.1:<port>`: it forwards to the same
        // host on the native port, and WebKitWebDriver listens on 127.0.0.1 only.
        let status_url = format!("{}/status", self.url());
        poll("wait for tauri-driver to listen", READY_TIMEOUT, || {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Error::Exited {
                        step: "wait for tauri-driver to listen",
                        program: "tauri-driver".to_owned(),
                        status,
                    });
                }
            }
            match client
                .get(&status_url)
                .timeout(Duration::from_secs(2))
                .send()
            {
                // Any answer will do: tauri-driver answers only once it reached WebKitWebDriver.
                Ok(_) => Ok(Attempt::Done(())),
                Err(error) => Ok(Attempt::NotYet(format!("GET {status_url}: {error}"))),
            }
        })
    }

    /// Stops `tauri-driver` and everything in its process group. Safe to call twice; returns
    /// a description of what had to be forced, if anything.
    pub fn stop(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let mut problems = Vec::new();
        if child.try_wait().ok().flatten().is_none() {
            signal("TERM", &self.pgid.to_string());
            let deadline = Instant::now() + STOP_TIMEOUT;
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if child.try_wait().ok().flatten().is_none() {
                problems.push("tauri-driver ignored SIGTERM and was killed".to_owned());
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // Whatever is left in the group (WebKitWebDriver, the app, WebKit helpers) is an orphan.
        let group = format!("-{}", self.pgid);
        if group_alive(&group) {
            signal("KILL", &group);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while group_alive(&group) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if group_alive(&group) {
                problems.push(format!("process group {} survived SIGKILL", self.pgid));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        if let Err(problem) = self.stop() {
            eprintln!("e2e: stopping tauri-driver: {problem}");
        }
    }
}

/// Ends a process group from outside the harness's normal flow (the watchdog): SIGTERM to
/// its leader, `tauri-driver`, a short grace period, then SIGKILL to the whole group.
pub fn terminate_group(pgid: u32) {
    signal("TERM", &pgid.to_string());
    let group = format!("-{pgid}");
    let deadline = Instant::now() + STOP_TIMEOUT;
    while group_alive(&group) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        // tauri-driver exits on SIGTERM; what remains after it is orphaned.
        if !pid_alive(pgid) {
            break;
        }
    }
    signal("KILL", &group);
}

fn pid_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace()
                .next()
                .map(|state| state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// A loopback port nobody listens on right now. Another process could take it before
/// tauri-driver binds it; tauri-driver then exits and the readiness wait says so.
fn free_port() -> Result<u16, Error> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| Error::Io {
            step: "find a free port",
            path: "127.0.0.1:0".to_owned(),
            source,
        })
}

/// Sends `SIGNAL` to a pid, or to a group given as `-pgid`.
fn signal(name: &str, target: &str) {
    let _ = Command::new("kill")
        .args(["-s", name, "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether any live (non-zombie) process is left in the group given as `-pgid`. Read from
/// `/proc` rather than `kill -0`, which also counts zombies, and in a container the reaper of
/// orphans may never collect them.
fn group_alive(group: &str) -> bool {
    let Ok(pgid) = group.trim_start_matches('-').parse::<u32>() else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|f| f.parse::<u32>().ok());
        pgrp == Some(pgid) && state != Some("Z") && state != Some("X")
    })
}
