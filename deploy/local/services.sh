#!/usr/bin/env bash
# Starts the local PostgreSQL, Redis and RabbitMQ when they are down, and waits until each
# answers. Safe to run again.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 120); do
    if port_open "$port"; then echo "$name is up on $port"; return 0; fi
    sleep 1
  done
  echo "$name did not come up on port $port" >&2
  return 1
}

if ! port_open 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
wait_for PostgreSQL 5432

if ! port_open 6379; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for Redis 6379

if ! port_open 5672; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached
fi
wait_for RabbitMQ 5672
if command -v rabbitmqctl >/dev/null; then
  rabbitmqctl await_startup --timeout 120 >/dev/null 2>&1 || true
fi
