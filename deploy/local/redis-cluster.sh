#!/usr/bin/env bash
# A local Redis Cluster for the tests: three masters and a replica each, on loopback
# ports (7301-7306, cluster bus 17301-17306), keeping nothing on disk, with a short node
# timeout so a failover takes a few seconds. Needs redis-server and redis-cli 7 (the
# distribution's redis package, which deploy/local/services.sh installs).
#
#   deploy/local/redis-cluster.sh start     start it (or find it running), print its seeds
#   deploy/local/redis-cluster.sh stop      stop every node and remove its files
#   deploy/local/redis-cluster.sh seeds     print the seed URLs (REDIS_CLUSTER's value)
#
# The services run against it with REDIS_CLUSTER=$(deploy/local/redis-cluster.sh seeds).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${REDIS_CLUSTER_DIR:-$ROOT/.run/redis-cluster}
FIRST_PORT=${REDIS_CLUSTER_FIRST_PORT:-7301}
NODES=6
NODE_TIMEOUT_MS=${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}

ports() { seq "$FIRST_PORT" $((FIRST_PORT + NODES - 1)); }

seeds() {
  local port list=()
  for port in $(ports); do list+=("redis://127.0.0.1:$port"); done
  (IFS=,; echo "${list[*]}")
}

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

healthy() {
  local port
  for port in $(ports); do
    cli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

start_node() {
  local port=$1
  mkdir -p "$DIR/$port"
  # A node keeps its cluster config (nodes.conf) in its directory; stale ones go with
  # a fresh start so the cluster is created anew.
  rm -f "$DIR/$port/nodes.conf"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$DIR/$port" \
    --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout "$NODE_TIMEOUT_MS" --save "" --appendonly no \
    --pidfile "$DIR/$port/redis.pid" --logfile "$DIR/$port/redis.log"
}

wait_answering() {
  local port tries
  for port in $(ports); do
    for tries in $(seq 50); do
      cli "$port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    cli "$port" ping >/dev/null
  done
}

start() {
  if healthy; then
    seeds
    return
  fi
  stop >/dev/null
  local port addresses=()
  for port in $(ports); do
    start_node "$port"
    addresses+=("127.0.0.1:$port")
  done
  wait_answering
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log"
  local tries
  for tries in $(seq 100); do
    healthy && break
    sleep 0.2
  done
  healthy || { echo "the Redis Cluster did not come up; see $DIR" >&2; exit 1; }
  # Every replica attached and synced, so a failover has someone to promote.
  for tries in $(seq 100); do
    [ "$(cli "$FIRST_PORT" cluster nodes | grep -c ' slave ')" -eq $((NODES / 2)) ] &&
      ! cli "$FIRST_PORT" cluster nodes | grep -q 'fail' && break
    sleep 0.2
  done
  seeds
}

stop() {
  local port
  for port in $(ports); do
    cli "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$DIR"
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  seeds) seeds ;;
  *) echo "usage: $0 start|stop|seeds" >&2; exit 2 ;;
esac
