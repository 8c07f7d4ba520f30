//! The `perch-emulator` binary as scripts use it: the first stdout line is the address, the
//! server answers there, flags are validated, and SIGTERM stops it and saves `--state`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running {
    child: Child,
    base_url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_perch-emulator"))
        .args(["--addr", "127.0.0.1:0", "--profile", "small"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the emulator binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("reads the first line");
    let base_url = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line should announce the address, got {first:?}"))
        .to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    Running { child, base_url }
}

fn terminate(running: &mut Running) -> std::process::ExitStatus {
    let pid = running.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = running.child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the emulator ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn the_first_stdout_line_is_the_address_and_the_server_answers_there() {
    let running = start(&[]);
    let response = reqwest::get(format!("{}/_emulator/tenant", running.base_url))
        .await
        .expect("the admin API answers");
    assert_eq!(response.status(), 200);
    let tenant: serde_json::Value = response.json().await.expect("json");
    assert!(tenant.to_string().contains("users"), "{tenant}");

    // Graph without a token: Graph's 401 shape, never a panic or an empty answer.
    let response = reqwest::get(format!("{}/v1.0/me", running.base_url))
        .await
        .expect("Graph answers");
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("request-id"));
    let body: serde_json::Value = response.json().await.expect("json error body");
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
}

#[test]
fn sigterm_stops_it_and_saves_the_state_file() {
    let dir = std::env::temp_dir().join(format!("perch-emulator-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let state = dir.join("state.json");
    let _ = std::fs::remove_file(&state);
    let mut running = start(&["--state", state.to_str().expect("utf-8 path")]);
    let status = terminate(&mut running);
    assert!(status.success(), "exit status {status}");
    let saved = std::fs::read_to_string(&state).expect("the state file was written");
    assert!(saved.contains("teams"), "state file holds the tenant");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_perch-emulator"))
        .args(["--limits-scale=-3"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--limits-scale"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_perch-emulator"))
        .args(["--config", "/nonexistent/perch-emulator.json"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/perch-emulator.json"),
        "{stderr}"
    );
}
