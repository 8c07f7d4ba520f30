#!/usr/bin/env bash
# Runs the end-to-end tests (tests/e2e, package perch-e2e): the real Perch window, built the
# way a release is built (bundled UI via `--features custom-protocol`, not the dev server),
# driven over W3C WebDriver by tauri-driver + WebKitWebDriver on a virtual display.
#
# Needs the Debian packages webkit2gtk-driver, xvfb, xauth and dbus (scripts/setup.sh installs
# them); installs tauri-driver (pinned) into ~/.cargo/bin if it is not there. Screenshots and
# the tauri-driver/WebKitWebDriver/app logs land in tests/artifacts/. The output ends with
# cargo test's summary.
#
# The display comes from `xvfb-run -a` around `cargo test` (the harness does not start X
# itself): one virtual screen per run, on a free display number, gone when the run ends; a
# private `dbus-run-session` inside it gives the app a session bus that ends with the run.
set -euo pipefail
cd "$(dirname "$0")/.."

TAURI_DRIVER_VERSION=2.1.0
# Upper bound for the whole test run, in case something below the harness's own watchdog
# (per scenario, PERCH_E2E_TIMEOUT_SECS) wedges.
RUN_TIMEOUT_SECS=${PERCH_E2E_RUN_TIMEOUT_SECS:-1200}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$cargo_bin:$PATH"

# tauri-driver 2.1.0 has no --version flag (it rejects unknown arguments), so fall back to
# what `cargo install` recorded.
tauri_driver_is_pinned() {
  tauri-driver --version 2>/dev/null | grep -qw "$TAURI_DRIVER_VERSION" && return 0
  command -v tauri-driver >/dev/null 2>&1 &&
    cargo install --list | grep -qx "tauri-driver v${TAURI_DRIVER_VERSION}:"
}
if tauri_driver_is_pinned; then
  log "tauri-driver $TAURI_DRIVER_VERSION: present"
else
  log "installing tauri-driver $TAURI_DRIVER_VERSION"
  cargo install tauri-driver --version "$TAURI_DRIVER_VERSION" --locked
fi

command -v WebKitWebDriver >/dev/null 2>&1 ||
  die "WebKitWebDriver not found: install the Debian package webkit2gtk-driver (scripts/setup.sh does)"
command -v xvfb-run >/dev/null 2>&1 ||
  die "xvfb-run not found: install the Debian packages xvfb and xauth (scripts/setup.sh does)"
command -v dbus-run-session >/dev/null 2>&1 ||
  die "dbus-run-session not found: install the Debian package dbus (scripts/setup.sh does)"

log "ui: build (the bundle the app serves)"
npm --prefix ui run --silent build

log "build the app as a release is built (--features custom-protocol), the test browser and the tests"
# One feature resolution for everything: the same `--workspace` test build as
# scripts/test.sh's `cargo test` step (which passes the same feature), so nothing is compiled
# twice. A `-p` build resolves features differently and would recompile half the graph.
FEATURES=(--workspace --locked --features perch/custom-protocol)
cargo build "${FEATURES[@]}" --lib --bins --tests
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
# PERCH_E2E_PROFILE=release drives a release build of the app (the benchmark's figures for the
# shipped configuration); the default is the dev-profile app built above.
profile=${PERCH_E2E_PROFILE:-debug}
if [ "$profile" = release ]; then
  cargo build -p perch --features custom-protocol --locked --release
fi
app="$target_dir/$profile/perch"
[ -x "$app" ] || die "the app binary is missing: $app"
browser="$target_dir/debug/perch-test-browser"
[ -x "$browser" ] || die "the test browser is missing: $browser"

scratch=$(mktemp -d -t perch-e2e.XXXXXX)
trap 'rm -rf "$scratch" 2>/dev/null || true' EXIT
mkdir -p tests/artifacts

# PERCH_E2E_TEST_ARGS (e.g. a test name and --nocapture) goes to the test binary.
log "run the end-to-end tests under xvfb-run, in a D-Bus session with an unlocked gnome-keyring (artifacts in tests/artifacts/)"
# A private data folder and XDG folders keep the run off the developer's own profile.
# The private D-Bus session matters: without one, GTK autolaunches a session bus, and
# xdg-desktop-portal, xdg-document-portal (a FUSE mount) and the a11y bus outlive the run;
# dbus-run-session (inside scripts/with-secret-service.sh, which also starts gnome-keyring's
# Secret Service, unlocked, with its own XDG_DATA_HOME and XDG_RUNTIME_DIR) ends them with the
# run. The harness itself owns org.freedesktop.Notifications on that bus and records what the
# app raises.
# WEBKIT_DISABLE_COMPOSITING_MODE=1 or WEBKIT_DISABLE_DMABUF_RENDERER=1 must NOT be set: with
# either, WebKitGTK 2.50's WebDriver screenshot never answers here. Unset them if inherited.
env \
  -u WEBKIT_DISABLE_COMPOSITING_MODE \
  -u WEBKIT_DISABLE_DMABUF_RENDERER \
  -u DBUS_SESSION_BUS_ADDRESS \
  PERCH_E2E_APP="$app" \
  PERCH_E2E_TAURI_DRIVER="$cargo_bin/tauri-driver" \
  PERCH_E2E_BROWSER="$browser" \
  PERCH_E2E_SCRATCH="$scratch/scenarios" \
  PERCH_DATA_DIR="$scratch/data" \
  XDG_CONFIG_HOME="$scratch/xdg-config" \
  XDG_CACHE_HOME="$scratch/xdg-cache" \
  RUST_BACKTRACE="${RUST_BACKTRACE:-1}" \
  timeout --kill-after=15 "$RUN_TIMEOUT_SECS" \
  xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
  bash scripts/with-secret-service.sh \
  cargo test "${FEATURES[@]}" --test e2e -- ${PERCH_E2E_TEST_ARGS:-}
