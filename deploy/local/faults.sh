#!/usr/bin/env bash
# The fault test of `make test`: the stack as `make run` starts it, on its own ports and
# against its own Redis, PostgreSQL and RabbitMQ (so restarting them disturbs nothing
# else), under load from chat-loadtest. One after another it restarts Redis, RabbitMQ
# and PostgreSQL, then kills -9 each service and starts it again, and after each fault
# measures how long the stack takes to serve again (a REST send through nginx) once the
# dependency answers. Killing gateway1 also checks presence: a user whose only socket was
# there is seen offline by a follower on gateway2 within the bound, and stays offline
# when gateway1 comes back as a new instance. At the end it checks what the promises say:
#   - the load tool saw nothing lost and nothing duplicated (clients resumed exactly or
#     were told to resync);
#   - every acknowledged message is stored exactly once, at its acknowledged position;
#   - every room committed (one created during each fault) has its `room.created` entry.
# Prints a table of recovery times; fails when one is over RECOVERY_LIMIT seconds. The
# load tool is told when each fault started and ended (FAULT_TIMELINE) and prints what each
# one's span saw: acknowledged, lost, duplicated, out of order, resyncs.
#
# `make chaos` runs it long: a release build, 1,000 users (loadtest/scenarios/chaos.toml)
# and every fault, one of them a gateway paused (SIGSTOP) past its heartbeat.
#
#   FAULTS="redis pause" make faults       some faults only
#   FAULTS_USERS=500 make faults           more users
#   FAULTS_WARMUP=35                       seconds of load before the first fault (8)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

export RUN_DIR=$ROOT/.run/faults
export PORT=${FAULTS_PORT:-17080}
export GATEWAY_PORTS=${FAULTS_GATEWAY_PORTS:-"17081 17082"}
export GRPC_PORT_BASE=17050 OPS_PORT_BASE=17100
REDIS_PORT=${FAULTS_REDIS_PORT:-16379}
PG_PORT=${FAULTS_PG_PORT:-15432}
AMQP_PORT=${FAULTS_AMQP_PORT:-5682}
export PG=postgres://postgres@127.0.0.1:$PG_PORT
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export AMQP_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f
export RUST_LOG=${RUST_LOG:-info,lapin=warn}
RECOVERY_LIMIT=${RECOVERY_LIMIT:-10}
USERS=${FAULTS_USERS:-200}
SCENARIO=${FAULTS_SCENARIO:-loadtest/scenarios/faults.toml}
FAULT_TIMELINE=$RUN_DIR/faults.jsonl

# shellcheck source=deploy/local/stack.sh
source "$ROOT/deploy/local/stack.sh"

DEPS=$RUN_DIR/deps
LOGS=$RUN_DIR/logs
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
RABBIT_NODE=chatfaults@localhost

# As root, PostgreSQL and RabbitMQ run as their own users (initdb refuses root).
as_user() {
  local user=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

rabbit_env() {
  env RABBITMQ_NODENAME=$RABBIT_NODE RABBITMQ_NODE_PORT="$AMQP_PORT" \
    RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000)) RABBITMQ_CONFIG_FILE="$DEPS/rabbitmq/rabbitmq.conf" \
    RABBITMQ_MNESIA_BASE="$DEPS/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$DEPS/rabbitmq/log" \
    RABBITMQ_PID_FILE="$DEPS/rabbitmq/pid" RABBITMQ_ENABLED_PLUGINS_FILE="$DEPS/rabbitmq/plugins" "$@"
}
rabbitctl() { rabbitmqctl -q -n "$RABBIT_NODE" "$@"; }

redis_start() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$DEPS/redis" --pidfile "$DEPS/redis/redis.pid" --logfile "$DEPS/redis/redis.log"
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
}
redis_stop() { redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; }

pg_start() {
  as_user postgres "$PG_BIN/pg_ctl" -D "$DEPS/pg/data" -l "$DEPS/pg/log" -w -s \
    -o "-p $PG_PORT -k $DEPS/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start
}
pg_stop() { as_user postgres "$PG_BIN/pg_ctl" -D "$DEPS/pg/data" -m fast -w -s stop || true; }

rabbit_start() {
  rabbit_env rabbitmq-server -detached
  for _ in $(seq 1 120); do
    rabbitctl await_startup --timeout 60 >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "RabbitMQ ($RABBIT_NODE) did not start; see $DEPS/rabbitmq/log" >&2
  return 1
}
rabbit_stop() { rabbitctl stop >/dev/null 2>&1 || true; }

deps_start() {
  rm -rf "$RUN_DIR/logs" "$RUN_DIR/loadtest" "$RUN_DIR/nginx" "$FAULT_TIMELINE" "$RUN_DIR/churn.log"
  # What an interrupted earlier run may have left running.
  rabbit_stop
  redis_stop
  [ ! -f "$DEPS/pg/data/postmaster.pid" ] || pg_stop
  rm -rf "$DEPS"
  mkdir -p "$DEPS/redis" "$DEPS/pg" "$DEPS/rabbitmq"
  redis_start
  [ "$(id -u)" -ne 0 ] || chown postgres "$DEPS/pg"
  as_user postgres "$PG_BIN/initdb" -D "$DEPS/pg/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
  pg_start
  printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$AMQP_PORT" \
    > "$DEPS/rabbitmq/rabbitmq.conf"
  echo '[].' > "$DEPS/rabbitmq/plugins"
  [ "$(id -u)" -ne 0 ] || chown -R rabbitmq:rabbitmq "$DEPS/rabbitmq"
  rabbit_start
}

declare -A PIDS=()
start_service() {
  service_command "$1"
  "${SERVICE_COMMAND[@]}" >> "$LOGS/$1.log" 2>&1 &
  PIDS[$1]=$!
}
ready_service() {
  service_command "$1"
  wait_http "$1" "$SERVICE_READY" 300
}

loadtest_pid=""
cleanup() {
  [ -z "$loadtest_pid" ] || kill -INT "$loadtest_pid" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  redis_stop
  pg_stop
  rabbit_stop
}
trap cleanup EXIT

now() { date +%s.%N; }
# fault_step NAME start|end: a line of the timeline the load tool reads (loadtest/src/faults.rs).
fault_step() {
  jq -nc --arg fault "$1" --arg event "$2" --argjson at "$(date +%s%N)" \
    '{at: $at, fault: $fault, event: $event}' >> "$FAULT_TIMELINE"
}
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

api() {
  local method=$1 path=$2 body=${3:-}
  curl -sS -m 5 -o "$RUN_DIR/answer.json" -w '%{http_code}' -X "$method" \
    "http://127.0.0.1:$PORT$path" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' ${body:+-d "$body"} 2>/dev/null || true
}

# A REST send through nginx; true when it was acknowledged.
probe=0
probe_send() {
  probe=$((probe + 1))
  local status
  status=$(api POST /api/messages \
    "{\"room_id\":\"$PROBE_ROOM\",\"content\":\"probe $probe\",\"client_msg_id\":\"probe-$probe\"}")
  [ "$status" = 201 ] || [ "$status" = 200 ]
}

# Creates a room while a fault is on; whatever the answer, if it was committed its first
# entry must be sequenced and stored.
created_rooms=()
create_room_during_fault() {
  local name=$1 status
  status=$(api POST /api/rooms "{\"name\":\"fault-$name-$$\",\"kind\":\"public\"}")
  echo "    room created during the fault: HTTP $status"
  if [ "$status" = 201 ] || [ "$status" = 200 ]; then created_rooms+=("$(jq -r .id "$RUN_DIR/answer.json")"); fi
}

# unready_during NAME URL: the readiness check of a process turns 503 while a dependency
# it needs is down (checked for up to 10 s).
unready_during() {
  local name=$1 url=$2
  for _ in $(seq 1 100); do
    if ! curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "FAIL: $name's /readyz stayed ready while a dependency it needs was down" >&2
  failures=$((failures + 1))
}

results=()
failures=0
# recovered FAULT START: waits until a send is acknowledged again, records the time
# since START (when the dependency answered or the process was started again).
recovered() {
  local fault=$1 start=$2 took
  for _ in $(seq 1 600); do
    if probe_send; then break; fi
    sleep 0.1
  done
  took=$(since "$start")
  local verdict=ok
  if ! probe_send || awk -v t="$took" -v l="$RECOVERY_LIMIT" 'BEGIN { exit !(t > l) }'; then
    verdict=FAIL
    failures=$((failures + 1))
  fi
  fault_step "$fault" end
  results+=("$(printf '| %-30s | %6ss | %s |' "$fault" "$took" "$verdict")")
  echo "  $fault: serving again ${took}s after the dependency answered ($verdict)"
  sleep 3
}

echo "== faults: building ($PROFILE)"
stack_build >/dev/null

echo "== faults: own Redis :$REDIS_PORT, PostgreSQL :$PG_PORT, RabbitMQ :$AMQP_PORT"
deps_start
mkdir -p "$LOGS"
stack_signing_key
stack_vapid_key

echo "== faults: the stack on :$PORT"
for service in $(stack_services); do
  start_service "$service"
  [[ $service == gateway* ]] || ready_service "$service"
done
for service in $(stack_services); do ready_service "$service"; done
stack_nginx_config
"${NGINX_COMMAND[@]}" >> "$LOGS/nginx.log" 2>&1 &
PIDS[nginx]=$!
wait_http nginx "http://127.0.0.1:$PORT/nginx-health"

curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/auth/register" -H 'content-type: application/json' \
  -d '{"username":"prober","email":"prober@example.com","password":"correct horse battery"}'
TOKEN=$(curl -fsS "http://127.0.0.1:$PORT/api/auth/login" -H 'content-type: application/json' \
  -d '{"login":"prober","password":"correct horse battery"}' | jq -r .access_token)
[ "$(api POST /api/rooms '{"name":"probe","kind":"public"}')" = 201 ]
PROBE_ROOM=$(jq -r .id "$RUN_DIR/answer.json")

echo "== faults: $USERS users under load"
"$BIN/chat-loadtest" --scenario "$SCENARIO"  \
  --url "http://127.0.0.1:$PORT" --out "$RUN_DIR/loadtest" --users "$USERS" \
  --faults "$FAULT_TIMELINE" > "$RUN_DIR/loadtest.log" 2>&1 &
loadtest_pid=$!
until grep -qE "^\[ *[0-9]+s\]" "$RUN_DIR/loadtest.log" 2>/dev/null || ! kill -0 "$loadtest_pid" 2>/dev/null; do
  sleep 0.5
done
sleep "${FAULTS_WARMUP:-8}"

fault_redis() {
  fault_step "Redis restarted" start
  redis_stop
  create_room_during_fault redis
  unready_during gateway1 "http://127.0.0.1:${GATEWAY_PORTS%% *}/readyz"
  sleep 2
  redis_start
  recovered "Redis restarted" "$(now)"
}

# The whole node stops (its Erlang VM too) and starts again: the quorum queues come back
# from disk with what they held.
fault_rabbitmq() {
  fault_step "RabbitMQ restarted" start
  rabbitctl stop
  create_room_during_fault rabbitmq
  unready_during history "http://127.0.0.1:$((OPS_PORT_BASE + 3))/readyz"
  sleep 2
  rabbit_start
  recovered "RabbitMQ restarted" "$(now)"
}

fault_postgresql() {
  fault_step "PostgreSQL restarted" start
  pg_stop
  create_room_during_fault postgresql
  unready_during rooms "http://127.0.0.1:$((OPS_PORT_BASE + 2))/readyz"
  sleep 2
  pg_start
  recovered "PostgreSQL restarted" "$(now)"
}

# kill_service NAME: kill -9, and started again 2 s later.
fault_kill() {
  local service=$1 started
  fault_step "$service killed (-9), started" start
  kill -9 "${PIDS[$service]}"
  wait "${PIDS[$service]}" 2>/dev/null || true
  sleep 2
  started=$(now)
  start_service "$service"
  ready_service "$service"
  recovered "$service killed (-9), started" "$started"
}

# The presence bound (docs/protocol.md): a gateway killed without a word is noticed by the
# others within five heartbeats (10 s by default), its sockets' users announced offline,
# and the next presence frame (at most 1 s later) carries it.
PRESENCE_BOUND=${PRESENCE_BOUND:-11}
presence_seen=()

# chat_ws NAME PORT: a chat-ws socket of the prober straight to one gateway, fed from a
# FIFO (kept open on fd 7 or 8) and printing frames to $RUN_DIR/NAME.frames.
chat_ws() {
  local name=$1 port=$2
  rm -f "$RUN_DIR/$name.in"
  mkfifo "$RUN_DIR/$name.in"
  "$BIN/chat-ws" --url "http://127.0.0.1:$port" --token "$3" \
    <"$RUN_DIR/$name.in" >"$RUN_DIR/$name.frames" 2>>"$LOGS/$name.log" &
  PIDS[$name]=$!
}
# frame_within SECONDS FILE JQ-FILTER: true once a frame of FILE matches the filter.
frame_within() {
  local deadline=$(($(date +%s) + $1))
  until [ -n "$(jq -c "select($3)" "$2" 2>/dev/null)" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# The watcher: a second account, following the prober's presence.
watcher_token=""
prober_id=""
presence_accounts() {
  [ -z "$watcher_token" ] || return 0
  prober_id=$(curl -fsS "http://127.0.0.1:$PORT/api/auth/me" -H "authorization: Bearer $TOKEN" | jq -r .id)
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/auth/register" -H 'content-type: application/json' \
    -d '{"username":"watcher","email":"watcher@example.com","password":"correct horse battery"}'
  watcher_token=$(curl -fsS "http://127.0.0.1:$PORT/api/auth/login" -H 'content-type: application/json' \
    -d '{"login":"watcher","password":"correct horse battery"}' | jq -r .access_token)
}

# prober_status: the prober's presence as the API answers it.
prober_status() {
  curl -fsS "http://127.0.0.1:$PORT/api/presence/query" -H "authorization: Bearer $watcher_token" \
    -H 'content-type: application/json' -d "{\"user_ids\":[\"$prober_id\"]}" | jq -r '.users[0].status'
}

# presence_sockets NAME SUBJECT_PORT FOLLOWER_PORT: the watcher's socket on one gateway
# (fd 8, frames in $FOLLOWER) following the prober, who starts offline (a socket an
# earlier fault left on a dead gateway swept first) and then has one socket on the other
# gateway (fd 7): the follower must hear them come online.
presence_sockets() {
  local name=$1
  presence_accounts
  local deadline=$(($(date +%s) + PRESENCE_BOUND + 5))
  until [ "$(prober_status)" = offline ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.2; done
  chat_ws "follower-$name" "$3" "$watcher_token"
  exec 8>"$RUN_DIR/follower-$name.in"
  FOLLOWER=$RUN_DIR/follower-$name.frames
  frame_within 10 "$FOLLOWER" '.type == "ready"' || echo "FAIL: the follower's socket got no ready" >&2
  echo "{\"type\":\"presence.subscribe\",\"user_ids\":[\"$prober_id\"]}" >&8
  chat_ws "subject-$name" "$2" "$TOKEN"
  exec 7>"$RUN_DIR/subject-$name.in"
  frame_within 10 "$RUN_DIR/subject-$name.frames" '.type == "ready"' || echo "FAIL: the prober's socket got no ready" >&2
  if ! frame_within 10 "$FOLLOWER" "$(presence_is online)"; then
    echo "FAIL: the follower does not see the prober online before the fault" >&2
    failures=$((failures + 1))
  fi
}
presence_sockets_close() {
  exec 7>&- 8>&-
  kill "${PIDS[subject-$1]}" "${PIDS[follower-$1]}" 2>/dev/null || true
  unset "PIDS[subject-$1]" "PIDS[follower-$1]"
}
# presence_is STATUS: the jq filter of a presence frame saying the prober is STATUS.
presence_is() {
  echo ".type == \"presence\" and any(.users[]; .user_id == \"$prober_id\" and .status == \"$1\")"
}

# watch_presence STATUS SINCE: in the background, the seconds from SINCE until the
# follower hears the prober is STATUS (frames from now on), into $RUN_DIR/STATUS.took.
watch_presence() {
  local status=$1 since=$2 seen
  seen=$(wc -l <"$FOLLOWER")
  rm -f "$RUN_DIR/$status.took"
  (
    deadline=$(($(date +%s) + 40))
    until tail -n +"$((seen + 1))" "$FOLLOWER" | jq -c "select($(presence_is "$status"))" 2>/dev/null | grep -q .; do
      [ "$(date +%s)" -lt "$deadline" ] || exit 1
      sleep 0.1
    done
    since "$since" >"$RUN_DIR/$status.took"
  ) &
  WATCH=$!
}
# presence_result LABEL STATUS: the row for what watch_presence measured, against the bound.
presence_result() {
  local label=$1 status=$2 took verdict=ok
  wait "$WATCH" || true
  took=$(cat "$RUN_DIR/$status.took" 2>/dev/null || echo never)
  if [ "$took" = never ] || awk -v t="$took" -v l="$PRESENCE_BOUND" 'BEGIN { exit !(t > l) }'; then
    verdict=FAIL
    failures=$((failures + 1))
  fi
  results+=("$(printf '| %-30s | %6ss | %s |' "$label" "$took" "$verdict")")
  echo "  the follower saw the prober $status ${took}s after ($verdict, bound ${PRESENCE_BOUND}s)"
}

# gateway1 with presence: the prober is connected to gateway1 only and followed by
# another user's socket on gateway2. After the kill -9 the follower must hear the prober
# go offline within the bound, and gateway1 coming back as a new instance must not bring
# the dead socket back.
fault_gateway1() {
  presence_sockets gateway1 "${GATEWAY_PORTS[0]}" "${GATEWAY_PORTS[1]}"
  watch_presence offline "$(now)"
  fault_kill gateway1
  presence_result "gateway1 killed: offline seen" offline
  local status
  status=$(prober_status)
  echo "  after gateway1 came back as a new instance the prober is $status"
  if [ "$status" != offline ]; then
    echo "FAIL: a restarted gateway brought a dead socket back" >&2
    failures=$((failures + 1))
  fi
  presence_sockets_close gateway1
}

# gateway2 paused (SIGSTOP) past its heartbeat, then continued: while it is stopped the
# others declare it dead, so the follower (on gateway1) hears the prober (only on
# gateway2) go offline within the bound; once continued, gateway2 finds its heartbeat
# swept and registers its sockets again, so the prober is online again within the bound,
# and its load users go on (their sockets were never closed) with nothing lost.
PAUSE_SECONDS=${PAUSE_SECONDS:-15}
fault_pause() {
  local name="gateway2 paused ${PAUSE_SECONDS}s" stopped continued
  presence_sockets pause "${GATEWAY_PORTS[1]}" "${GATEWAY_PORTS[0]}"
  fault_step "$name" start
  stopped=$(now)
  watch_presence offline "$stopped"
  kill -STOP "${PIDS[gateway2]}"
  presence_result "gateway2 paused: offline seen" offline
  sleep "$(awk -v p="$PAUSE_SECONDS" -v t="$(since "$stopped")" 'BEGIN { d = p - t; print (d > 0 ? d : 0) }')"
  watch_presence online "$(now)"
  kill -CONT "${PIDS[gateway2]}"
  continued=$(now)
  presence_result "gateway2 continued: online" online
  recovered "$name" "$continued"
  presence_sockets_close pause
}

# Membership changes while rooms is killed: a user of its own joins and leaves public
# rooms in a loop (some calls fail while rooms is down); every change rooms committed must
# reach the room's sequence (checked at the end through the outbox).
churn_rooms=()
churn_pid=""
churn_token=""
# The churner's account and public rooms, made before any fault.
churn_setup() {
  local n
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/auth/register" -H 'content-type: application/json' \
    -d '{"username":"churner","email":"churner@example.com","password":"correct horse battery"}'
  churn_token=$(curl -fsS "http://127.0.0.1:$PORT/api/auth/login" -H 'content-type: application/json' \
    -d '{"login":"churner","password":"correct horse battery"}' | jq -r .access_token)
  for n in 1 2 3 4; do
    curl -fsS -o "$RUN_DIR/answer.json" "http://127.0.0.1:$PORT/api/rooms" \
      -H "authorization: Bearer $watcher_token" -H 'content-type: application/json' \
      -d "{\"name\":\"churn-$n-$$\",\"kind\":\"public\"}"
    churn_rooms+=("$(jq -r .id "$RUN_DIR/answer.json")")
  done
}
churn_start() {
  (
    while :; do
      for room in "${churn_rooms[@]}"; do
        for change in POST:join DELETE:leave; do
          status=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X "${change%%:*}" \
            "http://127.0.0.1:$PORT/api/rooms/$room/${change#*:}" -H "authorization: Bearer $churn_token" 2>/dev/null || true)
          echo "$change $room $status" >> "$RUN_DIR/churn.log"
          sleep 0.02
        done
      done
    done
  ) &
  churn_pid=$!
}
churn_stop() {
  kill "$churn_pid" 2>/dev/null || true
  wait "$churn_pid" 2>/dev/null || true
  churn_pid=""
}

fault_rooms() {
  churn_start
  sleep 1
  fault_kill rooms
  sleep 1
  churn_stop
  echo "    membership changes: $(awk '{print $3}' "$RUN_DIR/churn.log" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
}

# Accounts and rooms of the presence and membership checks, made before any fault.
presence_accounts
churn_setup

for fault in ${FAULTS:-redis rabbitmq postgresql auth rooms history gateway1 pause}; do
  echo "== faults: $fault"
  case $fault in
    redis | rabbitmq | postgresql | gateway1 | pause | rooms) "fault_$fault" ;;
    *) fault_kill "$fault" ;;
  esac
done

echo "== faults: stopping the load"
kill -INT "$loadtest_pid"
loadtest_status=0
wait "$loadtest_pid" || loadtest_status=$?
loadtest_pid=""
sed -n '/^delivery\|^  *replayed\|^sends\|^errors\|^PASS\|^FAIL\|^  lost:/p' "$RUN_DIR/loadtest.log" | head -30
echo
sed -n '/^fault  /,/^between faults/p' "$RUN_DIR/loadtest.log"
if [ "$loadtest_status" -ne 0 ]; then
  echo "FAIL: the load tool reports a missed threshold (exit $loadtest_status):" >&2
  tail -40 "$RUN_DIR/loadtest.log" >&2
  failures=$((failures + 1))
fi

echo "== faults: every acknowledged message stored exactly once"
acks=$(ls "$RUN_DIR"/loadtest/run-*/acks.json | head -n1)
run_id=$(jq -r .run "$(dirname "$acks")/report.json")
history_db="$PG/chat_history$DB_SUFFIX"
psql "$history_db" -qc "CREATE TABLE IF NOT EXISTS fault_acks (room uuid, epoch bigint, seq bigint, sender int, n bigint)"
psql "$history_db" -qc "TRUNCATE fault_acks"
jq -r '.acks[] | [.room, .position.epoch, .position.position, .sender, .seq] | @csv' "$acks" |
  psql "$history_db" -qc "\\copy fault_acks FROM STDIN WITH (FORMAT csv)"
# History may still be draining the queue: wait for it (bounded).
missing=""
for _ in $(seq 1 60); do
  missing=$(psql "$history_db" -tAc "
    SELECT count(*) FROM (SELECT DISTINCT * FROM fault_acks) a
    WHERE (SELECT count(*) FROM messages m
           WHERE m.room_id = a.room AND m.epoch = a.epoch AND m.seq = a.seq
             AND m.content LIKE 'lt:$run_id:' || a.sender || ':' || a.n || ':%') <> 1")
  [ "$missing" = 0 ] && break
  sleep 0.5
done
duplicated=$(psql "$history_db" -tAc "
  SELECT count(*) FROM (SELECT room_id, split_part(content, ':', 3), split_part(content, ':', 4)
    FROM messages WHERE content LIKE 'lt:$run_id:%' GROUP BY 1, 2, 3 HAVING count(*) > 1) d")
acked=$(psql "$history_db" -tAc "SELECT count(*) FROM (SELECT DISTINCT room, epoch, seq FROM fault_acks) a")
echo "  $acked acknowledged, $missing not stored at their position, $duplicated stored twice"
if [ "$missing" != 0 ] || [ "$duplicated" != 0 ] || [ "$acked" = 0 ]; then
  echo "FAIL: acknowledged messages must be stored exactly once" >&2
  failures=$((failures + 1))
fi

echo "== faults: nothing committed left unannounced"
rooms_db="$PG/chat_rooms$DB_SUFFIX"
unannounced=""
for _ in $(seq 1 60); do
  unannounced=""
  for room in $(psql "$rooms_db" -tAc "SELECT id FROM rooms"); do
    count=$(psql "$history_db" -tAc "SELECT count(*) FROM room_entries WHERE room_id = '$room' AND kind = 'room_event'")
    [ "$count" != 0 ] || unannounced+=" $room"
  done
  [ -z "$unannounced" ] && break
  sleep 0.5
done
echo "== faults: every committed room event in history once"
psql "$history_db" -qc "CREATE TABLE IF NOT EXISTS fault_room_events (event_id uuid)"
psql "$history_db" -qc "TRUNCATE fault_room_events"
psql "$rooms_db" -tAc "SELECT event_id FROM room_event_outbox" |
  psql "$history_db" -qc "\\copy fault_room_events FROM STDIN"
committed=$(psql "$history_db" -tAc "SELECT count(*) FROM fault_room_events")
unrelayed=""
for _ in $(seq 1 60); do
  unrelayed=$(psql "$history_db" -tAc "
    SELECT count(*) FROM fault_room_events f
    WHERE NOT EXISTS (SELECT 1 FROM room_entries e WHERE e.id = f.event_id)")
  [ "$unrelayed" = 0 ] && break
  sleep 0.5
done
echo "  $committed room events committed, $unrelayed not in history"
if [ "$unrelayed" != 0 ] || [ "$committed" = 0 ]; then
  echo "FAIL: every committed room event must reach history (each at most once: room_entries.id is unique)" >&2
  failures=$((failures + 1))
fi

rooms_total=$(psql "$rooms_db" -tAc "SELECT count(*) FROM rooms")
echo "  $rooms_total rooms committed (${#created_rooms[@]} created during faults), unannounced:${unannounced:- none}"
if [ -n "$unannounced" ]; then
  echo "FAIL: rooms committed without their first entry:$unannounced" >&2
  failures=$((failures + 1))
fi

 [ -z "${FAULTS_HOLD:-}" ] || { echo "holding (FAULTS_HOLD) for inspection; Ctrl-C ends"; sleep infinity; }

echo
echo "| fault                          | recovery | verdict |"
echo "|--------------------------------|----------|---------|"
printf '%s\n' "${results[@]}"
if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed; logs in $LOGS" >&2
  exit 1
fi
echo "faults: all recovered within ${RECOVERY_LIMIT}s, nothing lost or duplicated"
