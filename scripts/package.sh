#!/usr/bin/env bash
# Builds Perch's Linux packages with Tauri's bundler (offline): the .deb and the .rpm by default.
#
#   scripts/package.sh [--debug] [deb,rpm]
#
# Both install /usr/bin/perch (the app), /usr/bin/perch-cli, the desktop file and the hicolor
# icons; the packages land in target/{release,debug}/bundle/{deb,rpm}/ and their paths are
# printed last. `--debug` packs the dev-profile build (what CI installs and checks: the same
# build the end-to-end step made, `--features custom-protocol`, so nothing is compiled again).
#
# It installs what it needs first (scripts/setup.sh: system packages, the UI's npm packages,
# which include the Tauri CLI pinned in ui/package.json), builds the UI bundle when it is older
# than its sources, builds the app and perch-cli, and then runs `tauri bundle` on them with the
# overlay scripts/release-config.sh writes (perch-cli as an external binary; signing and the
# updater endpoint from the environment). Signing: TAURI_SIGNING_RPM_KEY (+ _PASSPHRASE) signs
# the .rpm; TAURI_SIGNING_PRIVATE_KEY (+ _PASSWORD) signs the updater artifacts. The AppImage
# needs linuxdeploy from the network: `scripts/package.sh appimage` on a release machine.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }

profile=release
bundles=deb,rpm
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $arg (usage: scripts/package.sh [--debug] [deb,rpm])" ;;
    *) bundles=$arg ;;
  esac
done
for b in ${bundles//,/ }; do
  case "$b" in deb|rpm|appimage) ;; *) die "not a Linux bundle: $b (deb, rpm, appimage)" ;; esac
done

if [ "${PERCH_PACKAGE_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/setup.sh
fi

# The Tauri CLI: the npm package pinned in ui/package.json (a prebuilt binary; no compile).
tauri=ui/node_modules/.bin/tauri
want=$(node -p 'require("./ui/package.json").devDependencies["@tauri-apps/cli"]')
have=$("$tauri" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  log "installing the UI's npm packages (Tauri CLI $want; found '${have:-none}')"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  have=$("$tauri" --version | awk '{print $2}')
  [ "$have" = "$want" ] || die "tauri-cli $have installed, ui/package.json pins $want"
fi
log "tauri-cli $have"

# The UI bundle the app embeds: rebuilt only when a source is newer than it (CI's end-to-end
# step has just built it; rebuilding would make cargo rebuild the app).
if [ ! -f ui/dist/index.html ] ||
  [ -n "$(find ui/src ui/index.html ui/vite.config.ts ui/package-lock.json -newer ui/dist/index.html -print -quit 2>/dev/null)" ]; then
  log "ui: build"
  npm --prefix ui run --silent build
else
  log "ui: bundle up to date"
fi

if [ "$profile" = debug ]; then
  # The debug package is CI's smoke test: build the app (custom-protocol) and perch-cli in the
  # very feature resolution of scripts/test.sh's `cargo test` and scripts/test-e2e.sh's build
  # (`--workspace --features perch/custom-protocol`, dev-dependencies included), so both are
  # reused as they are. A `-p` build resolves features differently and would recompile most of
  # the dependency graph.
  log "build the app and perch-cli (debug, as the end-to-end step builds them)"
  cargo build --workspace --locked --features perch/custom-protocol --lib --bins --tests
else
  log "build the app (release, --features custom-protocol)"
  cargo build -p perch --features custom-protocol --locked --release
  log "build perch-cli (release)"
  cargo build -p perch-cli --locked --release
fi

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
triple=$(rustc -vV | sed -n 's/^host: //p')
out="$target_dir/$profile"
[ -x "$out/perch" ] || die "the app binary is missing: $out/perch"
[ -x "$out/perch-cli" ] || die "perch-cli is missing: $out/perch-cli"

# Tauri packs external binaries named `<name>-<target triple>` and installs them as `<name>`.
stage="$target_dir/package/$profile"
mkdir -p "$stage"
cp -f "$out/perch-cli" "$stage/perch-cli-$triple"
PERCH_CLI_BIN="$stage/perch-cli" bash scripts/release-config.sh "$stage/tauri.overlay.json"

debug_flag=()
[ "$profile" = debug ] && debug_flag=(--debug)
rm -rf "$out/bundle/deb" "$out/bundle/rpm"
log "bundle: $bundles"
"$tauri" bundle "${debug_flag[@]}" --bundles "$bundles" --features custom-protocol \
  --config "$stage/tauri.overlay.json"

log "packages:"
for b in ${bundles//,/ }; do
  case "$b" in
    deb) find "$out/bundle/deb" -maxdepth 1 -name '*.deb' ;;
    rpm) find "$out/bundle/rpm" -maxdepth 1 -name '*.rpm' ;;
    appimage) find "$out/bundle/appimage" -maxdepth 1 -name '*.AppImage' ;;
  esac
done | while read -r f; do
  printf '%s\t%s\n' "$(du -h "$f" | cut -f1)" "$f" >&2
  echo "$f"
done
