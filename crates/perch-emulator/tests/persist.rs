//! The state file: what a running emulator holds survives a restart, writes are atomic, and a
//! damaged file stops the start with an error that says how to recover.

use std::path::PathBuf;

use chrono::Utc;
use perch_emulator::ops::{self, NewMessage};
use perch_emulator::{persist, seed, Emulator, EmulatorConfig, Error, Profile};

/// A fresh folder under the system temp dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "perch-emulator-persist-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn config(state_file: PathBuf) -> EmulatorConfig {
    EmulatorConfig {
        profile: Profile::Small,
        seed: 11,
        state_file: Some(state_file),
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn a_posted_message_survives_a_restart() {
    let dir = scratch("roundtrip");
    let file = dir.join("state.json");

    let emulator = Emulator::start(config(file.clone())).await.expect("starts");
    let (team, channel, message_id, seq) = {
        let mut tenant = emulator.state().tenant.write();
        let demo = seed::demo_user(&tenant).id;
        let team = tenant.teams[0].id;
        let channel = tenant.teams[0].channels[0].id.clone();
        let message = ops::post_message(
            &mut tenant,
            team,
            &channel,
            demo,
            NewMessage::html("<p>Persist me 💾</p>"),
            Utc::now(),
        )
        .expect("posts");
        let seq = tenant.teams[0].channels[0].messages.seq;
        (team, channel, message.id, seq)
    };
    let before = serde_json::to_value(&*emulator.state().tenant.read()).expect("serialises");
    let grants_before = emulator.state().entra.snapshot();
    emulator.shutdown().await.expect("saves on shutdown");
    assert!(file.exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n != "state.json")
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );

    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("reads")).expect("JSON");
    assert_eq!(raw["version"], 1);
    assert_eq!(raw["format"], "perch-emulator-state");
    assert!(
        raw["entra"].is_object(),
        "the identity platform's grants are saved"
    );

    // A different seed: the state file wins over seeding.
    let mut restarted = config(file.clone());
    restarted.seed = 99;
    let emulator = Emulator::start(restarted).await.expect("restarts");
    {
        let tenant = emulator.state().tenant.read();
        let channel = tenant
            .team(team)
            .and_then(|t| t.channel(&channel))
            .expect("channel");
        let idx = channel
            .messages
            .root_index(&message_id)
            .expect("indexed after load");
        assert_eq!(channel.messages.roots[idx].content, "<p>Persist me 💾</p>");
        assert_eq!(channel.messages.seq, seq, "change sequences survive");
        assert_eq!(channel.messages.by_seq.len(), channel.messages.roots.len());
        let after = serde_json::to_value(&*tenant).expect("serialises");
        assert_eq!(before, after, "the whole tenant round-trips");
    }
    assert_eq!(
        emulator.state().entra.snapshot(),
        grants_before,
        "the signing key and refresh tokens survive"
    );
    emulator.shutdown().await.expect("saves again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_missing_file_seeds_a_fresh_tenant() {
    let dir = scratch("missing");
    let file = dir.join("absent.json");
    assert!(persist::load(&config(file.clone()))
        .expect("no error")
        .is_none());
    let emulator = Emulator::start(config(file.clone())).await.expect("starts");
    assert_eq!(emulator.state().tenant.read().teams.len(), 2);
    emulator.shutdown().await.expect("saves");
    assert!(persist::load(&config(file)).expect("loads").is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_corrupt_file_is_a_clear_error() {
    let dir = scratch("corrupt");
    let cases: [(&str, &[u8], &str); 5] = [
        ("garbage.json", b"{ this is not json", "is not valid JSON"),
        (
            "truncated.json",
            br#"{"format":"perch-emulator-state","version":1,"tenant":{"id":"#,
            "ends too early",
        ),
        (
            "other.json",
            br#"{"hello":"world"}"#,
            "is not a Perch emulator state file",
        ),
        (
            "future.json",
            br#"{"format":"perch-emulator-state","version":7,"tenant":{}}"#,
            "version 7",
        ),
        (
            "shape.json",
            br#"{"format":"perch-emulator-state","version":1,"tenant":{"id":3}}"#,
            "does not have the expected shape",
        ),
    ];
    for (name, bytes, expected) in cases {
        let file = dir.join(name);
        std::fs::write(&file, bytes).expect("writes");
        let err = Emulator::start(config(file.clone()))
            .await
            .expect_err("refuses a damaged state file");
        match &err {
            Error::State { path, reason } => {
                assert_eq!(path, &file);
                assert!(reason.contains(expected), "{name}: {reason}");
                assert!(
                    reason.contains("delete or move") || reason.contains("move it away"),
                    "{name} says how to recover: {reason}"
                );
            }
            other => panic!("{name}: expected Error::State, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains(name), "the message names the file: {text}");
        // The damaged file is left alone for the user to inspect.
        assert_eq!(std::fs::read(&file).expect("still there"), bytes);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_unwritable_location_fails_the_save_with_a_clear_error() {
    let dir = scratch("unwritable");
    let file = dir.join("no-such-folder").join("state.json");
    let emulator = Emulator::start(config(file.clone())).await.expect("starts");
    let err = emulator.shutdown().await.expect_err("cannot save");
    match err {
        Error::State { path, reason } => {
            assert_eq!(path, file);
            assert!(reason.contains("cannot be written"), "{reason}");
            assert!(reason.contains("folder exists"), "{reason}");
        }
        other => panic!("expected Error::State, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
