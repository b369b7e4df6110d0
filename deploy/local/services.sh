#!/usr/bin/env bash
# PostgreSQL, Redis and RabbitMQ for the local stack and the tests: each one that answers
# on its port is used as it is (a server of your own included); one that is installed but
# down is started; one that is missing is installed from the distribution's packages and
# started. Waits until each answers and prints a line per dependency saying which.
# Servers elsewhere are used when PG, REDIS_URL or AMQP_URL name another host. Safe to
# run again.
set -euo pipefail

# shellcheck source=deploy/local/packages.sh
source "$(dirname "$0")/packages.sh"

PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}

# endpoint URL DEFAULT_PORT: prints "HOST PORT" of a URL like scheme://user:pw@host:port/x.
endpoint() {
  local rest=${1#*://}
  rest=${rest%%/*}
  rest=${rest%%\?*}
  rest=${rest##*@}
  local host=${rest%:*} port=${rest##*:}
  [ "$host" != "$rest" ] || port=$2
  echo "${host:-127.0.0.1} ${port:-$2}"
}

is_local() { case $1 in 127.0.0.1 | localhost | ::1 | "[::1]") return 0 ;; *) return 1 ;; esac; }

# A newly installed PostgreSQL asks for passwords over TCP; the local stack connects as
# `postgres` without one, so loopback connections are trusted (a development machine's
# setting, made only on a server this script installed).
trust_loopback() {
  local hba version
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
  version=$(basename "$(dirname "$(dirname "$hba")")")
  as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  # The package may have started it already.
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload >/dev/null 2>&1 || true
}

start_postgres() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    as_root pg_createcluster "$version" main >/dev/null
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
}

start_redis() {
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$1" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/chat-dev.log
}

start_rabbitmq() {
  as_root rabbitmq-server -detached
}

# provide NAME URL DEFAULT_PORT PACKAGE INSTALLED_TEST START_FUNCTION [AFTER_INSTALL]
provide() {
  local name=$1 url=$2 default_port=$3 package=$4 installed=$5 start=$6 after_install=${7:-}
  local host port
  read -r host port < <(endpoint "$url" "$default_port")
  if ! is_local "$host"; then
    wait_for "$name" "$port" "$host"
    report "$name" "found at $host:$port (not managed here)"
    return
  fi
  if port_open "$port"; then
    report "$name" "found, answering on 127.0.0.1:$port"
    return
  fi
  local done_what=started
  if ! eval "$installed"; then
    apt_install "$package"
    [ -z "$after_install" ] || "$after_install"
    done_what="installed ($package) and started"
  fi
  # A package's own service may already be starting it.
  port_open "$port" || "$start" "$port"
  wait_for "$name" "$port"
  report "$name" "$done_what on 127.0.0.1:$port"
}

provide PostgreSQL "$PG" 5432 postgresql \
  'ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1' start_postgres trust_loopback
provide Redis "$REDIS_URL" 6379 redis-server 'command -v redis-server >/dev/null' start_redis
provide RabbitMQ "$AMQP_URL" 5672 rabbitmq-server \
  'command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ]' start_rabbitmq
read -r amqp_host _ < <(endpoint "$AMQP_URL" 5672)
if is_local "$amqp_host" && command -v rabbitmqctl >/dev/null; then
  as_root rabbitmqctl await_startup --timeout 120 >/dev/null 2>&1 || true
fi
