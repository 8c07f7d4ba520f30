#!/usr/bin/env bash
# Writes the Tauri configuration overlay for a packaging run, from the environment, as JSON on
# stdout (or into the file given as the only argument). Pass it to the Tauri CLI with
# `tauri build --config FILE` or `tauri bundle --config FILE`; docs/packaging.md has the exact
# commands per operating system. It holds what tauri.conf.json must not (it differs per
# machine, or Tauri reads no environment variable for it):
#
#   PERCH_CLI_BIN                  perch-cli staged for the bundle: a path WITHOUT the
#                                  `-<target triple>` suffix Tauri appends (bundle.externalBin);
#                                  the packages then install perch-cli beside perch
#   PERCH_WINDOWS_CERT_THUMBPRINT  Windows: sign with this certificate from the machine's store
#                                  (bundle.windows.certificateThumbprint, signtool)
#   PERCH_WINDOWS_SIGN_COMMAND     Windows: or sign with this command, `%1` standing for the file
#                                  (bundle.windows.signCommand; e.g. Azure Trusted Signing, a HSM)
#   PERCH_WINDOWS_TIMESTAMP_URL    Windows: the RFC 3161 timestamp server (default in the config)
#   PERCH_UPDATER_ENDPOINT         the update JSON's URL (plugins.updater.endpoints), https
#   TAURI_SIGNING_PRIVATE_KEY      when unset, no updater artifacts are made (createUpdaterArtifacts
#                                  false): the Tauri CLI refuses to make them unsigned
#
# Signing the macOS app, notarizing it and signing the RPM need no overlay: the Tauri CLI and
# bundler read APPLE_* and TAURI_SIGNING_RPM_KEY themselves. Node.js (needed for the UI build on
# every release machine) writes the JSON, so this runs in Git Bash on Windows too.
set -euo pipefail

out=${1:-}
if [ -n "${PERCH_WINDOWS_CERT_THUMBPRINT:-}" ] && [ -n "${PERCH_WINDOWS_SIGN_COMMAND:-}" ]; then
  echo "release-config: set PERCH_WINDOWS_CERT_THUMBPRINT or PERCH_WINDOWS_SIGN_COMMAND, not both" >&2
  exit 2
fi
if [ -n "${PERCH_UPDATER_ENDPOINT:-}" ] && [[ "$PERCH_UPDATER_ENDPOINT" != https://* ]]; then
  echo "release-config: PERCH_UPDATER_ENDPOINT must be an https URL" >&2
  exit 2
fi

json=$(node -e '
const env = process.env;
const bundle = { createUpdaterArtifacts: Boolean(env.TAURI_SIGNING_PRIVATE_KEY) };
const overlay = { bundle };
if (env.PERCH_CLI_BIN) bundle.externalBin = [env.PERCH_CLI_BIN];
const windows = {};
if (env.PERCH_WINDOWS_CERT_THUMBPRINT) windows.certificateThumbprint = env.PERCH_WINDOWS_CERT_THUMBPRINT;
if (env.PERCH_WINDOWS_SIGN_COMMAND) windows.signCommand = env.PERCH_WINDOWS_SIGN_COMMAND;
if (env.PERCH_WINDOWS_TIMESTAMP_URL) windows.timestampUrl = env.PERCH_WINDOWS_TIMESTAMP_URL;
if (Object.keys(windows).length) bundle.windows = windows;
if (env.PERCH_UPDATER_ENDPOINT) overlay.plugins = { updater: { endpoints: [env.PERCH_UPDATER_ENDPOINT] } };
process.stdout.write(JSON.stringify(overlay, null, 2) + "\n");
')

if [ -n "$out" ]; then
  mkdir -p "$(dirname "$out")"
  printf '%s\n' "$json" >"$out"
else
  printf '%s\n' "$json"
fi
