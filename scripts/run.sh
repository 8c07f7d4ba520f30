#!/usr/bin/env bash
# Runs the Perch desktop app in development mode (Vite dev server + the Rust shell), after
# installing what it needs. With no organisation configured it runs against the built-in
# demo tenant.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec ui/node_modules/.bin/tauri dev "$@"
