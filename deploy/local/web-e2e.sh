#!/usr/bin/env bash
# The web client's browser tests (`make web-e2e`, part of `make test`): brings the stack
# up the way `make run` does, with the built client at / (its own ports, databases, Redis
# prefix and queue, so it can run beside a developer's stack and beside e2e.sh), runs
# Playwright in Debian's Chromium against nginx (web/e2e, web/playwright.config.ts), then
# stops the stack. Arguments go to `playwright test` (a file, --grep, --repeat-each 2, ...).
# Screenshots land in docs/screenshots, traces of failures in web/test-results.
#
# The ports are below Linux's range for outgoing connections (32768-60999), so a busy
# machine's client sockets cannot take them first.
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
# The auth service writes its mail here; the account test reads the links in it.
export MAIL_DIR=$RUN_DIR/mail
# shellcheck source=deploy/local/test-stack.sh
source "$ROOT/deploy/local/test-stack.sh"

test_stack_up
# nginx serves the client run.sh built into web/dist.
if ! curl -fsS "http://127.0.0.1:$PORT/" | grep -q 'id="root"'; then
  echo "nginx does not serve the web client at http://127.0.0.1:$PORT/ (web/dist not built?)" >&2
  test_stack_log
  exit 1
fi

status=0
report=$RUN_DIR/playwright.log
CHAT_WEB_URL="http://127.0.0.1:$PORT" CHAT_MAIL_DIR="$MAIL_DIR" npm run --prefix web --silent e2e -- "$@" 2>&1 |
  tee "$report" || status=$?
# A story that failed once and passed on CI's retry is named here, so it gets fixed.
if grep -q ' flaky$' "$report"; then
  echo "browser tests that failed before passing on a retry:" >&2
  sed -n '/ flaky$/,/^ *[0-9]* passed/p' "$report" >&2
fi
if [ "$status" -ne 0 ]; then
  echo "the stack's log:" >&2
  test_stack_log
  # Last, where a CI log's tail shows it: what failed, and where.
  echo "browser tests failed (traces: web/test-results, npx --prefix web playwright show-trace <trace.zip>):" >&2
  sed -n '/^  [0-9]*) /,$p' "$report" | grep -v '^\s*$' | head -150 >&2
fi
exit "$status"
