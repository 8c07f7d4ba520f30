//! A test tool, not part of Perch: syncs every channel of an emulator's demo account into a
//! database, round after round, until it is killed. The kill -9 tests
//! (`tests/crash.rs`) start it, `SIGKILL` it at random moments and check that the database
//! is sound and converges. It takes an access token minted by the test's emulator in
//! `PERCH_CRASHTEST_TOKEN` (an emulator token, never a real one), and
//! `PERCH_CRASHTEST_{BASE,DB,TENANT,USER,PAGE}`.
//!
//! With `PERCH_CRASHTEST_MODE=post` it instead queues one post of `PERCH_CRASHTEST_TEXT` in
//! channel `PERCH_CRASHTEST_CHANNEL` (already in the database), prints `queued`, and sends it
//! (the outbox's kill -9 tests kill it before, during and after the send).

use std::sync::Arc;

use perch_auth::{AuthError, Secret};
use perch_core::AccountId;
use perch_engine::{Engine, EngineConfig, EngineParts};
use perch_graph::{ClientConfig, GraphClient, TokenSource};
use perch_store::Store;

struct Fixed(Secret);

#[async_trait::async_trait]
impl TokenSource for Fixed {
    async fn token(&self) -> Result<Secret, AuthError> {
        Ok(self.0.clone())
    }
    async fn rejected(&self, _: &Secret) -> Result<Secret, AuthError> {
        Ok(self.0.clone())
    }
}

fn var(name: &str) -> String {
    std::env::var(format!("PERCH_CRASHTEST_{name}"))
        .unwrap_or_else(|_| panic!("PERCH_CRASHTEST_{name} is not set"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let base = var("BASE");
    let account = AccountId::new(
        var("TENANT").parse().expect("tenant id"),
        var("USER").parse().expect("user id"),
    );
    let store = Store::open(std::path::Path::new(&var("DB"))).expect("database opens");
    let graph = GraphClient::new(
        ClientConfig::new(base.clone()),
        Arc::new(Fixed(Secret::new(var("TOKEN")))),
    )
    .expect("client");
    let engine = Engine::new(EngineParts {
        account,
        graph,
        graph_base: base,
        store,
        config: EngineConfig {
            first_sync: chrono::Duration::days(400),
            page_size: var("PAGE").parse().expect("page size"),
            ..EngineConfig::default()
        },
    });
    if std::env::var("PERCH_CRASHTEST_MODE").as_deref() == Ok("post") {
        let text = var("TEXT");
        let draft = perch_core::compose::parse_text(&text, &|_| None).expect("a body");
        let item = engine
            .post(
                &var("CHANNEL"),
                perch_engine::NewPost {
                    draft,
                    subject: None,
                    importance: None,
                },
            )
            .await
            .expect("queued");
        println!("queued {}", item.id);
        loop {
            match engine.drain_outbox().await {
                Ok(report) => eprintln!("drained: {report:?}"),
                Err(e) => eprintln!("drain failed: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    engine.refresh_structure().await.expect("structure");
    for team in engine.sidebar_snapshot().await.expect("sidebar") {
        for c in team.channels {
            engine
                .set_followed(&c.channel.id, true)
                .await
                .expect("follow");
        }
    }
    println!("ready");
    loop {
        match engine.sync_followed(|_| {}).await {
            Ok(reports) => {
                for (channel, report) in reports {
                    eprintln!("{channel}: {report:?}");
                }
            }
            Err(e) => eprintln!("sync failed: {e}"),
        }
    }
}
