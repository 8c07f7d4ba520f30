//! Token custody: after a whole session (sign-in, refresh, a forced error, sign-out) with
//! tracing captured to a file and the data folder in a temporary directory, no access or
//! refresh token appears in any file the run wrote, in the log, or in the `Debug` output of
//! the session's types.

use std::path::Path;
use std::sync::Arc;

use perch_auth::{AuthError, InteractiveOptions};
use perch_core::DataDir;
use perch_store::Store;

use crate::support::{self, Choice, ScriptedOpener};

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_token_leaves_memory_or_the_keyring() {
    let root = tempfile::tempdir().unwrap();
    let data = DataDir::resolve(
        [(
            "PERCH_DATA_DIR",
            root.path().join("data").to_string_lossy().into_owned(),
        )],
        perch_core::Platform::current(),
    )
    .unwrap();
    std::fs::create_dir_all(data.path()).unwrap();
    let log_path = data.path().join("perch.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(Arc::new(log))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (secrets_seen, debug_dump) = runtime.block_on(async {
        let env = support::auto_env().await;
        let secrets = support::mock_keyring();
        let manager = support::manager(Store::open(&data.database()).unwrap(), secrets.clone());
        let mut seen = Vec::new();
        let mut dump = String::new();

        let account = manager
            .sign_in(
                &env.org,
                &ScriptedOpener::new(Choice::Accept(None)),
                &InteractiveOptions::default(),
            )
            .await
            .unwrap();
        let t1 = manager.access_token(&account.id).await.unwrap();
        seen.push(t1.secret.expose().to_owned());
        seen.push(
            secrets
                .get(&account.id)
                .unwrap()
                .unwrap()
                .expose()
                .to_owned(),
        );
        let t2 = manager
            .force_refresh(&account.id, &t1.secret)
            .await
            .unwrap();
        seen.push(t2.secret.expose().to_owned());
        seen.push(
            secrets
                .get(&account.id)
                .unwrap()
                .unwrap()
                .expose()
                .to_owned(),
        );
        dump += &format!("{manager:?}{account:?}{t1:?}{t2:?}{secrets:?}");

        // A forced error: the grant is revoked.
        env.emulator.state().entra.revoke_user(account.id.user_id);
        let err: AuthError = manager
            .force_refresh(&account.id, &t2.secret)
            .await
            .unwrap_err();
        dump += &format!("{err:?}{err}");
        tracing::error!(code = err.code(), error = %err, "expected failure");

        // Back in, then out.
        let account = manager
            .sign_in_again(
                &account.id,
                &ScriptedOpener::new(Choice::Accept(None)),
                &InteractiveOptions::default(),
            )
            .await
            .unwrap();
        let t3 = manager.access_token(&account.id).await.unwrap();
        seen.push(t3.secret.expose().to_owned());
        seen.push(
            secrets
                .get(&account.id)
                .unwrap()
                .unwrap()
                .expose()
                .to_owned(),
        );
        dump += &format!("{manager:?}{:?}{t3:?}", manager.accounts().unwrap());
        manager.sign_out(&account.id, false).await.unwrap();
        dump += &format!("{manager:?}{:?}", manager.accounts().unwrap());
        drop(manager);
        env.emulator.shutdown().await.unwrap();
        (seen, dump)
    });
    drop(_guard);

    assert!(secrets_seen.iter().all(|s| s.len() > 20));
    let mut written = Vec::new();
    files(root.path(), &mut written);
    assert!(written.iter().any(|p| p.ends_with("perch.sqlite3")));
    let log_text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log_text.contains("signed in"),
        "the log captured the session"
    );
    for path in &written {
        let bytes = std::fs::read(path).unwrap();
        for secret in &secrets_seen {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a token was found in {}",
                path.display()
            );
        }
    }
    for secret in &secrets_seen {
        assert!(
            !debug_dump.contains(secret.as_str()),
            "a token was found in Debug output"
        );
    }
}
