//! The keyring store against a real Secret Service. Skipped (with a notice) unless
//! `PERCH_TEST_SECRET_SERVICE=1`; `scripts/with-secret-service.sh` starts a D-Bus session and
//! an unlocked gnome-keyring and sets it:
//!
//! ```sh
//! scripts/with-secret-service.sh cargo test -p perch-auth --test secret_service
//! scripts/with-secret-service.sh --locked cargo test -p perch-auth --test secret_service
//! ```

use std::sync::Arc;

use perch_auth::{InteractiveOptions, KeyringStore, Secret, SecretStore};
use perch_core::AccountId;

fn enabled() -> bool {
    if std::env::var("PERCH_TEST_SECRET_SERVICE").as_deref() == Ok("1") {
        true
    } else {
        // Straight to stderr: the test harness captures `eprintln!`.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "secret_service: skipped; set PERCH_TEST_SECRET_SERVICE=1 and run inside scripts/with-secret-service.sh to test against a real Secret Service"
        );
        false
    }
}

fn locked_run() -> bool {
    std::env::var("PERCH_TEST_SECRET_SERVICE_LOCKED").as_deref() == Ok("1")
}

fn store() -> KeyringStore {
    KeyringStore::platform()
        .expect("a Secret Service is reachable")
        .with_service(format!("perch-test-{}", uuid::Uuid::new_v4()))
}

#[test]
fn entries_round_trip_rotate_and_delete() {
    if !enabled() || locked_run() {
        return;
    }
    let store = store();
    store.probe().expect("the keyring is unlocked and writable");
    let a = AccountId::new(uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let b = AccountId::new(uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    assert!(
        store.get(&a).unwrap().is_none(),
        "missing entry is Ok(None)"
    );
    store.set(&a, &Secret::new("rt-one")).unwrap();
    store.set(&b, &Secret::new("rt-b")).unwrap();
    store.set(&a, &Secret::new("rt-two")).unwrap();
    assert_eq!(store.get(&a).unwrap().unwrap().expose(), "rt-two");
    assert_eq!(store.get(&b).unwrap().unwrap().expose(), "rt-b");
    store.delete(&a).unwrap();
    store.delete(&a).unwrap();
    assert!(store.get(&a).unwrap().is_none());
    store.delete(&b).unwrap();
}

#[test]
fn a_whole_session_against_the_emulator() {
    if !enabled() || locked_run() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let env = perch_emulator::Emulator::start(perch_emulator::EmulatorConfig {
            auto_approve: true,
            profile: perch_emulator::Profile::Small,
            ..Default::default()
        })
        .await
        .unwrap();
        let base = env.base_url().to_owned();
        let (tenant, client_id) = {
            let t = env.state().tenant.read();
            (t.id, t.apps[0].client_id)
        };
        let org = perch_core::Organisation {
            tenant: perch_core::Tenant::Id(tenant),
            client_id,
            cloud: perch_core::Cloud::Global,
            hosts: perch_core::Hosts {
                login: base.clone(),
                graph: base,
            },
            scopes: perch_core::Scopes::default(),
        };
        let secrets: Arc<dyn SecretStore> = Arc::new(store());
        let manager = perch_auth::TokenManager::new(
            perch_auth::HttpClient::new().unwrap(),
            perch_store::Store::open_in_memory().unwrap(),
            secrets.clone(),
            Default::default(),
        );
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let opener = move |url: &str| {
            let browser = browser.clone();
            let url = url.to_owned();
            tokio::spawn(async move {
                let r = browser.get(&url).send().await.unwrap();
                let location = r.headers()["location"].to_str().unwrap().to_owned();
                browser.get(&location).send().await.unwrap();
            });
            Ok(())
        };
        let account = manager
            .sign_in(&org, &opener, &InteractiveOptions::default())
            .await
            .unwrap();
        let rt1 = secrets
            .get(&account.id)
            .unwrap()
            .expect("stored in the Secret Service");
        let t1 = manager.access_token(&account.id).await.unwrap();
        manager
            .force_refresh(&account.id, &t1.secret)
            .await
            .unwrap();
        let rt2 = secrets.get(&account.id).unwrap().unwrap();
        assert!(!rt1.same_as(&rt2), "rotated in the Secret Service");
        manager.sign_out(&account.id, true).await.unwrap();
        assert!(secrets.get(&account.id).unwrap().is_none());
    });
}

/// A keyring that is running but locked (gnome-keyring started without `--unlock`): the error
/// says to unlock it. Runs when `PERCH_TEST_SECRET_SERVICE_LOCKED=1` (see
/// `scripts/with-secret-service.sh --locked`).
#[test]
fn a_locked_keyring_gives_a_clear_error() {
    if std::env::var("PERCH_TEST_SECRET_SERVICE_LOCKED").as_deref() != Ok("1") {
        return;
    }
    let store = store();
    let account = AccountId::new(uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let err = store
        .set(&account, &Secret::new("rt-locked"))
        .expect_err("a locked keyring refuses writes");
    assert_eq!(err.code(), "keyring_locked", "{err}");
    assert!(err.to_string().contains("unlock"), "{err}");
    assert!(store.probe().is_err());
}
