#!/usr/bin/env bash
# `make run`: the whole stack on this machine against the local PostgreSQL, Redis and
# RabbitMQ: auth, rooms, history, two gateways and nginx in front at http://127.0.0.1:$PORT.
# One log stream, each line marked by its service. Ctrl-C stops everything.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PORT=${PORT:-8080}
RUN_DIR=${RUN_DIR:-$ROOT/.run}
PROFILE=${PROFILE:-debug}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
GATEWAY_PORTS=(${GATEWAY_PORTS:-8081 8082})
# Service ports: gRPC on $GRPC_PORT_BASE+1..3, ops HTTP on $OPS_PORT_BASE+1..3.
GRPC_PORT_BASE=${GRPC_PORT_BASE:-50050}
OPS_PORT_BASE=${OPS_PORT_BASE:-9100}
# A second stack (the end-to-end test) isolates itself with its own database names, Redis
# prefix and queue.
DB_SUFFIX=${DB_SUFFIX:-}
export REDIS_KEY_PREFIX=${REDIS_KEY_PREFIX:-chat:}
export PERSIST_QUEUE=${PERSIST_QUEUE:-chat.messages.persist}
AUTH_GRPC=127.0.0.1:$((GRPC_PORT_BASE + 1))
ROOMS_GRPC=127.0.0.1:$((GRPC_PORT_BASE + 2))
HISTORY_GRPC=127.0.0.1:$((GRPC_PORT_BASE + 3))
export RUST_LOG=${RUST_LOG:-info}
export LOG_FORMAT=${LOG_FORMAT:-text}

mkdir -p "$RUN_DIR/logs"

deploy/local/services.sh
deploy/local/install-tools.sh

if [ "$PROFILE" = release ]; then
  cargo build --release --bins
else
  cargo build --bins
fi
BIN="$ROOT/target/$PROFILE"

# A development signing key, created once and kept in .run/ (never committed).
KEY_FILE="$RUN_DIR/jwt-ed25519.pem"
if [ -z "${AUTH_SIGNING_KEY_FILE:-}" ] && [ -z "${AUTH_SIGNING_KEY:-}" ]; then
  [ -f "$KEY_FILE" ] || "$BIN/chat-auth" keygen --out "$KEY_FILE"
  export AUTH_SIGNING_KEY_FILE="$KEY_FILE"
fi

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

wait_http() {
  local name=$1 url=$2
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "$name did not become ready at $url" >&2
  exit 1
}

start auth env GRPC_ADDR=$AUTH_GRPC OPS_ADDR=127.0.0.1:$((OPS_PORT_BASE + 1)) \
  DATABASE_URL="$PG/chat_auth$DB_SUFFIX" REDIS_URL="$REDIS_URL" "$BIN/chat-auth"
start rooms env GRPC_ADDR=$ROOMS_GRPC OPS_ADDR=127.0.0.1:$((OPS_PORT_BASE + 2)) \
  DATABASE_URL="$PG/chat_rooms$DB_SUFFIX" REDIS_URL="$REDIS_URL" AMQP_URL="$AMQP_URL" "$BIN/chat-rooms"
start history env GRPC_ADDR=$HISTORY_GRPC OPS_ADDR=127.0.0.1:$((OPS_PORT_BASE + 3)) \
  DATABASE_URL="$PG/chat_history$DB_SUFFIX" REDIS_URL="$REDIS_URL" AMQP_URL="$AMQP_URL" "$BIN/chat-history"
wait_http auth "http://127.0.0.1:$((OPS_PORT_BASE + 1))/readyz"
wait_http rooms "http://127.0.0.1:$((OPS_PORT_BASE + 2))/readyz"
wait_http history "http://127.0.0.1:$((OPS_PORT_BASE + 3))/readyz"

# The zone shares least_conn's counts (and failure marks) between nginx workers.
upstreams="        zone chat_gateways 1m;"$'\n'
i=0
for port in "${GATEWAY_PORTS[@]}"; do
  i=$((i + 1))
  start "gateway$i" env HTTP_ADDR="127.0.0.1:$port" \
    AUTH_URL=http://$AUTH_GRPC ROOMS_URL=http://$ROOMS_GRPC HISTORY_URL=http://$HISTORY_GRPC \
    REDIS_URL="$REDIS_URL" AMQP_URL="$AMQP_URL" OTEL_SERVICE_NAME="chat-gateway-$i" "$BIN/chat-gateway"
  echo "${pids[-1]}" > "$RUN_DIR/gateway$i.pid"
  upstreams+="        server 127.0.0.1:$port max_fails=3 fail_timeout=10s;"$'\n'
done
for port in "${GATEWAY_PORTS[@]}"; do wait_http gateway "http://127.0.0.1:$port/readyz"; done

NGINX_DIR="$RUN_DIR/nginx"
mkdir -p "$NGINX_DIR"
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=200000
sed -e "s|@RUN_DIR@|$NGINX_DIR|g" \
  -e "s|@LISTEN@|127.0.0.1:$PORT|g" \
  -e "s|@WORKER_PROCESSES@|auto|g" \
  -e "s|@WORKER_RLIMIT_NOFILE@|$nofile|g" \
  -e "s|@WORKER_CONNECTIONS@|$((nofile / 2))|g" \
  -e "s|@WS_CONN_PER_IP@|$((nofile / 2))|g" \
  -e "s|@ACCESS_LOG@|$RUN_DIR/logs/nginx-access.log|g" \
  deploy/nginx/nginx.conf.template |
  awk -v servers="$upstreams" '{ if ($0 == "@UPSTREAM_SERVERS@") printf "%s", servers; else print }' \
    > "$NGINX_DIR/nginx.conf"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
"$NGINX" -t -q -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf"
start nginx "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -g 'daemon off;'
wait_http nginx "http://127.0.0.1:$PORT/nginx-health"

cat <<MSG

  chat is running
    API + WebSocket   http://127.0.0.1:$PORT   (ws://127.0.0.1:$PORT/ws)
    OpenAPI           http://127.0.0.1:$PORT/api/openapi.json
    gateways          $(for p in "${GATEWAY_PORTS[@]}"; do printf 'http://127.0.0.1:%s ' "$p"; done)(metrics at /metrics)
    auth/rooms/history metrics  http://127.0.0.1:$((OPS_PORT_BASE + 1))/metrics  :$((OPS_PORT_BASE + 2))  :$((OPS_PORT_BASE + 3))
    access log        $RUN_DIR/logs/nginx-access.log
  Ctrl-C stops everything.

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
