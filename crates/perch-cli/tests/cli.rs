//! End-to-end tests of the real `perch-cli` binary against a real emulator started in this
//! process on 127.0.0.1:0. The browser is `perch-test-browser` (this crate's test tool) through
//! `$BROWSER`. Tests that need tokens to survive between commands use the real Secret Service
//! and run only with `PERCH_TEST_SECRET_SERVICE=1` (`scripts/with-secret-service.sh cargo test
//! -p perch-cli`); the others use `--session-only` and a temporary `PERCH_DATA_DIR`.
//! Every run's stdout and stderr are scanned for anything token-shaped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use perch_emulator::{Emulator, EmulatorConfig, Profile};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_perch-cli");
const BROWSER: &str = env!("CARGO_BIN_EXE_perch-test-browser");

struct Env {
    emulator: Emulator,
    base: String,
    tenant_id: String,
    client_id: String,
    upns: Vec<String>,
    dir: tempfile::TempDir,
}

impl Env {
    async fn start(auto_approve: bool) -> Env {
        Env::start_seeded(auto_approve, EmulatorConfig::default().seed).await
    }

    /// With the tenant seeded by `seed`: a seed of its own gives a test its own tenant and
    /// user ids, so tests that share the Secret Service do not share keyring entries.
    async fn start_seeded(auto_approve: bool, seed: u64) -> Env {
        let emulator = Emulator::start(EmulatorConfig {
            auto_approve,
            profile: Profile::Small,
            seed,
            ..Default::default()
        })
        .await
        .expect("emulator starts");
        let base = emulator.base_url().to_owned();
        // The admin API says which tenant and app to use, as a script would ask it.
        let tenant: Value = reqwest::get(format!("{base}/_emulator/tenant"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tenant_id = tenant["id"].as_str().expect("tenant id").to_owned();
        let client_id = tenant["demoClientId"]
            .as_str()
            .expect("demoClientId")
            .to_owned();
        let upns = emulator
            .state()
            .tenant
            .read()
            .users
            .iter()
            .map(|u| u.upn.clone())
            .collect();
        Env {
            emulator,
            base,
            tenant_id,
            client_id,
            upns,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Where the commands' log files go.
    fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    /// The text of every log file.
    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.log_dir()).into_iter().flatten() {
            all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
        }
        all
    }

    fn browser_log(&self) -> PathBuf {
        self.dir.path().join("browser.log")
    }

    /// The URLs the test browser was given so far.
    fn browsed(&self) -> Vec<String> {
        std::fs::read_to_string(self.browser_log())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn cli(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        for (key, _) in std::env::vars() {
            if key.starts_with("PERCH_") && !key.starts_with("PERCH_TEST_SECRET_SERVICE") {
                command.env_remove(key);
            }
        }
        command
            .args(args)
            .env("PERCH_TENANT", &self.tenant_id)
            .env("PERCH_CLIENT_ID", &self.client_id)
            .env("PERCH_LOGIN_HOST", &self.base)
            .env("PERCH_GRAPH_HOST", &self.base)
            .env("PERCH_DATA_DIR", self.dir.path().join("data"))
            .env("PERCH_LOG_DIR", self.log_dir())
            .env("BROWSER", BROWSER)
            .env("PERCH_TEST_BROWSER_LOG", self.browser_log())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, args: &[&str]) -> Run {
        run(self.cli(args)).await
    }
}

/// A finished command.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }

    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

async fn run(mut command: Command) -> Run {
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the command finishes")
        .expect("the command starts");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_token_free(&run.stdout);
    assert_token_free(&run.stderr);
    run
}

/// No JWT (`eyJ…`), no emulator refresh token (`0.A…`), no long base64-ish run (outside
/// the local media URLs of inline images, whose hosted-content ids are long base64 by nature).
fn assert_token_free(text: &str) {
    let mut rest = text;
    let mut kept = String::new();
    while let Some(at) = rest.find("perch-media://") {
        kept.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(['"', '\\', ' ']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    kept.push_str(rest);
    let text = kept.as_str();
    assert!(!text.contains("eyJ"), "a JWT in the output: {text}");
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    for (at, _) in text.match_indices("0.A") {
        let run = text[at + 3..]
            .chars()
            .take_while(|c| token_char(*c))
            .count();
        assert!(run < 20, "a refresh token in the output: {text}");
    }
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        if token_char(c) || c == '.' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    assert!(
        longest < 100,
        "something token-shaped in the output: {text}"
    );
}

fn account_rows(run: &Run) -> Vec<Value> {
    run.json()["accounts"].as_array().expect("accounts").clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_through_browser_with_auto_approve_then_session_only_states() {
    let env = Env::start(true).await;
    let login = env.run(&["--session-only", "login"]).await.ok();
    assert!(
        login.stderr.contains("Opening your browser to sign in…"),
        "{login:?}"
    );
    assert!(login.stdout.contains("Signed in."), "{login:?}");
    assert!(login.stdout.contains(&env.tenant_id), "{login:?}");
    assert!(login.stdout.contains("signed in"), "{login:?}");
    assert_eq!(env.browsed().len(), 1);

    // The next process has no refresh token: the account is there, and needs sign-in.
    let accounts = env
        .run(&["--session-only", "--json", "accounts"])
        .await
        .ok();
    let rows = account_rows(&accounts);
    assert_eq!(rows.len(), 1, "{accounts:?}");
    assert_eq!(rows[0]["state"], "needs_sign_in", "{accounts:?}");
    assert_eq!(accounts.json()["custody"], "session_only");
    let upn = rows[0]["upn"].as_str().unwrap().to_owned();

    let status = env.run(&["--session-only", "--json", "status"]).await;
    assert_eq!(status.code, 3, "{status:?}");
    assert_eq!(account_rows(&status)[0]["token"]["code"], "needs_sign_in");

    // A plain login now signs that account in again, with its UPN as login_hint.
    env.run(&["--session-only", "login"]).await.ok();
    let urls = env.browsed();
    assert!(urls[1].contains("login_hint="), "{urls:?}");

    let human = env.run(&["--session-only", "accounts"]).await.ok();
    assert!(human.stdout.starts_with("NAME"), "{human:?}");
    assert!(human.stdout.contains(&upn), "{human:?}");

    let logout = env
        .run(&["--session-only", "--json", "logout", &upn])
        .await
        .ok();
    assert_eq!(logout.json()["signed_out"]["upn"], upn.as_str());
    let accounts = env
        .run(&["--session-only", "--json", "accounts"])
        .await
        .ok();
    assert_eq!(account_rows(&accounts)[0]["state"], "signed_out");

    env.run(&["--session-only", "logout", "--purge"]).await.ok();
    let accounts = env
        .run(&["--session-only", "--json", "accounts"])
        .await
        .ok();
    assert!(account_rows(&accounts).is_empty(), "{accounts:?}");
    let none = env.run(&["--session-only", "logout"]).await;
    assert_eq!(none.code, 2, "{none:?}");
    env.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn login_by_completing_the_sign_in_page() {
    let env = Env::start(false).await;
    let login = env.run(&["--session-only", "--json", "login"]).await.ok();
    let account = &login.json()["account"];
    assert_eq!(account["upn"], env.upns[0].as_str(), "{login:?}");
    assert_eq!(account["state"], "signed_in");
    assert_eq!(account["tenant_id"], env.tenant_id.as_str());
    assert_eq!(login.json()["custody"], "session_only");

    // --add: prompt=select_account, and the person picks another user.
    let mut add = env.cli(&["--session-only", "--json", "login", "--add"]);
    add.env("PERCH_TEST_BROWSER_USER", &env.upns[1]);
    let add = run(add).await.ok();
    assert_eq!(
        add.json()["account"]["upn"],
        env.upns[1].as_str(),
        "{add:?}"
    );
    assert!(env.browsed()[1].contains("prompt=select_account"));

    let accounts = env
        .run(&["--session-only", "--json", "accounts"])
        .await
        .ok();
    assert_eq!(account_rows(&accounts).len(), 2);
    // Two accounts: logout must be told which.
    let ambiguous = env.run(&["--session-only", "--json", "logout"]).await;
    assert_eq!(ambiguous.code, 2, "{ambiguous:?}");
    assert_eq!(ambiguous.json()["error"]["code"], "usage");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_browser_prints_the_address_to_open() {
    let env = Env::start(true).await;
    let mut child = env
        .cli(&["--session-only", "--json", "login", "--no-browser"])
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), stderr.next_line())
            .await
            .expect("the address is printed")
            .unwrap()
            .expect("stderr open");
        seen.push_str(&line);
        seen.push('\n');
        if let Some(at) = line.find("http") {
            break line[at..].trim().to_owned();
        }
    };
    assert!(!seen.contains("Opening your browser"), "{seen}");
    assert!(url.contains("/oauth2/v2.0/authorize?"), "{url}");
    // The person opens it.
    let status = Command::new(BROWSER).arg(&url).status().await.unwrap();
    assert!(status.success());
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_token_free(&stdout);
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["account"]["state"], "signed_in");
}

#[tokio::test(flavor = "multi_thread")]
async fn device_code_login() {
    let env = Env::start(false).await;
    let mut child = env
        .cli(&["--session-only", "--json", "login", "--device-code"])
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let (uri, code) = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), stderr.next_line())
            .await
            .expect("the code is printed")
            .unwrap()
            .expect("stderr open");
        assert_token_free(&line);
        if let Some(at) = line.find("enter the code ") {
            let code = line[at + 15..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned();
            let start = line.find("http").unwrap();
            let uri = line[start..].split_whitespace().next().unwrap().to_owned();
            break (uri, code);
        }
    };
    assert!(uri.ends_with("/devicelogin"), "{uri}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert!(client.get(&uri).send().await.unwrap().status().is_success());
    let answer = client
        .post(format!("{}/devicelogin", env.base))
        .form(&[
            ("user_code", code.as_str()),
            ("user", env.upns[1].as_str()),
            ("action", "accept"),
        ])
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success() || answer.status().is_redirection());
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_token_free(&stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["account"]["upn"], env.upns[1].as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_settings_exit_78_naming_the_setting() {
    let env = Env::start(true).await;
    let mut command = env.cli(&["accounts"]);
    command.env("PERCH_TENANT", "not a tenant");
    let bad = run(command).await;
    assert_eq!(bad.code, 78, "{bad:?}");
    assert!(bad.stderr.contains("`tenant`"), "{bad:?}");
    assert!(bad.stderr.contains("PERCH_TENANT"), "{bad:?}");

    let mut command = env.cli(&["--json", "status"]);
    command.env("PERCH_TENANT", "not a tenant");
    let bad = run(command).await;
    assert_eq!(bad.code, 78);
    assert_eq!(bad.json()["error"]["code"], "config_invalid");
    assert_eq!(bad.json()["error"]["exit_code"], 78);

    // The user settings file is a layer too, below the environment.
    std::fs::create_dir_all(env.dir.path().join("data")).unwrap();
    std::fs::write(
        env.dir.path().join("data/settings.json"),
        r#"{"cloud": "mars"}"#,
    )
    .unwrap();
    let bad = env.run(&["accounts"]).await;
    assert_eq!(bad.code, 78, "{bad:?}");
    assert!(
        bad.stderr.contains("`cloud`") && bad.stderr.contains("settings.json"),
        "{bad:?}"
    );

    let usage = env.run(&["login", "--bogus"]).await;
    assert_eq!(usage.code, 2);
}

#[cfg(all(unix, not(target_os = "macos")))]
#[tokio::test(flavor = "multi_thread")]
async fn without_a_keyring_login_exits_77_and_suggests_session_only() {
    let env = Env::start(true).await;
    let empty = tempfile::tempdir().unwrap();
    let mut command = env.cli(&["login"]);
    command
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", empty.path());
    let out = run(command).await;
    assert_eq!(out.code, 77, "{out:?}");
    assert!(out.stderr.contains("keyring"), "{out:?}");
    assert!(out.stderr.contains("--session-only"), "{out:?}");
    assert!(env.browsed().is_empty(), "no sign-in was started");
}

/// The whole multi-command flow with refresh tokens in a real Secret Service.
#[tokio::test(flavor = "multi_thread")]
async fn keyring_session_login_status_whoami_revoke_logout() {
    if std::env::var("PERCH_TEST_SECRET_SERVICE").as_deref() != Ok("1") {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "keyring_session_login_status_whoami_revoke_logout: skipped; run inside scripts/with-secret-service.sh (PERCH_TEST_SECRET_SERVICE=1)"
        );
        return;
    }
    // A tenant of its own: this test revokes and deletes its keyring entry while others run.
    let env = Env::start_seeded(true, 7).await;
    if std::env::var("PERCH_TEST_SECRET_SERVICE_LOCKED").as_deref() == Ok("1") {
        // `scripts/with-secret-service.sh --locked`: the keyring is there but locked.
        let locked = env.run(&["login"]).await;
        assert_eq!(locked.code, 77, "{locked:?}");
        assert!(locked.stderr.contains("unlock"), "{locked:?}");
        assert!(locked.stderr.contains("--session-only"), "{locked:?}");
        assert!(env.browsed().is_empty(), "no sign-in was started");
        return;
    }
    let login = env.run(&["--json", "login"]).await.ok();
    assert_eq!(login.json()["custody"], "keyring");
    let upn = login.json()["account"]["upn"].as_str().unwrap().to_owned();

    let accounts = env.run(&["--json", "accounts"]).await.ok();
    assert_eq!(
        account_rows(&accounts)[0]["state"],
        "signed_in",
        "{accounts:?}"
    );

    let status = env.run(&["--json", "status"]).await.ok();
    let token = &account_rows(&status)[0]["token"];
    assert_eq!(token["ok"], true, "{status:?}");
    assert!(
        token["expires_in_minutes"].as_u64().unwrap() >= 5,
        "{status:?}"
    );
    let human = env.run(&["status"]).await.ok();
    assert!(human.stdout.contains("token: ok (expires in "), "{human:?}");

    let whoami = env.run(&["--json", "whoami"]).await.ok();
    assert_eq!(
        whoami.json()["me"]["userPrincipalName"],
        upn.as_str(),
        "{whoami:?}"
    );

    // Revoked: the refresh is refused, the account needs to sign in again.
    let revoked = reqwest::Client::new()
        .post(format!("{}/_emulator/users/{upn}/revoke", env.base))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let status = env.run(&["status"]).await;
    assert_eq!(status.code, 3, "{status:?}");
    assert!(status.stdout.contains("sign in again"), "{status:?}");
    let accounts = env.run(&["--json", "accounts"]).await.ok();
    assert_eq!(account_rows(&accounts)[0]["state"], "needs_sign_in");

    // Signing in again (login_hint) brings it back.
    env.run(&["login"]).await.ok();
    assert!(env.browsed().last().unwrap().contains("login_hint="));
    env.run(&["status"]).await.ok();

    let logout = env.run(&["logout", &upn]).await.ok();
    assert!(logout.stdout.contains("Signed out"), "{logout:?}");
    let status = env.run(&["--json", "status"]).await;
    assert_eq!(status.code, 3, "{status:?}");
    assert_eq!(account_rows(&status)[0]["state"], "signed_out");
    env.run(&["logout", "--purge", &upn]).await.ok();
    let accounts = env.run(&["--json", "accounts"]).await.ok();
    assert!(account_rows(&accounts).is_empty());
}

/// The sync commands end to end, tokens in a real Secret Service: teams, channels, follow,
/// sync (with progress), read, a thread, search, unfollow; errors for unknown channels.
#[tokio::test(flavor = "multi_thread")]
async fn keyring_teams_channels_follow_sync_read_search() {
    if std::env::var("PERCH_TEST_SECRET_SERVICE").as_deref() != Ok("1")
        || std::env::var("PERCH_TEST_SECRET_SERVICE_LOCKED").as_deref() == Ok("1")
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "keyring_teams_channels_follow_sync_read_search: skipped; run inside scripts/with-secret-service.sh"
        );
        return;
    }
    let env = Env::start(true).await;
    env.run(&["login"]).await.ok();

    let teams = env.run(&["--json", "teams"]).await.ok();
    let team_list = teams.json()["teams"].as_array().unwrap().clone();
    assert!(!team_list.is_empty(), "{teams:?}");
    let channels = env.run(&["--json", "channels"]).await.ok();
    let list = channels.json()["channels"].as_array().unwrap().clone();
    let first = &list[0];
    let name = format!(
        "{}/{}",
        first["team"].as_str().unwrap(),
        first["displayName"].as_str().unwrap()
    );
    let human = env.run(&["channels"]).await.ok();
    assert!(human.stdout.contains("TEAM/CHANNEL"), "{human:?}");

    let unknown = env.run(&["follow", "No Such Team/Nowhere"]).await;
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(unknown.stderr.contains("no channel matches"), "{unknown:?}");

    env.run(&["follow", &name]).await.ok();
    let channels = env.run(&["--json", "channels"]).await.ok();
    let followed = channels.json()["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["followed"] == true)
        .count();
    assert_eq!(followed, 1, "{channels:?}");

    let sync = env.run(&["sync"]).await.ok();
    assert!(
        sync.stderr.contains("[1/1]"),
        "progress on stderr: {sync:?}"
    );
    let sync = env.run(&["--json", "sync"]).await.ok();
    assert_eq!(sync.json()["channels"][0]["ok"], true, "{sync:?}");
    let status = env.run(&["--json", "status"]).await.ok();
    let cache = &account_rows(&status)[0]["cache"];
    assert_eq!(cache["followed"], 1, "{status:?}");
    assert!(cache["messages"].as_i64().unwrap() > 0, "{status:?}");
    assert!(cache["lastSyncedAt"].is_string(), "{status:?}");
    let human = env.run(&["status"]).await.ok();
    assert!(human.stdout.contains("(1 followed)"), "{human:?}");

    let read = env
        .run(&["--json", "read", &name, "--limit", "5"])
        .await
        .ok();
    let messages = read.json()["messages"].as_array().unwrap().clone();
    assert!(!messages.is_empty(), "{read:?}");
    let human = env.run(&["read", &name, "--limit", "3"]).await.ok();
    assert!(human.stdout.contains("id "), "{human:?}");

    // A thread: the post with the most replies among those shown.
    let root = messages
        .iter()
        .max_by_key(|m| m["replyCount"].as_i64().unwrap_or(0))
        .unwrap();
    let root_id = root["id"].as_str().unwrap();
    let thread = env
        .run(&["--json", "read", &name, "--thread", root_id])
        .await
        .ok();
    assert_eq!(thread.json()["root"]["id"], root_id);

    // Search for a word of a cached message, offline.
    let text = messages
        .iter()
        .filter_map(|m| m["text"].as_str())
        .flat_map(|t| t.split_whitespace())
        .find(|w| w.len() > 6 && w.chars().all(char::is_alphabetic))
        .expect("a word to search for")
        .to_owned();
    let search = env.run(&["--json", "search", &text]).await.ok();
    assert!(
        !search.json()["hits"].as_array().unwrap().is_empty(),
        "{search:?}"
    );
    let hostile = env
        .run(&["--json", "search", "\"NEAR(", "*", "OR"])
        .await
        .ok();
    assert!(hostile.json()["hits"].is_array(), "{hostile:?}");

    env.run(&["unfollow", &name]).await.ok();
    let sync = env.run(&["sync"]).await.ok();
    assert!(sync.stderr.contains("no channel is followed"), "{sync:?}");

    // Polite throughout: no request in a throttled scope before its Retry-After.
    let stats: Value = reqwest::get(format!("{}/_emulator/stats", env.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["violations"]["total"], 0, "{stats}");
}

/// A database that is not a database is moved aside, the commands keep working, and the
/// person is told where the old file went.
#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_database_is_moved_aside_and_reported() {
    let env = Env::start(true).await;
    let data = env.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("perch.sqlite3");
    std::fs::write(
        &db,
        b"this is not an SQLite database, it is a shopping list",
    )
    .unwrap();
    let accounts = env.run(&["accounts"]).await.ok();
    assert!(accounts.stderr.contains("corrupt"), "{accounts:?}");
    assert!(accounts.stderr.contains(".corrupt-"), "{accounts:?}");
    let moved: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "the old file is kept beside the new one");
    // The second command finds a sound database and says nothing.
    let again = env.run(&["accounts"]).await.ok();
    assert!(!again.stderr.contains("corrupt"), "{again:?}");
}

// ---------------------------------------------------------------------------------------------
// Writes: post, reply, edit, react, delete, the outbox. Tokens in a real Secret Service (each
// command is its own process), each test with a tenant of its own.

/// Whether the Secret Service tests run; says why not on stderr.
fn keyring_tests(test: &str) -> bool {
    if std::env::var("PERCH_TEST_SECRET_SERVICE").as_deref() != Ok("1")
        || std::env::var("PERCH_TEST_SECRET_SERVICE_LOCKED").as_deref() == Ok("1")
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped; run inside scripts/with-secret-service.sh"
        );
        return false;
    }
    true
}

/// A person.
#[derive(Debug, Clone)]
struct Person {
    id: String,
    name: String,
    upn: String,
}

/// A signed-in account, a standard channel of one of its teams (as `Team/Channel`), and a
/// colleague in it whose first name no other member has.
struct Writer {
    env: Env,
    me: Person,
    colleague: Person,
    team: String,
    channel: String,
    channel_id: String,
}

impl Writer {
    async fn start(seed: u64) -> Writer {
        let env = Env::start_seeded(true, seed).await;
        let login = env.run(&["--json", "login"]).await.ok();
        let key = login.json()["account"]["id"].as_str().unwrap().to_owned();
        let me_id = key.split_once('.').unwrap().1.to_owned();
        let channels = env.run(&["--json", "channels"]).await.ok();
        let listed: Vec<String> = channels.json()["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        let (me, colleague, team, channel, channel_id) = {
            let tenant = env.emulator.state().tenant.read();
            let person = |id: &uuid::Uuid| {
                let u = tenant.users.iter().find(|u| u.id == *id).unwrap();
                Person {
                    id: u.id.to_string(),
                    name: u.display_name.clone(),
                    upn: u.upn.clone(),
                }
            };
            let me = tenant
                .users
                .iter()
                .find(|u| u.id.to_string() == me_id)
                .map(|u| person(&u.id))
                .unwrap();
            let first = |name: &str| name.split_whitespace().next().unwrap().to_lowercase();
            tenant
                .teams
                .iter()
                .filter(|t| t.members.iter().any(|m| m.to_string() == me.id))
                .flat_map(|t| t.channels.iter().map(move |c| (t, c)))
                .filter(|(_, c)| {
                    c.membership_type == perch_emulator::model::MembershipType::Standard
                        && listed.contains(&c.id)
                })
                .find_map(|(t, c)| {
                    let names: Vec<String> =
                        t.members.iter().map(|m| first(&person(m).name)).collect();
                    let colleague = t.members.iter().map(person).find(|p| {
                        p.id != me.id && names.iter().filter(|n| **n == first(&p.name)).count() == 1
                    })?;
                    Some((
                        me.clone(),
                        colleague,
                        t.display_name.clone(),
                        format!("{}/{}", t.display_name, c.display_name),
                        c.id.clone(),
                    ))
                })
                .expect("a standard channel with a colleague")
        };
        Writer {
            env,
            me,
            colleague,
            team,
            channel,
            channel_id,
        }
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.env.run(args).await
    }

    /// The emulator's root posts in the channel whose body contains `needle`.
    fn roots_with(&self, needle: &str) -> Vec<perch_emulator::model::Message> {
        let tenant = self.env.emulator.state().tenant.read();
        tenant
            .teams
            .iter()
            .flat_map(|t| t.channels.iter())
            .find(|c| c.id == self.channel_id)
            .unwrap()
            .messages
            .roots
            .iter()
            .filter(|m| m.content.contains(needle))
            .cloned()
            .collect()
    }

    /// The emulator's root post `id`.
    fn root(&self, id: &str) -> perch_emulator::model::Message {
        let tenant = self.env.emulator.state().tenant.read();
        tenant
            .teams
            .iter()
            .flat_map(|t| t.channels.iter())
            .find(|c| c.id == self.channel_id)
            .unwrap()
            .messages
            .roots
            .iter()
            .find(|m| m.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("no root post {id} in the emulator"))
    }

    async fn admin(&self, path: &str, body: Value) -> reqwest::Response {
        let answer = reqwest::Client::new()
            .post(format!("{}/_emulator/{path}", self.env.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer
    }

    /// The outbox as `outbox --json` (with `--all` when asked) lists it.
    async fn outbox(&self, all: bool) -> Vec<Value> {
        let mut args = vec!["--json", "outbox"];
        if all {
            args.push("--all");
        }
        let out = self.run(&args).await.ok();
        out.json()["items"].as_array().expect("items").clone()
    }
}

fn mentioned_user(m: &perch_emulator::model::Mention) -> String {
    match &m.mentioned {
        perch_emulator::model::MentionTarget::User { id, .. } => id.to_string(),
        other => panic!("not a user mention: {other:?}"),
    }
}

fn from_user(m: &perch_emulator::model::Message) -> String {
    match &m.from {
        Some(perch_emulator::model::Sender::User { id, .. }) => id.to_string(),
        other => panic!("not from a user: {other:?}"),
    }
}

/// Post (bold, a mention of a member), read it back, reply (an @first-name mention), edit,
/// react and unreact, delete and undelete: after each, the emulator holds exactly the change.
#[tokio::test(flavor = "multi_thread")]
async fn keyring_post_reply_edit_react_delete_undelete() {
    if !keyring_tests("keyring_post_reply_edit_react_delete_undelete") {
        return;
    }
    let w = Writer::start(101).await;
    let text = format!(
        "Release notes are **ready** for @[{}] kestrel101",
        w.colleague.name.to_uppercase()
    );
    let post = w
        .run(&[
            "--json",
            "post",
            &w.channel,
            &text,
            "--subject",
            "Release",
            "--importance",
            "high",
        ])
        .await
        .ok();
    let doc = post.json();
    assert_eq!(doc["state"], "sent", "{post:?}");
    assert_eq!(doc["kind"], "post");
    assert_eq!(doc["channel_id"], w.channel_id.as_str());
    assert_eq!(doc["echo_id"], format!("local-{}", doc["id"]).as_str());
    let id = doc["server_id"]
        .as_str()
        .expect("the server's id")
        .to_owned();

    // The emulator holds it once, as written.
    let held = w.roots_with("kestrel101");
    assert_eq!(held.len(), 1, "exactly once: {held:?}");
    let root = &held[0];
    assert_eq!(root.id, id);
    assert_eq!(from_user(root), w.me.id);
    assert_eq!(root.subject.as_deref(), Some("Release"));
    assert!(
        root.content.contains("<strong>ready</strong>"),
        "{}",
        root.content
    );
    assert!(
        root.content
            .contains(&format!("<at id=\"0\">{}</at>", w.colleague.name)),
        "{}",
        root.content
    );
    assert_eq!(root.mentions.len(), 1, "{:?}", root.mentions);
    assert_eq!(root.mentions[0].id, 0);
    assert_eq!(mentioned_user(&root.mentions[0]), w.colleague.id);

    // `read` shows it from the cache.
    let read = w
        .run(&["--json", "read", &w.channel, "--limit", "50"])
        .await
        .ok();
    let messages = read.json()["messages"].as_array().unwrap().clone();
    let shown: Vec<&Value> = messages.iter().filter(|m| m["id"] == id.as_str()).collect();
    assert_eq!(shown.len(), 1, "{read:?}");
    let shown_text = shown[0]["text"].as_str().unwrap();
    assert!(
        shown_text.contains("ready") && shown_text.contains(&w.colleague.name),
        "{shown_text}"
    );
    assert_eq!(shown[0]["subject"], "Release");

    // A reply, for people, mentioning the colleague by first name.
    let first = w.colleague.name.split_whitespace().next().unwrap();
    let reply_text = format!("Thanks @{first}, shipping today");
    let reply = w.run(&["reply", &w.channel, &id, &reply_text]).await.ok();
    assert!(reply.stdout.starts_with("sent: "), "{reply:?}");
    assert!(
        reply.stdout.contains(&format!("a reply to {id}")),
        "{reply:?}"
    );
    assert!(reply.stdout.contains(&w.channel), "{reply:?}");
    let root = w.root(&id);
    assert_eq!(root.replies.len(), 1, "{:?}", root.replies);
    let answer = &root.replies[0];
    assert!(
        answer.content.contains("shipping today"),
        "{}",
        answer.content
    );
    assert_eq!(answer.mentions.len(), 1);
    assert_eq!(mentioned_user(&answer.mentions[0]), w.colleague.id);

    // An edit replaces the body (and its mentions).
    let edit = w
        .run(&[
            "--json",
            "edit",
            &w.channel,
            &id,
            "Release notes are *final* kestrel101",
        ])
        .await
        .ok();
    assert_eq!(edit.json()["state"], "sent", "{edit:?}");
    assert_eq!(edit.json()["kind"], "edit");
    assert_eq!(edit.json()["target_id"], id.as_str());
    let root = w.root(&id);
    assert!(root.content.contains("<em>final</em>"), "{}", root.content);
    assert!(!root.content.contains("ready"), "{}", root.content);
    assert!(root.last_edited.is_some());
    assert!(root.mentions.is_empty(), "{:?}", root.mentions);
    assert_eq!(
        w.roots_with("kestrel101").len(),
        1,
        "edited, not posted again"
    );

    // React, unreact.
    let react = w.run(&["react", &w.channel, &id, "like"]).await.ok();
    assert!(react.stdout.contains("reaction like on"), "{react:?}");
    let root = w.root(&id);
    assert!(
        root.reactions
            .iter()
            .any(|r| r.reaction_type == "like" && r.user_id.to_string() == w.me.id),
        "{:?}",
        root.reactions
    );
    w.run(&["unreact", &w.channel, &id, "like"]).await.ok();
    let root = w.root(&id);
    assert!(
        !root
            .reactions
            .iter()
            .any(|r| r.user_id.to_string() == w.me.id),
        "{:?}",
        root.reactions
    );

    // Delete, undelete.
    let delete = w.run(&["--json", "delete", &w.channel, &id]).await.ok();
    assert_eq!(delete.json()["state"], "sent", "{delete:?}");
    assert!(w.root(&id).deleted.is_some());
    let read = w.run(&["read", &w.channel, "--limit", "50"]).await.ok();
    assert!(read.stdout.contains("(deleted)"), "{read:?}");
    w.run(&["undelete", &w.channel, &id]).await.ok();
    let root = w.root(&id);
    assert!(root.deleted.is_none());
    assert!(root.content.contains("final"), "{}", root.content);

    // Everything went, once each; nothing waits.
    assert!(w.outbox(false).await.is_empty());
    let all = w.outbox(true).await;
    let kinds: Vec<&str> = all.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["post", "reply", "edit", "react", "unreact", "delete", "undelete"]
    );
    assert!(all.iter().all(|i| i["state"] == "sent"), "{all:?}");
    let human = w.run(&["outbox", "--all"]).await.ok();
    assert!(human.stdout.starts_with("ID"), "{human:?}");
    assert!(human.stdout.contains(&w.channel), "{human:?}");
    assert_eq!(w.roots_with("kestrel101").len(), 1);
}

/// Refusals: nothing is queued, the exit code is 65 with the engine's reason (2 for what does
/// not exist); the text may come from stdin.
#[tokio::test(flavor = "multi_thread")]
async fn keyring_refused_writes_queue_nothing() {
    if !keyring_tests("keyring_refused_writes_queue_nothing") {
        return;
    }
    let w = Writer::start(102).await;

    let empty = w.run(&["post", &w.channel, "   "]).await;
    assert_eq!(empty.code, 65, "{empty:?}");
    assert!(empty.stderr.contains("empty"), "{empty:?}");
    assert!(empty.stderr.contains("nothing was queued"), "{empty:?}");
    let empty = w.run(&["--json", "post", &w.channel, ""]).await;
    assert_eq!(empty.code, 65, "{empty:?}");
    assert_eq!(empty.json()["error"]["code"], "empty_message");
    assert_eq!(empty.json()["error"]["exit_code"], 65);
    // No TEXT and an empty stdin (not a terminal): the same refusal.
    let empty = w.run(&["--json", "post", &w.channel]).await;
    assert_eq!(empty.json()["error"]["code"], "empty_message", "{empty:?}");

    let nobody = w
        .run(&["--json", "post", &w.channel, "hello @[Nobody Of That Name]"])
        .await;
    assert_eq!(nobody.code, 65, "{nobody:?}");
    assert_eq!(nobody.json()["error"]["code"], "unknown_mention");
    let link = w
        .run(&[
            "--json",
            "post",
            &w.channel,
            "see [this](javascript:alert(1))",
        ])
        .await;
    assert_eq!(link.code, 65, "{link:?}");
    assert_eq!(link.json()["error"]["code"], "bad_link");
    let reaction = w
        .run(&["--json", "react", &w.channel, "1", "two words"])
        .await;
    assert_eq!(reaction.code, 65, "{reaction:?}");
    assert_eq!(reaction.json()["error"]["code"], "invalid_value");
    let unknown = w.run(&["reply", &w.channel, "no-such-post", "hi"]).await;
    assert_eq!(unknown.code, 2, "{unknown:?}");
    let channel = w.run(&["post", "No Such Team/Nowhere", "hi"]).await;
    assert_eq!(channel.code, 2, "{channel:?}");
    let importance = w
        .run(&["post", &w.channel, "hi", "--importance", "shouting"])
        .await;
    assert_eq!(importance.code, 2, "{importance:?}");

    // A colleague's post, brought in by sync: not ours to edit.
    let theirs: Value = w
        .admin(
            "act",
            serde_json::json!({
                "as": w.colleague.upn, "kind": "post", "team": w.team,
                "channel": w.channel_id, "body": "<p>Colleague's plan</p>",
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    let theirs = theirs["id"].as_str().unwrap().to_owned();
    w.run(&["sync", &w.channel]).await.ok();
    let edit = w
        .run(&["--json", "edit", &w.channel, &theirs, "my plan now"])
        .await;
    assert_eq!(edit.code, 65, "{edit:?}");
    assert_eq!(edit.json()["error"]["code"], "not_your_message");
    assert!(
        edit.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("someone else"),
        "{edit:?}"
    );
    let human = w.run(&["edit", &w.channel, &theirs, "my plan now"]).await;
    assert_eq!(human.code, 65);
    assert!(human.stderr.contains("someone else"), "{human:?}");
    assert!(w.root(&theirs).content.contains("Colleague's plan"));
    // But reacting to it is fine.
    w.run(&["react", &w.channel, &theirs, "heart"]).await.ok();

    assert_eq!(
        w.outbox(true).await.len(),
        1,
        "only the reaction was ever queued"
    );

    // The text from stdin.
    let mut piped = w.env.cli(&["--json", "post", &w.channel, "-"]);
    piped.stdin(Stdio::piped());
    let mut child = piped.spawn().unwrap();
    {
        use tokio::io::AsyncWriteExt as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"From a pipe:\n\n- **one** kestrel102\n- two\n")
            .await
            .unwrap();
    }
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["state"], "sent");
    let held = w.roots_with("kestrel102");
    assert_eq!(held.len(), 1);
    assert!(
        held[0]
            .content
            .contains("<ul><li><strong>one</strong> kestrel102</li><li>two</li></ul>"),
        "{}",
        held[0].content
    );
}

/// Offline: the post is queued (exit 0, saying so), listed, and sent exactly once by `outbox
/// send` once Graph is back. `outbox cancel` discards a queued write (and refuses twice or an
/// unknown id); a write Teams refuses for good wedges (exit 65) and `outbox retry` sends it.
#[tokio::test(flavor = "multi_thread")]
async fn keyring_offline_post_is_queued_then_sent_once_and_cancel() {
    if !keyring_tests("keyring_offline_post_is_queued_then_sent_once_and_cancel") {
        return;
    }
    let w = Writer::start(103).await;

    w.admin("refuse", serde_json::json!({})).await;
    let post = w
        .run(&["post", &w.channel, "Posted offline kestrel103"])
        .await
        .ok();
    assert!(post.stdout.starts_with("queued: local-1: "), "{post:?}");
    assert!(
        post.stdout
            .contains("will be sent by `perch-cli outbox send`"),
        "{post:?}"
    );
    assert!(w.roots_with("kestrel103").is_empty());
    let queued = w.outbox(false).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["echo_id"], "local-1");
    assert!(
        ["queued", "failed"].contains(&queued[0]["state"].as_str().unwrap()),
        "{queued:?}"
    );
    let table = w.run(&["outbox"]).await.ok();
    assert!(table.stdout.starts_with("ID"), "{table:?}");
    assert!(table.stdout.contains("post"), "{table:?}");

    w.admin("resume", serde_json::json!({})).await;
    let send = w.run(&["--json", "outbox", "send"]).await.ok();
    assert_eq!(send.json()["sent"], 1, "{send:?}");
    assert_eq!(send.json()["waiting"], 0, "{send:?}");
    let held = w.roots_with("kestrel103");
    assert_eq!(held.len(), 1, "exactly once: {held:?}");
    assert!(w.outbox(false).await.is_empty());
    let all = w.outbox(true).await;
    assert_eq!(all[0]["state"], "sent");
    assert_eq!(all[0]["server_id"], held[0].id.as_str());
    let again = w.run(&["--json", "outbox", "send"]).await.ok();
    assert_eq!(again.json()["sent"], 0);
    assert_eq!(w.roots_with("kestrel103").len(), 1);

    // Cancel a queued write.
    let queued = w
        .run(&[
            "--json",
            "post",
            "--queue-only",
            &w.channel,
            "Never sent kestrel103b",
        ])
        .await
        .ok();
    assert_eq!(queued.json()["state"], "queued", "{queued:?}");
    let n = queued.json()["id"].as_i64().unwrap().to_string();
    let cancel = w.run(&["outbox", "cancel", &n]).await.ok();
    assert!(cancel.stdout.starts_with("cancelled: "), "{cancel:?}");
    let twice = w.run(&["--json", "outbox", "cancel", &n]).await;
    assert_eq!(twice.code, 65, "{twice:?}");
    assert_eq!(twice.json()["error"]["code"], "not_cancellable");
    let unknown = w.run(&["--json", "outbox", "cancel", "999"]).await;
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert_eq!(unknown.json()["error"]["code"], "unknown_outbox_item");
    w.run(&["outbox", "send"]).await.ok();
    assert!(
        w.roots_with("kestrel103b").is_empty(),
        "cancelled, never sent"
    );

    // Teams refuses a post for good: it wedges, the command says why and exits 65.
    w.admin(
        "faults/rules",
        serde_json::json!({"kind": "status", "status": 403, "method": "POST", "path": "/messages", "count": 1}),
    )
    .await;
    let wedged = w
        .run(&["--json", "post", &w.channel, "Refused once kestrel103c"])
        .await;
    assert_eq!(wedged.code, 65, "{wedged:?}");
    let doc = wedged.json();
    assert_eq!(doc["state"], "wedged", "{wedged:?}");
    assert_eq!(doc["error"]["code"], "forbidden");
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("outbox retry"),
        "{wedged:?}"
    );
    let n = doc["id"].as_i64().unwrap().to_string();
    let listed = w.run(&["--json", "outbox", "send"]).await;
    assert_eq!(
        listed.code, 65,
        "a wedged write waits for the person: {listed:?}"
    );
    let retry = w.run(&["outbox", "retry", &n]).await.ok();
    assert!(retry.stdout.starts_with("sent: "), "{retry:?}");
    assert_eq!(w.roots_with("kestrel103c").len(), 1);
    let twice = w.run(&["--json", "outbox", "retry", &n]).await;
    assert_eq!(twice.code, 65, "{twice:?}");
    assert_eq!(twice.json()["error"]["code"], "not_retryable");

    // The sign-in is revoked: the post waits (exit 3) until the person signs in again.
    reqwest::Client::new()
        .post(format!(
            "{}/_emulator/users/{}/revoke",
            w.env.base, w.me.upn
        ))
        .send()
        .await
        .unwrap();
    let waiting = w
        .run(&["post", &w.channel, "After the revoke kestrel103d"])
        .await;
    assert_eq!(waiting.code, 3, "{waiting:?}");
    assert!(waiting.stderr.contains("sign in again"), "{waiting:?}");
    assert!(waiting.stderr.contains("perch-cli login"), "{waiting:?}");
    assert_eq!(w.outbox(false).await.len(), 1);
    w.run(&["login"]).await.ok();
    let send = w.run(&["--json", "outbox", "send"]).await.ok();
    assert_eq!(send.json()["sent"], 1, "{send:?}");
    assert_eq!(w.roots_with("kestrel103d").len(), 1);
}

/// A managed policy with bad keys (through the debug builds' `PERCH_POLICY_FILE`): every command
/// warns on stderr with the key and the reason, and works with Perch's defaults for those keys
/// while the sound keys apply. Then a policy whose `allowed_tenants` leaves out the emulator's
/// tenant: the sign-in is refused (exit 4, `tenant_not_allowed`) and no account or token is kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_policy_is_reported_and_the_rest_applies_then_tenants_are_refused() {
    let env = Env::start(true).await;
    let policy = env.dir.path().join("policy.json");
    std::fs::write(
        &policy,
        format!(
            r#"{{"cloud": "mars", "login_host": "ftp://login.example.com", "tenat": "x",
                "min_view_interval_secs": 5, "client_id": "{}", "extra_scopes": ["User.ReadBasic.All"]}}"#,
            env.client_id
        ),
    )
    .unwrap();
    let with_policy = |args: &[&str]| {
        let mut command = env.cli(args);
        command.env("PERCH_POLICY_FILE", &policy);
        command
    };

    let mut login = with_policy(&["--session-only", "login"]);
    // The policy's client id is the highest layer: the environment's is overridden.
    login.env("PERCH_CLIENT_ID", "99999999-9999-9999-9999-999999999999");
    let login = run(login).await.ok();
    for (key, words) in [
        ("cloud", "`mars` is not a known cloud"),
        ("login_host", "`ftp`"),
        ("tenat", "did you mean `tenant`"),
        ("min_view_interval_secs", "minimum of 15"),
    ] {
        assert!(
            login.stderr.contains(&format!("policy key `{key}`")) && login.stderr.contains(words),
            "{key}: {login:?}"
        );
    }
    assert!(login.stdout.contains("Signed in."), "{login:?}");
    // The extra scope went out with the sign-in.
    let urls = env.browsed();
    assert!(urls[0].contains("User.ReadBasic.All"), "{urls:?}");

    let status = run(with_policy(&["--session-only", "--json", "status"])).await;
    let json = status.json();
    let problems = json["policy"]["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 4, "{status:?}");
    assert!(problems.iter().any(|p| p["key"] == "cloud"));
    assert_eq!(json["policy"]["source"], policy.display().to_string());
    assert!(status.stderr.contains("policy key `tenat`"), "{status:?}");

    // A broken file is one problem naming it; the command still works.
    std::fs::write(&policy, "{ not json").unwrap();
    let accounts = run(with_policy(&["--session-only", "accounts"])).await.ok();
    assert!(
        accounts.stderr.contains(&policy.display().to_string())
            && accounts.stderr.contains("not valid JSON"),
        "{accounts:?}"
    );

    // Allowed tenants that leave out the emulator's tenant.
    env.run(&["--session-only", "logout", "--purge"]).await.ok();
    std::fs::write(
        &policy,
        r#"{"allowed_tenants": ["aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]}"#,
    )
    .unwrap();
    let refused = run(with_policy(&["--session-only", "--json", "login"])).await;
    assert_eq!(refused.code, 4, "{refused:?}");
    assert_eq!(refused.json()["error"]["code"], "tenant_not_allowed");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&env.tenant_id),
        "{refused:?}"
    );
    let accounts = run(with_policy(&["--session-only", "--json", "accounts"]))
        .await
        .ok();
    assert!(account_rows(&accounts).is_empty(), "{accounts:?}");

    // The emulator's own tenant listed: allowed.
    std::fs::write(
        &policy,
        format!(r#"{{"allowed_tenants": ["{}"]}}"#, env.tenant_id),
    )
    .unwrap();
    run(with_policy(&["--session-only", "login"])).await.ok();
    env.emulator.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Logs and `doctor`.

#[tokio::test(flavor = "multi_thread")]
async fn a_real_sign_in_logs_to_perch_log_dir_without_a_token() {
    let env = Env::start(true).await;
    let mut login = env.cli(&["--session-only", "login"]);
    login.env("PERCH_LOG", "trace");
    let run = run(login).await.ok();
    assert!(run.stdout.contains("Signed in."), "{run:?}");
    let files: Vec<String> = std::fs::read_dir(env.log_dir())
        .expect("the log folder is created")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("perch-cli.") && f.ends_with(".log")),
        "{files:?}"
    );
    let logs = env.logs();
    assert!(logs.contains("signed in"), "the sign-in is logged: {logs}");
    assert!(!logs.contains("eyJ"), "a JWT in the log: {logs}");
    assert!(!logs.contains("Bearer ey"), "{logs}");
    for upn in &env.upns {
        assert!(
            !logs.contains(upn.as_str()),
            "an e-mail address in the log: {upn}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_reports_every_check_and_exits_5_only_on_a_failure() {
    let env = Env::start(true).await;
    let doctor = env.run(&["--session-only", "--json", "doctor"]).await;
    let json = doctor.json();
    assert_eq!(doctor.code, 0, "{doctor:?}");
    let findings = json["findings"].as_array().unwrap();
    let status = |id: &str| {
        findings
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("no {id}: {json}"))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for id in [
        "config",
        "reach.login",
        "reach.graph",
        "clock",
        "database",
        "disk",
        "versions",
    ] {
        assert_eq!(status(id), "pass", "{id}: {json}");
    }
    // Human output: status, title, detail, and what to do.
    let text = env.run(&["--session-only", "doctor"]).await.ok();
    assert!(text.stdout.contains("Sign-in service:"), "{text:?}");
    assert!(text.stdout.contains("passed,"), "{text:?}");

    // Invalid settings are a failing finding, not exit 78; the other checks still run.
    let mut bad = env.cli(&["--session-only", "--json", "doctor"]);
    bad.env("PERCH_CLIENT_ID", "not-a-guid");
    let bad = run(bad).await;
    assert_eq!(bad.code, 5, "{bad:?}");
    let json = bad.json();
    let config = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "config")
        .unwrap()
        .clone();
    assert_eq!(config["status"], "fail", "{json}");
    assert!(
        config["detail"]
            .as_str()
            .unwrap()
            .contains("PERCH_CLIENT_ID"),
        "{config}"
    );
    assert!(json["findings"].as_array().unwrap().len() > 6, "{json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_bundle_holds_no_token_body_or_address() {
    use std::io::Read as _;
    let env = Env::start(true).await;
    // A real sign-in, logged at the most verbose level.
    let mut login = env.cli(&["--session-only", "login"]);
    login.env("PERCH_LOG", "trace");
    run(login).await.ok();

    // A store holding a message, whose body must not leave the machine.
    let body = "Confidential: the Fabrikam acquisition closes Friday";
    {
        use perch_store::CacheStore as _;
        let mut store =
            perch_store::Store::open(&env.dir.path().join("data/perch.sqlite3")).unwrap();
        let (account, channels) = perch_store::bench::setup_account(&mut store, 1, 1).unwrap();
        let (team, channel) = &channels[0];
        let mut generator = perch_store::bench::Generator::new(7, 50);
        let mut row = generator.message(team, channel);
        row.reply_to_id = None;
        row.body_text = body.to_owned();
        row.body_html = format!("<p>{body}</p>");
        store.ingest(&account, channel, &[row], None).unwrap();
    }

    // Logs that hold a real-looking token, a body and an address (as an older build, or a
    // policy allowing content, might have written them).
    let token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJzY3AiOiJVc2VyLlJlYWQifQ.SGVyZUlzQVNpZ25hdHVyZVRoYXRMb29rc1JlYWw";
    let refresh = "0.AXYAm9PaT0tAbUGsNSbcbKQqAQkAAAAAAAAAwAAAAAAAAAB1AJM.AgABAAEAAAD";
    let upn = env.upns[0].clone();
    std::fs::create_dir_all(env.log_dir()).unwrap();
    std::fs::write(
        env.log_dir().join("perch.2026-12-01.log"),
        format!(
            "2026-12-01T09:00:00Z DEBUG perch_graph: GET https://graph.microsoft.com/v1.0/me authorization=\"Bearer {token}\"\n\
             2026-12-01T09:00:01Z DEBUG perch_auth: POST /token grant_type=refresh_token&refresh_token={refresh}&client_id=x\n\
             2026-12-01T09:00:02Z INFO perch_engine: posted body=\"{body}\" upn={upn}\n\
             2026-12-01T09:00:03Z TRACE reqwest: {{\"id\":\"1\",\"body\":{{\"contentType\":\"html\",\"content\":\"<p>{body}</p>\"}},\"access_token\":\"{token}\"}}\n"
        ),
    )
    .unwrap();

    let zip_path = env.dir.path().join("out").join("diag.zip");
    let doctor = env
        .run(&[
            "--session-only",
            "doctor",
            "--bundle",
            zip_path.to_str().unwrap(),
        ])
        .await
        .ok();
    assert!(doctor.stdout.contains("bundle written"), "{doctor:?}");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut names = Vec::new();
    let mut everything = String::new();
    for n in 0..zip.len() {
        let mut file = zip.by_index(n).unwrap();
        names.push(file.name().to_owned());
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        everything.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(names.iter().any(|n| n == "findings.json"), "{names:?}");
    assert!(names.iter().any(|n| n == "findings.txt"), "{names:?}");
    assert!(
        names.iter().any(|n| n == "logs/perch.2026-12-01.log"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("logs/perch-cli.")),
        "the real sign-in's log: {names:?}"
    );
    assert!(!everything.contains("eyJ"), "a JWT in the bundle");
    assert!(!everything.contains(token));
    assert!(
        !everything.contains(refresh),
        "a refresh token in the bundle"
    );
    assert!(
        !everything.contains("Fabrikam"),
        "a message body in the bundle"
    );
    for upn in &env.upns {
        assert!(
            !everything.contains(upn.as_str()),
            "an address in the bundle: {upn}"
        );
    }
    assert_token_free(&everything);
    // The raw zip bytes too (names, comments).
    let raw = std::fs::read(&zip_path).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("eyJ"));
}
