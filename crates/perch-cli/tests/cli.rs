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
        let emulator = Emulator::start(EmulatorConfig {
            auto_approve,
            profile: Profile::Small,
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
    let env = Env::start(true).await;
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
