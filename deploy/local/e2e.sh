#!/usr/bin/env bash
# The end-to-end test of `make test`: brings the stack up the way `make run` does (its own
# ports, databases, Redis prefix and queue, so it can run beside a developer's stack and
# twice in a row), runs the client-side test through nginx (and the trace test, with every
# service exporting to its OTLP receiver), then stops the stack.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
run_id=$(date +%s)-$$
export RUN_DIR=$ROOT/.run/e2e
export PORT=${E2E_PORT:-18080}
export GATEWAY_PORTS=${E2E_GATEWAY_PORTS:-"18081 18082"}
export GRPC_PORT_BASE=18050 OPS_PORT_BASE=19100
export DB_SUFFIX=_e2e
export REDIS_KEY_PREFIX="chat-e2e:$run_id:"
export PERSIST_QUEUE="chat.messages.persist.e2e-$run_id"
# Two persist queues: the whole stack's way to history over more than one queue.
export PERSIST_QUEUES=${E2E_PERSIST_QUEUES:-2}
export RUST_LOG=${RUST_LOG:-warn}
# Every service exports traces to the OTLP receiver the trace test runs (quiet logs or
# not: traces have their own filter), in small batches so the test need not wait long.
OTLP_ADDR=127.0.0.1:${E2E_OTLP_PORT:-18317}
export OTEL_EXPORTER_OTLP_ENDPOINT=http://$OTLP_ADDR OTEL_BSP_SCHEDULE_DELAY=200
# shellcheck source=deploy/local/test-stack.sh
source "$ROOT/deploy/local/test-stack.sh"

test_stack_up

status=0
CHAT_E2E_URL="http://127.0.0.1:$PORT" CHAT_E2E_RUN_DIR="$RUN_DIR" CHAT_E2E_GATEWAYS="$GATEWAY_PORTS" \
  CHAT_E2E_OTLP_ADDR="$OTLP_ADDR" \
  cargo test -p chat-gateway --locked --test stack -- --ignored --test-threads 1 || status=$?
if [ "$status" -eq 0 ]; then
  # What the alerts and the dashboard read, the stack exports (every service's /metrics).
  urls=()
  for port in $GATEWAY_PORTS; do urls+=("http://127.0.0.1:$port/metrics"); done
  for i in 1 2 3 4; do urls+=("http://127.0.0.1:$((OPS_PORT_BASE + i))/metrics"); done
  deploy/local/check-metrics.sh "${urls[@]}" || status=$?
fi
if [ "$status" -ne 0 ]; then
  echo "end-to-end test failed; the stack's log:" >&2
  test_stack_log
fi
exit "$status"
