#!/usr/bin/env bash
# Installs everything Perch needs to build, run and test on Debian/Ubuntu: system packages
# (WebKitGTK, build tools, Xvfb, WebKitWebDriver, gnome-keyring, D-Bus), the UI's npm
# packages from the lock file, and checks the Rust toolchain. Safe to run again: it skips what
# is already there. Other platforms: see README.md ("Other platforms").
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config curl wget file ca-certificates
  libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev libxdo-dev
  xvfb xauth webkit2gtk-driver
  gnome-keyring dbus dbus-x11 libsecret-tools
  fonts-noto-color-emoji
  desktop-file-utils
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_system_packages() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "not a Debian/Ubuntu system: install the equivalents of ${APT_PACKAGES[*]} yourself"
    return
  fi
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "system packages: all present"
    return
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  log "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

check_toolchains() {
  command -v cargo >/dev/null 2>&1 || {
    echo "cargo not found: install Rust from rustup.rs (stable, 1.88 or newer)" >&2
    exit 1
  }
  command -v npm >/dev/null 2>&1 || {
    echo "npm not found: install Node.js 20 or newer" >&2
    exit 1
  }
}

ensure_npm_11() {
  # Vite 8's lock file needs npm 11; some machines come with npm 10.
  local major
  major=$(npm --version | cut -d. -f1)
  if [ "$major" -lt 11 ]; then
    log "upgrading npm $(npm --version) to 11"
    npm install -g --no-audit --no-fund --loglevel=error npm@11
  fi
}

install_ui_packages() {
  if [ -d ui/node_modules ] && [ ui/node_modules/.package-lock.json -nt ui/package-lock.json ]; then
    log "ui packages: up to date"
    return
  fi
  log "installing ui packages (npm ci)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
}

install_system_packages
check_toolchains
ensure_npm_11
install_ui_packages
