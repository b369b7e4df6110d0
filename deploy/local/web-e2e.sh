#!/usr/bin/env bash
# The web client's browser tests (`make web-e2e`): brings the stack up the way `make run`
# does, with the built client at / (its own ports, databases, Redis prefix and queue, so it
# can run beside a developer's stack and beside e2e.sh), runs Playwright in Debian's
# Chromium against nginx (web/e2e, web/playwright.config.ts), then stops the stack.
# Arguments go to `playwright test` (a file, --grep, --repeat-each 2, ...). Screenshots land
# in docs/screenshots, traces of failures in web/test-results.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export RUN_DIR=$ROOT/.run/web-e2e
export PORT=${WEB_E2E_PORT:-26080}
export GATEWAY_PORTS=${WEB_E2E_GATEWAY_PORTS:-"26081 26082"}
export GRPC_PORT_BASE=${WEB_E2E_GRPC_PORT_BASE:-25050} OPS_PORT_BASE=${WEB_E2E_OPS_PORT_BASE:-26100}
export DB_SUFFIX=_webe2e
export REDIS_KEY_PREFIX="chatwebe2e:"
export PERSIST_QUEUE="chat.messages.persist.webe2e"
export RUST_LOG=${RUST_LOG:-warn}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS_CLI=(redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379}")

# The queue and Redis keys of this stack (left by a run that was killed, or by this one).
clean_shared_state() {
  rabbitmqctl -q delete_queue "$PERSIST_QUEUE" >/dev/null 2>&1 || true
  rabbitmqctl -q delete_queue "$PERSIST_QUEUE.dlq" >/dev/null 2>&1 || true
  "${REDIS_CLI[@]}" --scan --pattern "${REDIS_KEY_PREFIX}*" 2>/dev/null |
    xargs -r "${REDIS_CLI[@]}" del >/dev/null 2>&1 || true
}

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
# A clean slate: the databases of the previous run go (PostgreSQL is started first when
# it is down; run.sh would start it too, but only after the drop).
drop_databases() {
  local db
  for db in chat_auth chat_rooms chat_history; do
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ${db}${DB_SUFFIX} WITH (FORCE)" >/dev/null
  done
}
deploy/local/services.sh >/dev/null
drop_databases
clean_shared_state

deploy/local/run.sh > "$RUN_DIR/stack.log" 2>&1 &
stack=$!
stop_stack() {
  kill -TERM "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  clean_shared_state
}
trap stop_stack EXIT

# The first start may build (cargo, npm ci, vite): up to five minutes.
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
# nginx serves the client run.sh built into web/dist.
if ! curl -fsS "http://127.0.0.1:$PORT/" | grep -q 'id="root"'; then
  echo "nginx does not serve the web client at http://127.0.0.1:$PORT/ (web/dist not built?)" >&2
  tail -50 "$RUN_DIR/stack.log" >&2
  exit 1
fi

status=0
CHAT_WEB_URL="http://127.0.0.1:$PORT" npm run --prefix web --silent e2e -- "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "browser tests failed (traces: web/test-results, npx --prefix web playwright show-trace <trace.zip>); the stack's log:" >&2
  tail -80 "$RUN_DIR/stack.log" >&2
fi
exit "$status"
