#!/usr/bin/env bash
# Finds a Chromium for Playwright, or installs Debian's when none is found.
# Playwright's own browser download cannot work here (it fetches from outside
# the package registries), so the harness drives the distribution's Chromium.
# Prints the path of the browser it found on the last line.
set -euo pipefail

find_browser() {
  if [ -n "${TWOFA_CHROMIUM:-}" ]; then
    if [ -x "$TWOFA_CHROMIUM" ]; then echo "$TWOFA_CHROMIUM"; return 0; fi
    echo "TWOFA_CHROMIUM=$TWOFA_CHROMIUM is not an executable file." >&2
    return 2
  fi
  for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
  return 1
}

if browser=$(find_browser); then
  echo "$browser"
  exit 0
elif [ $? -eq 2 ]; then
  exit 2
fi

echo "No Chromium found: installing Debian's chromium package (about 500 MB, once)." >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; else
    cat >&2 <<'MSG'
Cannot install Chromium: this needs root. Do one of these, then run make again:
  sudo apt-get update && sudo apt-get install -y chromium
  export TWOFA_CHROMIUM=/path/to/chromium   # a Chromium or Chrome you already have
MSG
    exit 1
  fi
else
  SUDO=
fi
if ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<'MSG'
Cannot install Chromium: this machine has no apt-get. Install Chromium with your
package manager, or point the harness at one: export TWOFA_CHROMIUM=/path/to/chromium
MSG
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq chromium >&2
find_browser
