#!/usr/bin/env bash
# make bench: Debian's wrk, the load generator of the reference server's throughput figures
# (benchmarks/throughput.py). Without it (not root, no apt-get) the bench says so and skips
# those figures.
set -euo pipefail
if command -v wrk >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's wrk ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q wrk >/dev/null 2>&1 || {
    apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null
  }
  exit 0
fi
echo "The throughput figures of make bench need Debian's wrk: as root, run apt-get install -y wrk" >&2
echo "(without it make bench skips them)." >&2
