#!/usr/bin/env bash
# Installs what the build and the tests need beyond the Rust toolchain, from Debian's
# packages. Safe to run again; installs nothing that is already there.
set -euo pipefail

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v psql >/dev/null || need+=(postgresql-client)
command -v jq >/dev/null || need+=(jq)
# The fault test runs its own PostgreSQL, Redis and RabbitMQ next to the shared ones.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
# The web client's browser tests drive Debian's Chromium (browsers are not downloaded).
command -v chromium >/dev/null || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "installing ${need[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian's package starts a default nginx on port 80; the project runs its own.
  "${sudo_cmd[@]}" service nginx stop >/dev/null 2>&1 || "${sudo_cmd[@]}" nginx -s stop >/dev/null 2>&1 || true
fi
