#!/usr/bin/env bash
# CI's package test: builds the .deb from the dev-profile build the end-to-end step made
# (scripts/package.sh --debug deb; the app must not be compiled again), installs it with
# `dpkg -i` (plus `apt-get -f install` for missing runtime dependencies), checks that
# /usr/bin/perch and /usr/bin/perch-cli answer --version without a display, that the desktop
# file validates and the hicolor icons are in place, then removes the package with `dpkg -r`
# and checks that its files are gone.
#
# Installing needs root: when not root it skips with a message, unless CI is set, where it
# fails (CI runs as root on a throwaway machine). It refuses to run when a `perch` package is
# already installed (it would replace and then remove someone's installation).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'test-package: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  if [ -n "${CI:-}" ]; then
    die "CI is set but this is not root: installing the .deb needs root"
  fi
  log "SKIPPED: installing the .deb needs root (run as root, or in CI); building it only"
  bash scripts/package.sh --debug deb >/dev/null
  exit 0
fi
command -v dpkg >/dev/null 2>&1 || die "dpkg not found: the package test runs on Debian/Ubuntu"
perch_installed() { [ "$(dpkg-query -W -f='${Status}' perch 2>/dev/null || true)" = "install ok installed" ]; }
if perch_installed; then
  die "a perch package is already installed on this machine; remove it first (dpkg -r perch)"
fi

# Build, and check that cargo reused the app the end-to-end step built.
build_log=$(mktemp -t perch-package.XXXXXX)
paths=$(mktemp -t perch-package.XXXXXX)
trap 'rm -f "$build_log" "$paths"' EXIT
started=$(date +%s)
if ! bash scripts/package.sh --debug deb >"$paths" 2>"$build_log"; then
  cat "$build_log" >&2
  die "scripts/package.sh --debug deb failed"
fi
cat "$build_log" >&2
deb=$(tail -n 1 "$paths")
[ -f "$deb" ] || die "no .deb was built"
if grep -E '^\s*Compiling perch v' "$build_log" >&2; then
  log "note: the package step compiled the app (no reusable build from the end-to-end step)"
else
  log "the app was not compiled again (cargo reused the end-to-end step's build)"
fi
log "built $(basename "$deb") ($(du -h "$deb" | cut -f1)) in $(( $(date +%s) - started ))s"

log "package metadata"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
# (Values are read into variables first: `cmd | grep -q` can fail under pipefail when grep
# exits before cmd has written everything.)
for field in Package Version Maintainer Depends Description; do
  value=$(dpkg-deb --field "$deb" "$field")
  [ -n "$value" ] || die "the .deb has no $field"
done
depends=$(dpkg-deb --field "$deb" Depends)
[[ "$depends" == *libwebkit2gtk-4.1-0* ]] || die "the .deb does not depend on WebKitGTK 4.1: $depends"

installed=0
cleanup() {
  if [ "$installed" = 1 ]; then dpkg -r perch >/dev/null 2>&1 || true; fi
  rm -f "$build_log" "$paths"
}
trap cleanup EXIT

log "dpkg -i $(basename "$deb")"
installed=1
if ! dpkg -i "$deb"; then
  log "installing missing runtime dependencies (apt-get -f install)"
  DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq --no-install-recommends
fi
perch_installed || die "perch is not installed"

log "installed files"
files=$(dpkg -L perch)
printf '%s\n' "$files" | grep -E '^/usr/(bin|share/applications|share/icons)/.' >&2

log "the binaries start without a display"
out=$(env -u DISPLAY -u WAYLAND_DISPLAY timeout 20 /usr/bin/perch --version) || die "perch --version failed"
[ "$out" = "perch $(dpkg-deb --field "$deb" Version)" ] || die "perch --version said: $out"
echo "$out"
env -u DISPLAY -u WAYLAND_DISPLAY timeout 20 /usr/bin/perch --help | head -n 1
out=$(timeout 20 /usr/bin/perch-cli --version) || die "perch-cli --version failed"
echo "$out"
[[ "$out" == "perch-cli "* ]] || die "perch-cli --version said: $out"

log "desktop file"
desktop=/usr/share/applications/Perch.desktop
[ -f "$desktop" ] || die "no desktop file at $desktop"
command -v desktop-file-validate >/dev/null 2>&1 ||
  die "desktop-file-validate not found: install desktop-file-utils (scripts/setup.sh does)"
desktop-file-validate "$desktop"
grep -qx 'Exec=perch' "$desktop" || die "the desktop file does not start perch"
grep -qx 'Icon=perch' "$desktop" || die "the desktop file does not name the perch icon"
cat "$desktop"

log "icons"
for size in 32x32 64x64 128x128 256x256 512x512; do
  icon=/usr/share/icons/hicolor/$size/apps/perch.png
  [ -f "$icon" ] || die "missing icon $icon"
  kind=$(file "$icon")
  [[ "$kind" == *"PNG image data, ${size/x/ x },"* ]] || die "$icon is not a ${size} PNG: $kind"
done

log "dpkg -r perch"
dpkg -r perch
installed=0
if perch_installed; then
  die "perch is still installed"
fi
left=0
while read -r f; do
  case "$f" in
    /usr/bin/*|/usr/share/applications/*|/usr/share/icons/hicolor/*/apps/*)
      if [ -e "$f" ]; then echo "left behind: $f" >&2; left=1; fi ;;
  esac
done <<<"$files"
[ "$left" = 0 ] || die "dpkg -r left files behind"
log "package test passed: installed, started, validated and removed cleanly"
