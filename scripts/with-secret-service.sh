#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring providing the
# Secret Service, so keyring tests run headless (CI, containers):
#
#   scripts/with-secret-service.sh cargo test -p perch-auth --test secret_service
#
# It sets PERCH_TEST_SECRET_SERVICE=1 for the command, which turns those tests on. With
# `--locked` first, the keyring daemon runs but stays locked, and PERCH_TEST_SECRET_SERVICE_LOCKED=1
# selects the test of the "unlock it" error instead:
#
#   scripts/with-secret-service.sh --locked cargo test -p perch-auth --test secret_service
#
# Needs dbus-run-session (dbus, dbus-x11) and gnome-keyring; libsecret-tools (secret-tool)
# helps to look at entries. The keyring lives in a temporary XDG_DATA_HOME, removed afterwards.
set -euo pipefail

unlock=1
if [ "${1:-}" = "--locked" ]; then
    unlock=0
    shift
fi
if [ "$#" -eq 0 ]; then
    echo "usage: $0 [--locked] <command> [args…]" >&2
    exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$0: $tool not found; install dbus (dbus-x11) and gnome-keyring" >&2
        exit 127
    fi
done

data_home="$(mktemp -d)"
runtime_dir="$(mktemp -d)"
chmod 700 "$runtime_dir"
trap 'rm -rf "$data_home" "$runtime_dir"' EXIT
export XDG_DATA_HOME="$data_home"
export XDG_RUNTIME_DIR="$runtime_dir"
# Tell the keyring tests a real Secret Service is there (crates/perch-auth/tests/secret_service.rs).
export PERCH_TEST_SECRET_SERVICE="${PERCH_TEST_SECRET_SERVICE:-1}"
if [ "$unlock" = 0 ]; then
    export PERCH_TEST_SECRET_SERVICE_LOCKED=1
fi

# Inside the session: start gnome-keyring's Secret Service with a fresh login keyring unlocked
# by a throwaway password (`--unlock` reads it from stdin; without it writes fail with
# NoStorageAccess, which `--locked` wants), then run the command.
inner='
set -euo pipefail
if [ "$PERCH_KEYRING_UNLOCK" = 1 ]; then
    printf "perch-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
else
    gnome-keyring-daemon --start --components=secrets >/dev/null
fi
unset PERCH_KEYRING_UNLOCK
exec "$@"
'
PERCH_KEYRING_UNLOCK="$unlock" dbus-run-session -- bash -c "$inner" with-secret-service "$@"
