#!/usr/bin/env bash
# The end-to-end test of `make test`: brings the stack up the way `make run` does (its own
# ports, databases, Redis prefix and queue, so it can run beside a developer's stack and
# twice in a row), runs the client-side test through nginx, then stops the stack.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
run_id=$(date +%s)-$$
export RUN_DIR=$ROOT/.run/e2e
export PORT=${E2E_PORT:-18080}
export GATEWAY_PORTS=${E2E_GATEWAY_PORTS:-"18081 18082"}
export GRPC_PORT_BASE=51050 OPS_PORT_BASE=19100
export DB_SUFFIX=_e2e
export REDIS_KEY_PREFIX="chat-e2e:$run_id:"
export PERSIST_QUEUE="chat.messages.persist.e2e-$run_id"
export RUST_LOG=${RUST_LOG:-warn}
PG=${PG:-postgres://postgres@127.0.0.1:5432}

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
# A clean slate: the databases of the previous run go.
for db in chat_auth chat_rooms chat_history; do
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ${db}${DB_SUFFIX} WITH (FORCE)" >/dev/null
done

deploy/local/run.sh > "$RUN_DIR/stack.log" 2>&1 &
stack=$!
stop_stack() {
  kill -TERM "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  # The queue and Redis keys of this run.
  rabbitmqctl -q delete_queue "$PERSIST_QUEUE" >/dev/null 2>&1 || true
  rabbitmqctl -q delete_queue "$PERSIST_QUEUE.dlq" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "${REDIS_KEY_PREFIX}*" | xargs -r redis-cli del >/dev/null 2>&1 || true
}
trap stop_stack EXIT

for _ in $(seq 1 600); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/nginx-health" 2>/dev/null && break
  if ! kill -0 "$stack" 2>/dev/null; then
    echo "the stack did not start:" >&2
    tail -50 "$RUN_DIR/stack.log" >&2
    exit 1
  fi
  sleep 0.5
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/nginx-health"

status=0
CHAT_E2E_URL="http://127.0.0.1:$PORT" CHAT_E2E_RUN_DIR="$RUN_DIR" CHAT_E2E_GATEWAYS="$GATEWAY_PORTS" \
  cargo test -p chat-gateway --locked --test stack -- --ignored --test-threads 1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "end-to-end test failed; the stack's log:" >&2
  tail -80 "$RUN_DIR/stack.log" >&2
fi
exit "$status"
