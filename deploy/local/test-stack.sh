# A whole stack for one test run, brought up the way `make run` does, sourced by e2e.sh
# and web-e2e.sh. The caller exports RUN_DIR, PORT, GATEWAY_PORTS, GRPC_PORT_BASE,
# OPS_PORT_BASE, DB_SUFFIX, REDIS_KEY_PREFIX and PERSIST_QUEUE first, so each run has its
# own ports, databases, Redis keys and queue and can run beside a developer's stack.
# shellcheck shell=bash

PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS_CLI=(redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379}")

# The queue and Redis keys of this stack (left by a run that was killed, or by this one).
test_stack_clean() {
  # The queue, its dead letters and the other queues the rooms were spread over.
  local queue
  for queue in "$PERSIST_QUEUE" "$PERSIST_QUEUE.dlq" $(seq -f "$PERSIST_QUEUE.q%g" 1 $((${PERSIST_QUEUES:-1} - 1))); do
    rabbitmqctl -q delete_queue "$queue" >/dev/null 2>&1 || true
  done
  "${REDIS_CLI[@]}" --scan --pattern "${REDIS_KEY_PREFIX}*" 2>/dev/null |
    xargs -r "${REDIS_CLI[@]}" del >/dev/null 2>&1 || true
}

# Starts the stack on a clean slate (its databases dropped, its queue and keys gone) and
# waits until nginx answers; the stack stops when the calling script exits.
test_stack_up() {
  local db
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"
  # PostgreSQL is started first when it is down: run.sh would, but only after the drop.
  "$ROOT/deploy/local/services.sh" >/dev/null
  for db in chat_auth chat_rooms chat_history chat_files; do
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ${db}${DB_SUFFIX} WITH (FORCE)" >/dev/null
  done
  test_stack_clean

  "$ROOT/deploy/local/run.sh" > "$RUN_DIR/stack.log" 2>&1 &
  TEST_STACK_PID=$!
  trap test_stack_down EXIT

  # The first start may build (cargo, npm ci, vite): up to five minutes.
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/nginx-health" 2>/dev/null && return 0
    if ! kill -0 "$TEST_STACK_PID" 2>/dev/null; then
      echo "the stack did not start:" >&2
      tail -50 "$RUN_DIR/stack.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "the stack did not answer in five minutes:" >&2
  tail -50 "$RUN_DIR/stack.log" >&2
  exit 1
}

test_stack_down() {
  kill -TERM "$TEST_STACK_PID" 2>/dev/null || true
  wait "$TEST_STACK_PID" 2>/dev/null || true
  test_stack_clean
}

# Prints the stack's log after a failed test.
test_stack_log() {
  tail -80 "$RUN_DIR/stack.log" >&2
}
