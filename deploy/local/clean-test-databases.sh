#!/usr/bin/env bash
# Drops the uniquely named databases that integration tests create (chat_*_test_*).
set -euo pipefail
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432/postgres}
psql "$PGURL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'chat\_%\_test\_%'" |
  while read -r db; do
    psql "$PGURL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  done
