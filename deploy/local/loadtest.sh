#!/usr/bin/env bash
# `make loadtest`: the standard 1000-user run against the stack `make run` started, found
# where that stack is (PORT, GATEWAY_PORTS and OPS_PORT_BASE, as deploy/local/stack.sh
# sets them), with every service's metrics scraped. Refuses a debug stack: its latencies
# are several times a release build's, so the scenario's thresholds would fail for a
# reason that says nothing about the code (ALLOW_DEBUG=1 runs it anyway).
#
#   SCENARIO=loadtest/scenarios/smoke-1000.toml make loadtest    another scenario
#   LOADTEST_ARGS="--users 500" make loadtest                    more flags
set -euo pipefail

# shellcheck source=deploy/local/stack.sh
source "$(dirname "$0")/stack.sh"
cd "$ROOT"

SCENARIO=${SCENARIO:-loadtest/scenarios/standard-1000.toml}
url="http://127.0.0.1:$PORT"

if ! curl -fsS -o /dev/null "$url/nginx-health"; then
  port_flag=""
  [ "$PORT" = 8080 ] || port_flag=" PORT=$PORT"
  echo "no stack answers at $url: start one first (make run PROFILE=release$port_flag)" >&2
  exit 2
fi

metrics=()
for port in "${GATEWAY_PORTS[@]}"; do metrics+=("http://127.0.0.1:$port/metrics"); done
for n in 1 2 3; do metrics+=("http://127.0.0.1:$((OPS_PORT_BASE + n))/metrics"); done

profile=$(curl -fsS "${metrics[0]}" | sed -nE 's/^chat_build_info\{.*profile="([a-z]+)".*/\1/p' | head -n1)
if [ "$profile" = debug ] && [ "${ALLOW_DEBUG:-}" != 1 ]; then
  cat >&2 <<MSG
The stack at $url is a debug build. Its end-to-end latency is several times a release
build's, so $SCENARIO's thresholds would fail for that reason alone.
Stop it (Ctrl-C) and start a release build:   make run PROFILE=release
then run this again. ALLOW_DEBUG=1 make loadtest runs against the debug stack anyway.
MSG
  exit 2
fi

args=()
for m in "${metrics[@]}"; do args+=(--metrics-url "$m"); done
# shellcheck disable=SC2086 # LOADTEST_ARGS is a list of flags
exec cargo run --release --quiet -p chat-loadtest -- --scenario "$SCENARIO" \
  --url "$url" --out "$RUN_DIR/loadtest" "${args[@]}" ${LOADTEST_ARGS:-}
