#!/usr/bin/env bash
# `make run`: the whole stack on this machine against the local PostgreSQL, Redis and
# RabbitMQ: auth, rooms, history, files, two gateways and nginx in front at http://127.0.0.1:$PORT.
# One log stream, each line marked by its service. Ctrl-C stops everything.
# TRACES=1: every service exports its traces to chat-traces (an OTLP receiver on
# 127.0.0.1:$TRACES_PORT, 4317 by default), which prints each trace as a tree into the log
# stream and $RUN_DIR/logs/traces.log.
# PROMETHEUS=1: a Prometheus on 127.0.0.1:$PROMETHEUS_PORT (9090 by default; Debian's
# package, installed when missing) scrapes every service with the Kubernetes deployment's
# scrape job and evaluates the alert rules (deploy/local/stack.sh, stack_prometheus_config).
set -euo pipefail

# shellcheck source=deploy/local/stack.sh
source "$(dirname "$0")/stack.sh"
cd "$ROOT"

mkdir -p "$RUN_DIR/logs"

# What was found, started or installed, said again once everything answers.
export DEPENDENCY_REPORT="$RUN_DIR/dependencies.txt"
: > "$DEPENDENCY_REPORT"
deploy/local/services.sh
deploy/local/install-tools.sh run

stack_build
stack_signing_key
stack_vapid_key

pids=()
declare -A names=()
cleanup() {
  trap - INT TERM EXIT
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

# start NAME COMMAND...: runs COMMAND with its output prefixed by NAME.
start() {
  local name=$1
  shift
  "$@" > >(sed -u "s/^/$(printf '%-9s' "$name")| /") 2>&1 &
  pids+=($!)
  names[$!]=$name
}

# start_service NAME: starts the service and waits until it is ready.
start_service() {
  service_command "$1"
  start "$1" "${SERVICE_COMMAND[@]}"
  echo "${pids[-1]}" > "$RUN_DIR/$1.pid"
}

if [ "${TRACES:-0}" = 1 ]; then
  traces_addr=127.0.0.1:${TRACES_PORT:-4317}
  start traces "$BIN/chat-traces" --listen "$traces_addr" --out "$RUN_DIR/logs/traces.log"
  # Every span, exported half a second after it ends.
  export OTEL_EXPORTER_OTLP_ENDPOINT=http://$traces_addr OTEL_BSP_SCHEDULE_DELAY=500
  export OTEL_TRACES_SAMPLER=always_on
fi

backends=$(stack_services | grep -v gateway)
for service in $backends; do start_service "$service"; done
for service in $backends; do service_command "$service"; wait_http "$service" "$SERVICE_READY"; done
gateways=$(stack_services | grep gateway)
for service in $gateways; do start_service "$service"; done
# Two minutes: a gateway may run under a slow tool (GATEWAYn_PREFIX).
for service in $gateways; do service_command "$service"; wait_http "$service" "$SERVICE_READY" 600; done

stack_nginx_config
start nginx "${NGINX_COMMAND[@]}"
wait_http nginx "http://127.0.0.1:$PORT/nginx-health"

if [ "${PROMETHEUS:-0}" = 1 ]; then
  stack_prometheus_config
  start prometheus "${PROMETHEUS_COMMAND[@]}"
  wait_http prometheus "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
fi

cat <<MSG

  chat is running
    open              http://127.0.0.1:$PORT/   (the web client: register, then chat)
    API + WebSocket   http://127.0.0.1:$PORT/api   (ws://127.0.0.1:$PORT/ws)
    API reference     http://127.0.0.1:$PORT/api/docs
    gateways          $(for p in "${GATEWAY_PORTS[@]}"; do printf 'http://127.0.0.1:%s ' "$p"; done)(metrics at /metrics)
    auth/rooms/history/files metrics  http://127.0.0.1:$((OPS_PORT_BASE + 1))/metrics  :$((OPS_PORT_BASE + 2))  :$((OPS_PORT_BASE + 3))  :$((OPS_PORT_BASE + 4))
    uploads           $RUN_DIR/files
    mail              $RUN_DIR/mail   (password resets, email confirmations; or set SMTP_HOST)
    access log        $RUN_DIR/logs/nginx-access.log
    prometheus        $( [ "${PROMETHEUS:-0}" = 1 ] && echo "http://127.0.0.1:$PROMETHEUS_PORT/targets   (alerts: /alerts; the dashboard's queries: docs/operations.md)" || echo "off (make run PROMETHEUS=1 starts one scraping every service)")
    traces            $( [ "${TRACES:-0}" = 1 ] && echo "$RUN_DIR/logs/traces.log (each trace as a tree; also in this log stream)" || echo "off (make run TRACES=1 prints each trace as a tree)")
    build             $PROFILE$( [ "$PROFILE" = release ] || echo " (for load tests: make run PROFILE=release)")

  dependencies
$(cat "$DEPENDENCY_REPORT")

  Ctrl-C stops everything (the dependencies above keep running).

MSG

# Keep running until Ctrl-C, even when one process exits (stopping one gateway to watch
# its clients move to the other is a fine thing to try); say which one did.
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
  exited=""
  status=0
  wait -n -p exited || status=$?
  [ -n "${exited:-}" ] || break
  echo "${names[$exited]:-process $exited} exited with status $status" >&2
done
