# The local stack's settings and how each of its processes starts, sourced by run.sh
# (`make run`) and faults.sh (the fault test, which kills and starts processes again
# one by one). Every setting can be overridden from the environment.
# shellcheck shell=bash

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PORT=${PORT:-8080}
RUN_DIR=${RUN_DIR:-$ROOT/.run}
PROFILE=${PROFILE:-debug}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
read -r -a GATEWAY_PORTS <<< "${GATEWAY_PORTS:-8081 8082}"
# Service ports: gRPC on $GRPC_PORT_BASE+1..4, ops HTTP on $OPS_PORT_BASE+1..4; every port of
# a local stack is below Linux's range for outgoing connections (32768-60999), so a
# machine with many client sockets open (a benchmark) cannot have taken it first.
GRPC_PORT_BASE=${GRPC_PORT_BASE:-15050}
OPS_PORT_BASE=${OPS_PORT_BASE:-9100}
# `make run PROMETHEUS=1`: the stack's own Prometheus.
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
# A second stack (the end-to-end and fault tests) isolates itself with its own database
# names, Redis prefix and queue.
DB_SUFFIX=${DB_SUFFIX:-}
# The built web client nginx serves at /.
WEB_ROOT=${WEB_ROOT:-$ROOT/web/dist}
# Browser origins that may open a socket: the stack's own, under both names of loopback.
ALLOWED_ORIGINS=${ALLOWED_ORIGINS:-http://127.0.0.1:$PORT,http://localhost:$PORT}
export REDIS_KEY_PREFIX=${REDIS_KEY_PREFIX:-chat:}
export PERSIST_QUEUE=${PERSIST_QUEUE:-chat.messages.persist}
# One machine plays every user of this stack (the load tool registers thousands, the
# browser tests a few per run): new accounts per address are not limited here as they
# are in a deployment (AUTH_REGISTER_MAX_PER_ADDRESS, default 10 per 15 minutes).
REGISTER_MAX_PER_ADDRESS=${AUTH_REGISTER_MAX_PER_ADDRESS:-1000000}
AUTH_GRPC=127.0.0.1:$((GRPC_PORT_BASE + 1))
ROOMS_GRPC=127.0.0.1:$((GRPC_PORT_BASE + 2))
HISTORY_GRPC=127.0.0.1:$((GRPC_PORT_BASE + 3))
FILES_GRPC=127.0.0.1:$((GRPC_PORT_BASE + 4))
export RUST_LOG=${RUST_LOG:-info}
export LOG_FORMAT=${LOG_FORMAT:-text}
BIN="$ROOT/target/$PROFILE"

# The services by name, in start order.
stack_services() {
  echo auth rooms history files
  local i
  for i in "${!GATEWAY_PORTS[@]}"; do echo "gateway$((i + 1))"; done
}

stack_build() {
  if [ "$PROFILE" = release ]; then
    cargo build --release --bins
  else
    cargo build --bins
  fi
  stack_build_web
}

# Builds the web client into $WEB_ROOT when its sources (or the protocol's generated
# types) changed since the last build; npm ci first when the lockfile did.
stack_build_web() {
  local web="$ROOT/web" stamp="$ROOT/web/node_modules/.chat-web-built"
  command -v npm >/dev/null || { echo "npm not found: the web client is not built (install Node.js 20)" >&2; return 0; }
  if [ ! -d "$web/node_modules" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$web" --no-audit --no-fund --loglevel=error
  fi
  if [ ! -f "$stamp" ] || [ -n "$(find "$web/src" "$web/index.html" "$web/public" "$web/vite.config.ts" \
      "$web/package-lock.json" "$ROOT/services/protocol/generated" -newer "$stamp" -print -quit)" ]; then
    npm run --prefix "$web" --silent build
    touch "$stamp"
  fi
}

# A development signing key, created once and kept in $RUN_DIR (never committed).
stack_signing_key() {
  local key_file="$RUN_DIR/jwt-ed25519.pem"
  if [ -z "${AUTH_SIGNING_KEY_FILE:-}" ] && [ -z "${AUTH_SIGNING_KEY:-}" ]; then
    [ -f "$key_file" ] || "$BIN/chat-auth" keygen --out "$key_file"
    export AUTH_SIGNING_KEY_FILE="$key_file"
  fi
}

# A development VAPID key (Web Push), created once and kept in $RUN_DIR (never committed):
# browsers' subscriptions are bound to it, so it outlives restarts.
stack_vapid_key() {
  local key_file="$RUN_DIR/vapid-private-key"
  if [ -z "${VAPID_PRIVATE_KEY:-}" ]; then
    if [ ! -s "$key_file" ]; then
      mkdir -p "$RUN_DIR"
      (umask 077 && "$BIN/chat-history" vapid-key | sed -n 's/^VAPID_PRIVATE_KEY=//p' > "$key_file")
    fi
    VAPID_PRIVATE_KEY=$(cat "$key_file")
    export VAPID_PRIVATE_KEY
  fi
}

# service_command NAME: sets SERVICE_COMMAND (env ... binary) and SERVICE_READY (its
# readiness URL).
service_command() {
  case $1 in
    auth)
      # Without an SMTP server (SMTP_HOST), mails are files in $RUN_DIR/mail to read.
      SERVICE_COMMAND=(env GRPC_ADDR="$AUTH_GRPC" OPS_ADDR="127.0.0.1:$((OPS_PORT_BASE + 1))"
        DATABASE_URL="$PG/chat_auth$DB_SUFFIX" REDIS_URL="$REDIS_URL"
        MAIL_DIR="${MAIL_DIR:-$RUN_DIR/mail}" PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:$PORT}"
        AUTH_REGISTER_MAX_PER_ADDRESS="$REGISTER_MAX_PER_ADDRESS"
        "$BIN/chat-auth")
      SERVICE_READY="http://127.0.0.1:$((OPS_PORT_BASE + 1))/readyz" ;;
    rooms)
      SERVICE_COMMAND=(env GRPC_ADDR="$ROOMS_GRPC" OPS_ADDR="127.0.0.1:$((OPS_PORT_BASE + 2))"
        DATABASE_URL="$PG/chat_rooms$DB_SUFFIX" REDIS_URL="$REDIS_URL" AMQP_URL="$AMQP_URL"
        "$BIN/chat-rooms")
      SERVICE_READY="http://127.0.0.1:$((OPS_PORT_BASE + 2))/readyz" ;;
    history)
      SERVICE_COMMAND=(env GRPC_ADDR="$HISTORY_GRPC" OPS_ADDR="127.0.0.1:$((OPS_PORT_BASE + 3))"
        DATABASE_URL="$PG/chat_history$DB_SUFFIX" REDIS_URL="$REDIS_URL" AMQP_URL="$AMQP_URL"
        AUTH_URL="http://$AUTH_GRPC" ROOMS_URL="http://$ROOMS_GRPC"
        "$BIN/chat-history")
      SERVICE_READY="http://127.0.0.1:$((OPS_PORT_BASE + 3))/readyz" ;;
    files)
      # Uploads in a directory of the run (FILES_STORAGE=s3 and S3_* for a bucket).
      SERVICE_COMMAND=(env GRPC_ADDR="$FILES_GRPC" OPS_ADDR="127.0.0.1:$((OPS_PORT_BASE + 4))"
        DATABASE_URL="$PG/chat_files$DB_SUFFIX" FILES_DIR="${FILES_DIR:-$RUN_DIR/files}"
        "$BIN/chat-files")
      SERVICE_READY="http://127.0.0.1:$((OPS_PORT_BASE + 4))/readyz" ;;
    gateway*)
      local i=${1#gateway}
      local port=${GATEWAY_PORTS[$((i - 1))]}
      # GATEWAYn_PREFIX runs that gateway under a tool (make bench: valgrind's callgrind).
      local prefix_var="GATEWAY${i}_PREFIX" prefix
      read -ra prefix <<<"${!prefix_var:-}"
      SERVICE_COMMAND=(env HTTP_ADDR="127.0.0.1:$port"
        AUTH_URL="http://$AUTH_GRPC" ROOMS_URL="http://$ROOMS_GRPC" HISTORY_URL="http://$HISTORY_GRPC"
        FILES_URL="http://$FILES_GRPC"
        REDIS_URL="$REDIS_URL" AMQP_URL="$AMQP_URL" OTEL_SERVICE_NAME="chat-gateway-$i"
        ALLOWED_ORIGINS="$ALLOWED_ORIGINS" "${prefix[@]}" "$BIN/chat-gateway")
      SERVICE_READY="http://127.0.0.1:$port/readyz" ;;
    *)
      echo "unknown service $1" >&2
      return 1 ;;
  esac
}

# wait_http NAME URL [TRIES]: waits (0.2 s a try, 30 s by default) until URL answers 2xx.
wait_http() {
  local name=$1 url=$2 tries=${3:-150}
  for _ in $(seq 1 "$tries"); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "$name did not become ready at $url" >&2
  return 1
}

# Writes $RUN_DIR/nginx/nginx.conf for the gateways and checks it; sets NGINX_COMMAND.
stack_nginx_config() {
  local nginx_dir="$RUN_DIR/nginx" upstreams port nofile
  mkdir -p "$nginx_dir"
  # The zone shares least_conn's counts (and failure marks) between nginx workers.
  upstreams="        zone chat_gateways 1m;"$'\n'
  for port in "${GATEWAY_PORTS[@]}"; do
    upstreams+="        server 127.0.0.1:$port max_fails=3 fail_timeout=10s;"$'\n'
  done
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=200000
  sed -e "s|@RUN_DIR@|$nginx_dir|g" \
    -e "s|@LISTEN@|127.0.0.1:$PORT|g" \
    -e "s|@WORKER_PROCESSES@|auto|g" \
    -e "s|@WORKER_RLIMIT_NOFILE@|$nofile|g" \
    -e "s|@WORKER_CONNECTIONS@|$((nofile / 2))|g" \
    -e "s|@WS_CONN_PER_IP@|$((nofile / 2))|g" \
    -e "s|@ACCESS_LOG@|$RUN_DIR/logs/nginx-access.log|g" \
    -e "s|@WEB_ROOT@|$WEB_ROOT|g" \
    "$ROOT/deploy/nginx/nginx.conf.template" |
    awk -v servers="$upstreams" '{ if ($0 == "@UPSTREAM_SERVERS@") printf "%s", servers; else print }' \
      > "$nginx_dir/nginx.conf"
  local nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  "$nginx" -t -q -p "$nginx_dir" -c "$nginx_dir/nginx.conf"
  NGINX_COMMAND=("$nginx" -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -g 'daemon off;')
}

# stack_prometheus_config: a Prometheus for this stack in $RUN_DIR/prometheus, scraping it
# with the Kubernetes deployment's own job (k8s/prometheus/scrape-configs.yaml): its pod
# discovery is swapped for a file that lists the stack's processes with the metadata
# Kubernetes gives a pod, so the same relabelling yields the same labels. The alert rules
# are loaded; sets PROMETHEUS_COMMAND (listening on 127.0.0.1:$PROMETHEUS_PORT).
stack_prometheus_config() {
  local dir="$RUN_DIR/prometheus" targets="" sep="" service port pod
  local -A ops_port=([auth]=1 [rooms]=2 [history]=3 [files]=4)
  mkdir -p "$dir/data"
  for service in $(stack_services); do
    case $service in
      gateway*) port=${GATEWAY_PORTS[$((${service#gateway} - 1))]} pod="chat-gateway-${service#gateway}" ;;
      *) port=$((OPS_PORT_BASE + ops_port[$service])) pod="chat-$service-0" ;;
    esac
    targets+="$sep{\"targets\": [\"127.0.0.1:$port\"], \"labels\": {
      \"__meta_kubernetes_namespace\": \"chat\", \"__meta_kubernetes_pod_name\": \"$pod\",
      \"__meta_kubernetes_pod_ip\": \"127.0.0.1\",
      \"__meta_kubernetes_pod_label_app_kubernetes_io_name\": \"${pod%-*}\",
      \"__meta_kubernetes_pod_annotation_prometheus_io_scrape\": \"true\",
      \"__meta_kubernetes_pod_annotation_prometheus_io_port\": \"$port\",
      \"__meta_kubernetes_pod_annotation_prometheus_io_path\": \"/metrics\"}}"
    sep=$',\n'
  done
  printf '[%s]\n' "$targets" > "$dir/targets.json"
  {
    echo "# Written by deploy/local/stack.sh from k8s/prometheus/scrape-configs.yaml."
    echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
    echo "rule_files: [\"$ROOT/deploy/prometheus/alerts.yaml\"]"
    echo "scrape_configs:"
    awk -v targets="$dir/targets.json" '
      /^  kubernetes_sd_configs:/ { print "  file_sd_configs:\n    - files: [\"" targets "\"]"; skip = 1; next }
      skip && /^  [a-z_]+:/ { skip = 0 }
      !skip && !/^#/' "$ROOT/k8s/prometheus/scrape-configs.yaml" | sed 's/^/  /'
  } > "$dir/prometheus.yml"
  PROMETHEUS_COMMAND=(prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data"
    --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:$PROMETHEUS_PORT")
}
