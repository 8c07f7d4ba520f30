//! Shared by the engine's integration tests: a real emulator on 127.0.0.1:0, tokens minted by
//! the emulator for its demo user (standing in for perch-auth's token manager, which has its
//! own tests), a real SQLite file in a temporary folder, and the comparison of the cache with
//! the emulator's state.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use perch_auth::{AuthError, Secret};
use perch_core::{AccountId, Cloud, Hosts};
use perch_emulator::graph::fixture::ALL_SCOPES;
use perch_emulator::{seed, Emulator, EmulatorConfig};
use perch_engine::{Engine, EngineConfig, EngineParts};
use perch_graph::{ClientConfig, GraphClient, TokenSource};
use perch_store::{AccountRecord, AccountState, CacheStore, MessageKey, Store};
use uuid::Uuid;

/// Tokens minted by the emulator.
pub struct EmulatorTokens {
    pub state: perch_emulator::AppState,
    pub user: Uuid,
    pub client: Uuid,
    /// When set, every token request fails as a revoked sign-in would.
    pub revoked: std::sync::atomic::AtomicBool,
}

impl EmulatorTokens {
    /// A fresh access token's text, for the crash-test child (an emulator token).
    pub fn token_for_tests(&self) -> String {
        self.mint().expect("not revoked").expose().to_owned()
    }

    fn mint(&self) -> Result<Secret, AuthError> {
        if self.revoked.load(std::sync::atomic::Ordering::SeqCst) {
            let tenant = self.state.tenant.read();
            return Err(AuthError::NeedsSignIn {
                account: AccountId::new(tenant.id, self.user),
                upn: "demo".into(),
                reason: "invalid_grant: AADSTS50173: the refresh token was revoked".into(),
            });
        }
        let tenant = self.state.tenant.read().clone();
        let scopes: Vec<String> = ALL_SCOPES.iter().map(|s| s.to_string()).collect();
        Ok(Secret::new(self.state.entra.issue_access_token(
            &tenant,
            self.user,
            self.client,
            &scopes,
            Duration::from_secs(3600),
        )))
    }
}

#[async_trait::async_trait]
impl TokenSource for EmulatorTokens {
    async fn token(&self) -> Result<Secret, AuthError> {
        self.mint()
    }
    async fn rejected(&self, _rejected: &Secret) -> Result<Secret, AuthError> {
        self.mint()
    }
}

/// Tokens for the emulator's demo user, and its account id.
pub fn emulator_tokens(emulator: &Emulator) -> (Arc<EmulatorTokens>, AccountId) {
    let state = emulator.state().clone();
    let (tenant_id, user, client) = {
        let tenant = state.tenant.read();
        (
            tenant.id,
            seed::demo_user(&tenant).id,
            tenant.apps[0].client_id,
        )
    };
    let tokens = Arc::new(EmulatorTokens {
        state,
        user,
        client,
        revoked: Default::default(),
    });
    (tokens, AccountId::new(tenant_id, user))
}

/// An emulator, an engine over a file database, and what ties them.
pub struct World {
    pub emulator: Emulator,
    pub engine: Engine,
    pub tokens: Arc<EmulatorTokens>,
    pub account: AccountId,
    pub dir: tempfile::TempDir,
    pub db_path: std::path::PathBuf,
    pub demo_upn: String,
}

/// The account row the store's foreign keys need.
pub fn account_record(account: AccountId, base: &str) -> AccountRecord {
    let now = chrono::Utc::now();
    AccountRecord {
        id: account,
        display_name: "Demo".into(),
        upn: "demo@example".into(),
        client_id: Uuid::nil(),
        cloud: Cloud::Global,
        hosts: Hosts {
            login: base.to_owned(),
            graph: base.to_owned(),
        },
        state: AccountState::SignedIn,
        state_reason: None,
        added_at: now,
        updated_at: now,
    }
}

impl World {
    pub async fn start(config: EmulatorConfig, engine_config: EngineConfig) -> World {
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("perch.db");
        World::with(emulator, dir, db_path, engine_config, |_| {})
    }

    /// An engine over the database at `db_path`, with `prepare` run on the store first.
    pub fn with(
        emulator: Emulator,
        dir: tempfile::TempDir,
        db_path: std::path::PathBuf,
        engine_config: EngineConfig,
        prepare: impl FnOnce(&Store),
    ) -> World {
        let state = emulator.state().clone();
        let (tenant_id, user, upn, client) = {
            let tenant = state.tenant.read();
            let demo = seed::demo_user(&tenant);
            (
                tenant.id,
                demo.id,
                demo.upn.clone(),
                tenant.apps[0].client_id,
            )
        };
        let tokens = Arc::new(EmulatorTokens {
            state,
            user,
            client,
            revoked: Default::default(),
        });
        let account = AccountId::new(tenant_id, user);
        let base = emulator.base_url().to_owned();
        let store = Store::open(&db_path).expect("store opens");
        store
            .upsert_account(&account_record(account, &base))
            .expect("account row");
        prepare(&store);
        let graph =
            GraphClient::new(ClientConfig::new(base.clone()), tokens.clone()).expect("client");
        let engine = Engine::new(EngineParts {
            account,
            graph,
            graph_base: base,
            store,
            config: engine_config,
        });
        World {
            emulator,
            engine,
            tokens,
            account,
            dir,
            db_path,
            demo_upn: upn,
        }
    }

    pub fn base(&self) -> String {
        self.emulator.base_url().to_owned()
    }

    /// Calls the emulator's admin API.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let client = reqwest::Client::new();
        let mut request = client.request(method, format!("{}/_emulator{path}", self.base()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin call");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "admin {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// Retry-After violations the emulator counted.
    pub async fn violations(&self) -> u64 {
        let stats = self.admin(reqwest::Method::GET, "/stats", None).await;
        let v = &stats["violations"];
        v["total"]
            .as_u64()
            .or_else(|| v.as_u64())
            .unwrap_or_else(|| panic!("no violation counter in {stats}"))
    }

    /// Follows every channel the demo user can see; returns their ids.
    pub async fn follow_all(&self) -> Vec<String> {
        self.engine.refresh_structure().await.expect("structure");
        let mut ids = Vec::new();
        for team in self.engine.sidebar_snapshot().await.unwrap() {
            for c in team.channels {
                self.engine.set_followed(&c.channel.id, true).await.unwrap();
                ids.push(c.channel.id);
            }
        }
        ids
    }
}

/// A message as both sides can describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub last_modified_ms: i64,
    pub deleted: bool,
    pub reactions: usize,
    pub subject: Option<String>,
}

/// Every message of the channels in `channels` that the emulator holds and that delta (last 8
/// months) would return, modified after `since`, keyed by (channel, root, id).
pub fn emulator_messages(
    emulator: &Emulator,
    channels: &[String],
    since: chrono::DateTime<chrono::Utc>,
) -> std::collections::BTreeMap<(String, String, String), Fingerprint> {
    let tenant = emulator.state().tenant.read();
    let mut out = std::collections::BTreeMap::new();
    for team in &tenant.teams {
        for channel in &team.channels {
            if !channels.contains(&channel.id) {
                continue;
            }
            for root in &channel.messages.roots {
                // Delta returns whole chains changed after `since`.
                let chain_changed = std::iter::once(root)
                    .chain(root.replies.iter())
                    .any(|m| m.last_modified > since);
                if !chain_changed {
                    continue;
                }
                for m in std::iter::once(root).chain(root.replies.iter()) {
                    out.insert(
                        (channel.id.clone(), root.id.clone(), m.id.clone()),
                        Fingerprint {
                            last_modified_ms: m
                                .last_modified
                                .max(m.deleted.unwrap_or(m.last_modified))
                                .timestamp_millis(),
                            deleted: m.deleted.is_some(),
                            reactions: m.reactions.len(),
                            // Graph shows no subject on a deleted message.
                            subject: m
                                .subject
                                .clone()
                                .filter(|s| !s.is_empty() && m.deleted.is_none()),
                        },
                    );
                }
            }
        }
    }
    out
}

/// The same keys, looked up in the cache; a missing row is `None`.
pub fn cached(
    db_path: &std::path::Path,
    account: &AccountId,
    keys: impl Iterator<Item = (String, String, String)>,
) -> std::collections::BTreeMap<(String, String, String), Option<Fingerprint>> {
    let store = Store::open(db_path).unwrap();
    keys.map(|(c, r, id)| {
        let row = store
            .message(
                account,
                &MessageKey {
                    channel_id: c.clone(),
                    root_id: r.clone(),
                    id: id.clone(),
                },
            )
            .unwrap();
        (
            (c, r, id),
            row.map(|row| Fingerprint {
                last_modified_ms: row.last_modified_at.timestamp_millis(),
                deleted: row.deleted_at.is_some(),
                reactions: row.reactions.len(),
                subject: row.subject.clone().filter(|_| row.deleted_at.is_none()),
            }),
        )
    })
    .collect()
}

/// Asserts that the cache holds exactly the emulator's version of every message.
pub fn assert_converged(
    world_db: &std::path::Path,
    emulator: &Emulator,
    account: &AccountId,
    channels: &[String],
    since: chrono::DateTime<chrono::Utc>,
) -> usize {
    let expected = emulator_messages(emulator, channels, since);
    let got = cached(world_db, account, expected.keys().cloned());
    let mut wrong = Vec::new();
    for (key, want) in &expected {
        match &got[key] {
            Some(have) if have == want => {}
            other => wrong.push(format!("{key:?}: want {want:?}, have {other:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} messages differ, e.g.:\n{}",
        wrong.len(),
        expected.len(),
        wrong
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    expected.len()
}

/// The (team id, channel id) of a cached channel.
pub async fn names(w: &World, channel_id: &str) -> (String, String) {
    for t in w.engine.sidebar_snapshot().await.unwrap() {
        for c in t.channels {
            if c.channel.id == channel_id {
                return (t.team.id.clone(), c.channel.id.clone());
            }
        }
    }
    panic!("unknown channel {channel_id}");
}

/// A colleague of the demo user who may write in `channel_id` (a member of its team, and of
/// the channel itself when it is private or shared).
pub fn other_user(w: &World, channel_id: &str) -> String {
    let tenant = w.emulator.state().tenant.read();
    let team = tenant
        .teams
        .iter()
        .find(|t| t.channels.iter().any(|c| c.id == channel_id))
        .expect("channel in the tenant");
    let channel = team.channels.iter().find(|c| c.id == channel_id).unwrap();
    tenant
        .users
        .iter()
        .filter(|u| u.upn != w.demo_upn && team.members.contains(&u.id))
        .find(|u| channel.members.is_empty() || channel.members.iter().any(|m| m.user_id == u.id))
        .expect("a colleague in the channel")
        .upn
        .clone()
}

/// A one-paragraph plain-text draft.
pub fn text_draft(s: &str) -> perch_core::compose::Draft {
    use perch_core::compose::{Block, Draft, Inline};
    Draft {
        blocks: vec![Block::Paragraph {
            inlines: vec![Inline::Text {
                text: s.to_owned(),
                bold: false,
                italic: false,
                strike: false,
                code: false,
            }],
        }],
    }
}
