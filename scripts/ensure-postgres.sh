#!/usr/bin/env bash
# make postgres: Debian's PostgreSQL 15 server binaries, for the tests' throwaway clusters
# (tests/postgres.py) and make conformance-postgres. Nothing is started here, and no
# system cluster is used: the tests start their own as the 'postgres' user.
set -euo pipefail
if [ -x /usr/lib/postgresql/15/bin/initdb ] && id postgres >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's PostgreSQL 15 (postgresql-15) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql-15 >/dev/null 2>&1 || {
    apt-get update -q >/dev/null && apt-get install -y -q postgresql-15 >/dev/null
  }
  # The package's own cluster is not what the tests use: keep it from running.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r v n; do
      pg_ctlcluster "$v" "$n" stop || true
    done
  fi
  exit 0
fi
echo "The server tests run on PostgreSQL 15 too: as root, run apt-get install -y postgresql-15" >&2
echo "(without it they skip PostgreSQL locally, and fail in CI)." >&2
