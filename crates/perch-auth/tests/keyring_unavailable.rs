//! Without a D-Bus session there is no Secret Service: the error must say what to install or
//! unlock, and nothing falls back to plaintext. (Its own test binary: it changes the
//! process environment.)

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn no_secret_service_gives_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    // Edition 2021: changing the environment is safe here, and this binary has one test.
    std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
    std::env::set_var("XDG_RUNTIME_DIR", empty.path());
    let err = perch_auth::KeyringStore::platform().expect_err("no Secret Service without a bus");
    assert_eq!(err.code(), "keyring_unavailable", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("install gnome-keyring or KeePassXC"),
        "{message}"
    );
    assert!(message.contains("unlock"), "{message}");
    assert!(message.contains("this session only"), "{message}");
}
