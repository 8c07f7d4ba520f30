//! Test tool for `tests/crash.rs` (not shipped): `perch-store-crashtest DB_PATH` opens the store,
//! makes sure its account, team and channel exist, then ingests generated 50-message pages
//! forever, each with a sync state whose watermark is the page's newest `last_modified_at` and
//! whose `next_link` is `page-{n}`; it resumes after the last page the database holds. It
//! prints `page {n}` after each commit. The test kills it with SIGKILL at random moments.

use std::io::Write;

use chrono::{Duration, TimeZone, Utc};
use perch_core::{AccountId, Cloud, Hosts};
use perch_store::bench::Generator;
use perch_store::{AccountRecord, AccountState, CacheStore, ChannelRow, Store, SyncState, TeamRow};
use uuid::Uuid;

/// The fixed account the test checks.
pub const ACCOUNT: (u128, u128) = (0x1111, 0x2222);
const CHANNEL: &str = "19:crash@thread.tacv2";
const PAGE: usize = 50;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: perch-store-crashtest DB_PATH")?;
    let (mut store, recovery) = Store::open_checked(std::path::Path::new(&path))?;
    if recovery.is_some() {
        return Err("the database needed recovery".into());
    }
    let account = AccountId::new(Uuid::from_u128(ACCOUNT.0), Uuid::from_u128(ACCOUNT.1));
    if store.account(&account)?.is_none() {
        let now = Utc::now();
        store.upsert_account(&AccountRecord {
            id: account,
            display_name: "Crash Test".into(),
            upn: "crash@example.invalid".into(),
            client_id: Uuid::nil(),
            cloud: Cloud::Global,
            hosts: Hosts::of_cloud(Cloud::Global),
            state: AccountState::SignedIn,
            state_reason: None,
            added_at: now,
            updated_at: now,
        })?;
        store.replace_teams(
            &account,
            &[TeamRow {
                id: "team".into(),
                display_name: "Team".into(),
                description: None,
            }],
        )?;
        store.replace_channels(
            &account,
            "team",
            &[ChannelRow {
                team_id: "team".into(),
                id: CHANNEL.into(),
                display_name: "Crash".into(),
                description: None,
                membership_type: "standard".into(),
                web_url: None,
                followed: true,
            }],
        )?;
    }
    let state = store.sync_state(&account, CHANNEL)?;
    let mut page: u64 = match state
        .next_link
        .as_deref()
        .and_then(|l| l.strip_prefix("page-"))
    {
        Some(n) => n.parse::<u64>()? + 1,
        None => 0,
    };
    let base = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .ok_or("time")?;
    let mut g = Generator::new(page, 5_000);
    let mut out = std::io::stdout();
    loop {
        let mut rows = Vec::with_capacity(PAGE);
        for i in 0..PAGE {
            let mut m = g.message("team", CHANNEL);
            m.id = format!("p{page}-{i}");
            m.reply_to_id = None;
            let t = base + Duration::milliseconds((page * PAGE as u64 + i as u64) as i64 * 10);
            m.created_at = t;
            m.last_modified_at = t;
            rows.push(m);
        }
        let watermark = rows.last().map(|m| m.last_modified_at);
        store.ingest(
            &account,
            CHANNEL,
            &rows,
            Some(&SyncState {
                next_link: Some(format!("page-{page}")),
                watermark,
                round_started_at: Some(base),
                ..SyncState::default()
            }),
        )?;
        writeln!(out, "page {page}")?;
        page += 1;
    }
}
