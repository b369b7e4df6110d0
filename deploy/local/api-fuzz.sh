#!/usr/bin/env bash
# The REST API against its own OpenAPI document (schemathesis, part of `make test`):
# brings a stack up the way `make run` does (its own ports, databases, Redis prefix and
# queue), signs a user up, and runs a short seeded schemathesis pass over every operation
# through the gateway, authenticated: no 5xx, every status documented, every body
# matching its schema. Arguments go to `st run` (e.g. --max-examples 200 for a longer run).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
run_id=$(date +%s)-$$
export RUN_DIR=$ROOT/.run/api-fuzz
export PORT=${API_FUZZ_PORT:-27080}
export GATEWAY_PORTS=${API_FUZZ_GATEWAY_PORTS:-"27081"}
export GRPC_PORT_BASE=${API_FUZZ_GRPC_PORT_BASE:-27050} OPS_PORT_BASE=${API_FUZZ_OPS_PORT_BASE:-27100}
export DB_SUFFIX=_apifuzz
export REDIS_KEY_PREFIX="chat-apifuzz:$run_id:"
export PERSIST_QUEUE="chat.messages.persist.apifuzz-$run_id"
export RUST_LOG=${RUST_LOG:-warn}
# A fuzzer logs in and asks for resets far more than a person: the limits meant for
# people would answer 429 to most of the run.
export AUTH_LOGIN_MAX_ADDRESS_ATTEMPTS=1000000 AUTH_LOGIN_MAX_ACCOUNT_FAILURES=1000000
# One fuzzing user calls far faster than a person (the per-user rate has its own tests).
export REST_READS_PER_SECOND=100000 REST_WRITES_PER_SECOND=100000
ST=${SCHEMATHESIS:-${SCHEMATHESIS_HOME:-/opt/chat-schemathesis}/bin/st}
# shellcheck source=deploy/local/test-stack.sh
source "$ROOT/deploy/local/test-stack.sh"

test_stack_up
# The gateway itself: nginx's per-address rates (a separate test covers them) would
# answer most of a fast run with 429.
read -r -a gateway_ports <<< "$GATEWAY_PORTS"
base="http://127.0.0.1:${gateway_ports[0]}"
token=$(curl -fsS "$base/api/auth/register" -H 'content-type: application/json' \
  -d "{\"username\":\"fuzz$RANDOM\",\"email\":\"fuzz$RANDOM@example.com\",\"password\":\"correct horse battery\"}" |
  jq -r .access_token)

status=0
"$ST" run "$base/api/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance \
  --seed 1 --max-examples "${API_FUZZ_EXAMPLES:-10}" --workers 1 \
  --suppress-health-check all --no-color "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "the API does not keep its document (above); the stack's log:" >&2
  test_stack_log
fi
exit "$status"
