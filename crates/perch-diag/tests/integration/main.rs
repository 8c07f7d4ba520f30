//! perch-diag against real parts: the emulator over loopback (sign-in, reachability, clock,
//! granted scopes, missing consent), real SQLite files (sound and corrupted), and a real bundle
//! read back from its zip.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use perch_auth::{
    BrowserOpener, HttpClient, InteractiveOptions, ManagerOptions, MemoryStore, SecretStore,
    TokenManager,
};
use perch_core::{Cloud, Hosts, Organisation, Scopes, Tenant};
use perch_diag::doctor::{self, ConfigState, Inputs, KeyringMode, ManagerSource};
use perch_diag::{Finding, Report, Status};
use perch_emulator::{Emulator, EmulatorConfig, Profile};
use perch_store::Store;

struct Env {
    emulator: Emulator,
    org: Organisation,
    upn: String,
}

async fn emulator() -> Env {
    let emulator = Emulator::start(EmulatorConfig {
        auto_approve: true,
        profile: Profile::Small,
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    let base = emulator.base_url().to_owned();
    let (tenant_id, client_id, upn) = {
        let tenant = emulator.state().tenant.read();
        (
            tenant.id,
            tenant.apps[0].client_id,
            tenant.users[0].upn.clone(),
        )
    };
    let org = Organisation {
        tenant: Tenant::Id(tenant_id),
        client_id,
        cloud: Cloud::Global,
        hosts: Hosts {
            login: base.clone(),
            graph: base,
        },
        scopes: Scopes::default(),
    };
    Env { emulator, org, upn }
}

/// The browser with auto-approve: follow the authorize redirect to the loopback listener.
struct AutoBrowser;

impl BrowserOpener for AutoBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        let url = url.to_owned();
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let answer = client.get(&url).send().await.unwrap();
            let location = answer.headers()["location"].to_str().unwrap().to_owned();
            client.get(&location).send().await.unwrap();
        });
        Ok(())
    }
}

fn manager(db: &Path, secrets: Arc<dyn SecretStore>, scopes: Scopes) -> TokenManager {
    TokenManager::new(
        HttpClient::new().unwrap(),
        Store::open(db).unwrap(),
        secrets,
        ManagerOptions {
            scopes,
            retry: perch_auth::RetryPolicy {
                attempts: 1,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(10),
            },
            ..ManagerOptions::default()
        },
    )
}

fn source(m: TokenManager) -> ManagerSource {
    Arc::new(move || Ok(Some(m.clone())))
}

fn inputs(dir: &Path, config: ConfigState) -> Inputs {
    let mut inputs = Inputs::new("9.9.9", dir.to_owned(), config);
    inputs.keyring = KeyringMode::SessionOnly;
    inputs.env = Vec::new();
    inputs.log_dir = Some(dir.join("logs"));
    inputs
}

fn find<'a>(report: &'a Report, id: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no finding {id}: {report:#?}"))
}

async fn signed_in(env: &Env, dir: &Path, secrets: Arc<dyn SecretStore>) -> TokenManager {
    let m = manager(&dir.join("perch.sqlite3"), secrets, env.org.scopes.clone());
    m.sign_in(&env.org, &AutoBrowser, &InteractiveOptions::default())
        .await
        .expect("sign-in against the emulator");
    m
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_setup_passes_against_the_emulator() {
    let env = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let m = signed_in(&env, dir.path(), secrets).await;
    let mut i = inputs(dir.path(), ConfigState::Organisation(env.org.clone()));
    i.manager = Some(source(m));
    let report = doctor::run(i).await;
    for id in [
        "config",
        "policy",
        "proxy",
        "reach.login",
        "reach.graph",
        "clock",
        "database",
        "disk",
        "logs",
        "versions",
    ] {
        assert_eq!(find(&report, id).status, Status::Pass, "{id}: {report:#?}");
    }
    let scopes = report
        .findings
        .iter()
        .find(|f| f.id.starts_with("scopes."))
        .expect("a scopes finding per account");
    assert_eq!(scopes.status, Status::Pass, "{scopes:?}");
    assert!(scopes.title.contains(&env.upn));
    assert!(find(&report, "database").detail.contains("quick_check ok"));
    assert!(find(&report, "versions").detail.contains("Perch 9.9.9"));
    // Only the keyring may be a warning here (no Secret Service on a build machine).
    for f in &report.findings {
        assert!(f.status == Status::Pass || f.id == "keyring", "{f:?}");
    }
    let text = format!("{report:?}");
    assert!(!text.contains("eyJ"), "no token in the findings");
    env.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permission_not_granted_fails_with_the_admin_consent_url() {
    let env = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let m = signed_in(&env, dir.path(), secrets).await;
    // The organisation now needs a permission the sign-in did not ask for.
    let mut org = env.org.clone();
    let mut wanted: Vec<String> = org.scopes.as_slice().to_vec();
    wanted.push("Files.Read.All".into());
    org.scopes = Scopes::new(wanted);
    let mut i = inputs(dir.path(), ConfigState::Organisation(org));
    i.manager = Some(source(m));
    let report = doctor::run(i).await;
    let f = report
        .findings
        .iter()
        .find(|f| f.id.starts_with("scopes."))
        .unwrap();
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(f.detail.contains("Files.Read.All"), "{f:?}");
    let action = f.action.as_deref().unwrap();
    assert!(
        action.contains(&format!(
            "{}/{}/adminconsent?client_id={}",
            env.org.hosts.login,
            env.org.tenant.as_path(),
            env.org.client_id
        )),
        "{action}"
    );
    assert!(report.has_failures());
    env.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_revoked_by_the_tenant_fails_with_the_admin_consent_url() {
    let env = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    signed_in(&env, dir.path(), secrets.clone()).await;
    let admin = reqwest::Client::new();
    let answer = admin
        .patch(format!(
            "{}/_emulator/users/{}",
            env.emulator.base_url(),
            env.upn
        ))
        .json(&serde_json::json!({"consentMissing": true}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    // A new process: no access token in memory, so the check has to refresh.
    let fresh = manager(
        &dir.path().join("perch.sqlite3"),
        secrets,
        env.org.scopes.clone(),
    );
    let mut i = inputs(dir.path(), ConfigState::Organisation(env.org.clone()));
    i.manager = Some(source(fresh));
    let report = doctor::run(i).await;
    let f = report
        .findings
        .iter()
        .find(|f| f.id.starts_with("scopes."))
        .unwrap();
    // Entra's AADSTS65001 on the refresh: the administrator has to act, and the finding says
    // where.
    assert_eq!(f.status, Status::Fail, "{f:?}");
    let action = f.action.as_deref().unwrap_or_default();
    assert!(action.contains("/adminconsent?client_id="), "{f:?}");
    env.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_hosts_fail_and_the_other_checks_still_run() {
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let org = Organisation {
        tenant: Tenant::Organizations,
        client_id: uuid_of("11111111-2222-3333-4444-555555555555"),
        cloud: Cloud::Global,
        hosts: Hosts {
            login: base.clone(),
            graph: base,
        },
        scopes: Scopes::default(),
    };
    let mut i = inputs(dir.path(), ConfigState::Organisation(org));
    i.request_timeout = Duration::from_secs(2);
    let report = doctor::run(i).await;
    let login = find(&report, "reach.login");
    assert_eq!(login.status, Status::Fail, "{login:?}");
    assert!(
        login.action.as_deref().unwrap().contains("proxy"),
        "{login:?}"
    );
    assert_eq!(find(&report, "reach.graph").status, Status::Fail);
    assert_eq!(find(&report, "clock").status, Status::Warn);
    // Independent: the rest is there.
    assert_eq!(find(&report, "database").status, Status::Pass);
    assert_eq!(find(&report, "disk").status, Status::Pass);
    assert_eq!(find(&report, "versions").status, Status::Pass);
}

fn uuid_of(s: &str) -> uuid::Uuid {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupted_database_fails_with_what_to_do_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perch.sqlite3");
    {
        // A real database with data, then damaged in the middle.
        let mut store = Store::open(&db).unwrap();
        perch_store::bench::setup_account(&mut store, 2, 3).unwrap();
        store
            .connection()
            .execute_batch(
                "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE; \
                 CREATE TABLE filler(x); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
                 INSERT INTO filler SELECT randomblob(200) FROM n;",
            )
            .unwrap();
    }
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    assert!(bytes.len() > page * 8);
    for b in &mut bytes[page * 3..page * 6] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let before = std::fs::read(&db).unwrap();

    let i = inputs(dir.path(), ConfigState::Missing("no client id".into()));
    let report = doctor::run(i).await;
    let f = find(&report, "database");
    assert_eq!(f.status, Status::Fail, "{f:?}");
    let action = f.action.as_deref().unwrap();
    assert!(
        action.contains("moved aside") && action.contains("corrupt"),
        "{action}"
    );
    // Doctor never changes the file, and the scopes check did not open it through the store.
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".corrupt-")));
    assert_eq!(find(&report, "scopes").status, Status::Warn);

    // Not a database at all.
    std::fs::write(&db, b"a shopping list").unwrap();
    let report = doctor::run(inputs(dir.path(), ConfigState::Missing(String::new()))).await;
    assert_eq!(find(&report, "database").status, Status::Fail);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bundle_holds_findings_and_redacted_logs() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let token =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzY3AiOiJVc2VyLlJlYWQifQ.c2lnbmF0dXJlLWJ5dGVz";
    std::fs::write(
        logs.join("perch.2026-12-04.log"),
        format!(
            "2026-12-04T10:00:00Z DEBUG perch_graph: GET /v1.0/me authorization=\"Bearer {token}\"\n\
             2026-12-04T10:00:01Z DEBUG perch_engine: posted body=\"Merger talks with Fabrikam\" by megan@contoso.com\n\
             2026-12-04T10:00:02Z TRACE reqwest: {{\"body\":{{\"contentType\":\"html\",\"content\":\"<p>Merger talks with Fabrikam</p>\"}}}}\n"
        ),
    )
    .unwrap();
    std::fs::write(logs.join("notes.txt"), "not a log").unwrap();
    let report = doctor::run(inputs(dir.path(), ConfigState::Missing(String::new()))).await;
    let out = dir.path().join("out").join("bundle.zip");
    let bundle = perch_diag::bundle::write(&out, &report, Some(&logs)).unwrap();
    assert_eq!(bundle.path, out);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut names = Vec::new();
    let mut all = String::new();
    for n in 0..zip.len() {
        let mut file = zip.by_index(n).unwrap();
        assert_eq!(file.compression(), zip::CompressionMethod::Deflated);
        names.push(file.name().to_owned());
        file.read_to_string(&mut all).unwrap();
    }
    for name in [
        "README.txt",
        "findings.txt",
        "findings.json",
        "logs/perch.2026-12-04.log",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("notes")));
    assert!(!all.contains("eyJ"), "{all}");
    assert!(!all.contains("Merger"), "{all}");
    assert!(!all.contains("megan@"), "{all}");
    assert!(all.contains("[content]") && all.contains("[redacted]"));
    assert!(all.contains("\"findings\""));
}
