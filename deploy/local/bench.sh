#!/usr/bin/env bash
# `make bench`: the benchmarks behind DESIGN.md's "Numbers to beat", each printing its
# figures and the ratio to its target or baseline, then a summary table.
#
#   fanout   deliveries per CPU-second of ONE gateway process under each load (below):
#            100-byte messages at a steady rate, driven by chat-loadtest in other processes;
#            the gateway's CPU time (utime + stime from /proc) and its delivery counter over
#            a window of the steady phase; delivery latency as the clients saw it. Then, at
#            each rate, the same load on the peer (Node.js + Socket.IO 4.8 + its Redis
#            adapter, loadtest/peers/socketio) and on the floor (chat-floor: a WebSocket
#            broadcaster with no logic), both driven by loadtest/peers/socketio/driver.js:
#            server CPU from /proc, deliveries and latency counted at the clients, and the
#            three side by side. The loads (BENCH_FANOUT_LOADS):
#              standard  5,000 sockets in rooms of 50, at each BENCH_FANOUT_RATE (500, 1000)
#              large     one room of 1,000 members, 20 messages/s
#              burst     5,000 sockets in rooms of 50, 300 messages/s over the ordinary
#                        rooms and 50/s in each of 4 busy rooms (several frames wait for
#                        the same socket)
#   instructions
#            CPU instructions per delivery, counted by valgrind's callgrind (user space
#            only; repeatable where CPU time is not): 500 sockets in rooms of 50 at 10
#            messages/s, on the gateway (the measured one runs under callgrind) and on the
#            floor (likewise), over a 20 s window; the gateway's count includes handling
#            the sends, as its CPU per delivery does.
#   persist  messages/s through RabbitMQ into PostgreSQL (chat-history's persist_bench).
#   memory   resident memory of ONE gateway process before and after 15,000 idle,
#            authenticated sockets held by chat-loadtest in several other processes; then
#            the same sockets on the peer and on the floor.
#   search   p50/p99 of message searches over 1,000,000 stored messages in 1,000 rooms
#            for a user in 50 of them (chat-history's search_bench, on its own database).
#   presence a reconnect storm: 10,000 sockets in direct pairs (each following its
#            partner, 100 messages/s in all) on ONE gateway, all dropped at once and
#            resumed a second later; how long until every socket was back, the load tool's
#            verdict on the messages sent meanwhile (lost, duplicated), presence publishes
#            and gateway + Redis CPU-seconds over the storm; then the same storm on a stack
#            started with PRESENCE=off.
#
# Each stack-based benchmark starts its own stack (deploy/local/run.sh, release build) on
# its own ports, Redis prefix and persist queue, and stops it afterwards. Accounts live in
# the database chat_auth_bench and the load tool's token cache (.run/bench/loadtest), so
# only the first run pays an Argon2 hash per user; rooms and history start empty each run.
#
# Settings (environment):
#   BENCH=fanout,instructions,persist,memory,presence,search   which benchmarks (default: all)
#   BENCH_SOCKETS                 sockets for fanout, memory and presence (defaults 5000,
#                                 15000 and 10000)
#   BENCH_FANOUT_SOCKETS, BENCH_IDLE_SOCKETS, BENCH_STORM_SOCKETS   the same, one at a time
#   BENCH_FANOUT_LOADS=standard,large,burst   which fanout loads
#   BENCH_FANOUT_RATE=500,1000    messages sent per second in the standard load; each
#                                 rate is one measurement (500/s leaves this 2-core
#                                 machine some idle time, 1000/s saturates it with the
#                                 clients)
#   BENCH_WINDOW=30               seconds of the fanout measurement window
#   BENCH_PROCESSES               load tool processes (default: 2 for fanout, 4 for memory
#                                 and presence)
#   BENCH_PERSIST_MESSAGES=200000 envelopes per persist phase
#   BENCH_PERSIST_QUEUES="1 4"    persist queues to measure with, one run each (PERSIST_QUEUES)
#   BENCH_PERSIST_ARGS            more persist_bench flags (e.g. "--batch-size 1000")
#   BENCH_SEARCH_MESSAGES=1000000 messages stored for search
#   LOADTEST                      the load tool binary (default: this tree's release build),
#                                 e.g. another version's, to compare gateways with one client
#
# Exits non-zero only when a run broke (a process failed, a stack did not start); a
# missed target is reported, not an error.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

BENCH=${BENCH:-fanout,instructions,persist,memory,presence,search}
BENCH_DIR=${BENCH_DIR:-$ROOT/.run/bench}
FANOUT_SOCKETS=${BENCH_FANOUT_SOCKETS:-${BENCH_SOCKETS:-5000}}
IDLE_SOCKETS=${BENCH_IDLE_SOCKETS:-${BENCH_SOCKETS:-15000}}
STORM_SOCKETS=${BENCH_STORM_SOCKETS:-${BENCH_SOCKETS:-10000}}
FANOUT_RATES=${BENCH_FANOUT_RATE:-500,1000}
FANOUT_LOADS=${BENCH_FANOUT_LOADS:-standard,large,burst}
WINDOW=${BENCH_WINDOW:-30}
PERSIST_MESSAGES=${BENCH_PERSIST_MESSAGES:-200000}
read -r -a PERSIST_QUEUE_COUNTS <<< "${BENCH_PERSIST_QUEUES:-1 4}"
SEARCH_MESSAGES=${BENCH_SEARCH_MESSAGES:-1000000}
ROOM_SIZE=50
PG=${PG:-postgres://postgres@127.0.0.1:5432}
# The bench stack's ports, apart from `make run` (8080...) and the end-to-end test (18080...).
STACK_PORT=${BENCH_PORT:-28080}
REST_GATEWAY=$((STACK_PORT + 1))     # account and room setup go through this one
MEASURED_GATEWAY=$((STACK_PORT + 2)) # the sockets, and the measurement, are on this one
LOADTEST_OUT=$BENCH_DIR/loadtest
LOADTEST=${LOADTEST:-$ROOT/target/release/chat-loadtest}
CLK_TCK=$(getconf CLK_TCK)
run_id=$(date +%s)-$$

# Targets (DESIGN.md, "Numbers to beat"); the peer and the floor are measured each run.
FANOUT_PEER_FACTOR=2
FANOUT_FLOOR_FACTOR=1.3
FANOUT_BURST_PEER_FACTOR=5
PERSIST_TARGET=25000
SOCKET_TARGET_BYTES=4000
# The peer and the floor, on ports of their own.
PEER_DIR=$ROOT/loadtest/peers/socketio
PEER_PORT=$((STACK_PORT + 100))
FLOOR_PORT=$((STACK_PORT + 110))
FLOOR=$ROOT/target/release/chat-floor
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

summary=()
stack_pid=""
loadtest_pid=""

log() { printf '\n== %s\n' "$*"; }
fail() {
  echo "bench: $*" >&2
  exit 1
}
wanted() { [[ ",$BENCH," == *",$1,"* ]]; }
# calc EXPRESSION: floating-point arithmetic.
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# grouped NUMBER: 1234567.8 -> 1,234,568.
grouped() { printf '%.0f' "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }
# verdict ACTUAL LIMIT above|below
verdict() {
  if awk "BEGIN { exit !($1 $([ "$3" = above ] && echo '>=' || echo '<') $2) }"; then
    echo met
  else
    echo missed
  fi
}
add_summary() { summary+=("$(printf '%-8s | %-34s | %-30s | %-16s | %s' "$@")"); }

server_pid=""
driver_pids=()

stop_server() {
  if [ "${#driver_pids[@]}" -gt 0 ]; then
    kill -TERM "${driver_pids[@]}" 2>/dev/null || true
    wait "${driver_pids[@]}" 2>/dev/null || true
    driver_pids=()
  fi
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

stop_loadtest() {
  [ -n "$loadtest_pid" ] || return 0
  # The load tool's worker processes are its children.
  local children
  children=$(pgrep -P "$loadtest_pid" || true)
  kill -TERM "$loadtest_pid" $children 2>/dev/null || true
  wait "$loadtest_pid" 2>/dev/null || true
  loadtest_pid=""
}

stop_stack() {
  [ -n "$stack_pid" ] || return 0
  kill -TERM "$stack_pid" 2>/dev/null || true
  wait "$stack_pid" 2>/dev/null || true
  stack_pid=""
  rabbitmqctl -q delete_queue "$PERSIST_QUEUE" >/dev/null 2>&1 || true
  rabbitmqctl -q delete_queue "$PERSIST_QUEUE.dlq" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "${REDIS_KEY_PREFIX}*" | xargs -r redis-cli del >/dev/null 2>&1 || true
}

cleanup() {
  stop_loadtest
  stop_stack
  stop_server
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_stack NAME: the whole stack (two gateways) in release mode, isolated from any other.
start_stack() {
  local name=$1
  export RUN_DIR=$BENCH_DIR/$name
  export PORT=$STACK_PORT GATEWAY_PORTS="$REST_GATEWAY $MEASURED_GATEWAY"
  export GRPC_PORT_BASE=29050 OPS_PORT_BASE=29100
  export PROFILE=release DB_SUFFIX=_bench
  export REDIS_KEY_PREFIX="chat-bench:$run_id:$name:"
  export PERSIST_QUEUE="chat.messages.persist.bench-$run_id-$name"
  export RUST_LOG=${RUST_LOG:-warn}
  # One key for every bench stack, so cached sessions stay valid from run to run.
  export AUTH_SIGNING_KEY_FILE=$BENCH_DIR/jwt-ed25519.pem
  # Sessions come from the token cache; should it be lost, logging thousands of users in
  # again must not hit the per-address limit meant for people.
  export AUTH_LOGIN_MAX_ADDRESS_ATTEMPTS=1000000
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"
  # Rooms and history start empty; accounts (chat_auth_bench) are kept for the next run.
  for db in chat_rooms chat_history chat_files; do
    PGOPTIONS=--client-min-messages=warning psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ${db}${DB_SUFFIX} WITH (FORCE)" >/dev/null
  done
  deploy/local/run.sh >"$RUN_DIR/stack.log" 2>&1 &
  stack_pid=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/nginx-health" 2>/dev/null && break
    if ! kill -0 "$stack_pid" 2>/dev/null; then
      tail -40 "$RUN_DIR/stack.log" >&2
      fail "the $name stack did not start"
    fi
    sleep 0.5
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/nginx-health" || fail "the $name stack did not start"
  gateway_pid=$(cat "$RUN_DIR/gateway2.pid")
  case $(cat "/proc/$gateway_pid/comm") in
  chat-gateway | callgrind*) ;;
  *) fail "pid $gateway_pid is not the gateway" ;;
  esac
}

# metric NAME: the measured gateway's series NAME, summed over its labels.
metric() {
  curl -fsS "http://127.0.0.1:$MEASURED_GATEWAY/metrics" |
    awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $2 } END { printf "%.0f", sum }'
}
# cpu_ticks PID...: user + system CPU time of the processes so far, in clock ticks.
cpu_ticks() {
  local pid sum=0 ticks
  for pid in "$@"; do
    ticks=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || ticks=0
    sum=$((sum + ${ticks:-0}))
  done
  echo "$sum"
}
# system_ticks PID: the system (kernel) part of its CPU time so far, in clock ticks.
system_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $13 }'; }
# machine_ticks: busy and total CPU time of the whole machine so far (all cores).
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# rss_kib: the gateway's resident memory.
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$gateway_pid/status"; }
now_ns() { date +%s%N; }

# set_up_run SCENARIO: accounts and rooms through the REST gateway; writes the plan and
# points it at the measured gateway, starting in a few seconds.
set_up_run() {
  local scenario=$1
  "$LOADTEST" --scenario "$scenario" --url "http://127.0.0.1:$REST_GATEWAY" --out "$LOADTEST_OUT" \
    --setup-only --start-in 1h >"$RUN_DIR/setup.log" 2>&1 || {
    tail -20 "$RUN_DIR/setup.log" >&2
    fail "the load tool's setup failed"
  }
  grep -E 'accounts ready|rooms ready' "$RUN_DIR/setup.log" || true
  plan=$LOADTEST_OUT/plan.json
}

# start_loadtest PROCESSES: runs the plan's users against the measured gateway from now.
start_loadtest() {
  local processes=$1 started_at
  started_at=$(($(now_ns) + 3000000000))
  sed -i -e "s|\"urls\":\[[^]]*\]|\"urls\":[\"http://127.0.0.1:$MEASURED_GATEWAY\"]|" \
    -e "s|\"started_at\":-\{0,1\}[0-9]*|\"started_at\":$started_at|" "$plan"
  grep -q "\"started_at\":$started_at" "$plan" || fail "could not re-time $plan"
  plan_started_at=$started_at
  run=$(grep -o '"run":"[^"]*"' "$plan" | head -1 | cut -d'"' -f4)
  loadtest_log=$RUN_DIR/loadtest-$run.log
  "$LOADTEST" --plan "$plan" --out "$LOADTEST_OUT" --processes "$processes" >"$loadtest_log" 2>&1 &
  loadtest_pid=$!
}

# finish_loadtest: waits for the load tool; 0 (all thresholds held) and 1 (one missed) are
# runs that worked.
finish_loadtest() {
  local status=0
  wait "$loadtest_pid" || status=$?
  loadtest_pid=""
  if [ "$status" -gt 1 ]; then
    tail -30 "$loadtest_log" >&2
    fail "the load tool failed (exit $status)"
  fi
  report=$LOADTEST_OUT/run-$run/report.json
  [ -f "$report" ] || fail "no report at $report"
}

# wait_for_connections COUNT SECONDS: until the measured gateway holds COUNT sockets.
wait_for_connections() {
  local count=$1 deadline=$(($(date +%s) + $2)) held
  while :; do
    held=$(metric chat_gateway_connections)
    [ "$held" -ge "$count" ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ] || ! kill -0 "$loadtest_pid" 2>/dev/null; then
      tail -20 "$loadtest_log" >&2
      fail "only $held of $count sockets connected"
    fi
    sleep 0.5
  done
}

bench_fanout() {
  local load expanded=()
  for load in ${FANOUT_LOADS//,/ }; do
    case $load in
    standard)
      local rate
      for rate in ${FANOUT_RATES//,/ }; do expanded+=("standard-$rate"); done ;;
    large | burst) expanded+=("$load") ;;
    *) fail "unknown fanout load '$load' (BENCH_FANOUT_LOADS=standard,large,burst)" ;;
    esac
  done
  for load in "${expanded[@]}"; do
    load_shape "$load"
    start_stack fanout
    fanout_at
    stop_stack
    log "fanout, $load_name: the peer and the floor, same sockets, rooms and rate"
    peer_at peer
    peer_at floor
    side_by_side
  done
}

# load_shape NAME: the load's sockets, room size, rate over the ordinary rooms, busy rooms
# and their rate each (load_sockets, load_room, load_rate, load_hot, load_hot_rate).
load_shape() {
  load_name=$1 load_hot=0 load_hot_rate=0
  case $1 in
  standard-*)
    load_room=$ROOM_SIZE load_rate=${1#standard-}
    load_sockets=$((FANOUT_SOCKETS / ROOM_SIZE * ROOM_SIZE)) ;;
  large)
    load_room=1000 load_rate=20 load_sockets=1000 ;;
  burst)
    load_room=$ROOM_SIZE load_rate=300 load_hot=4 load_hot_rate=50
    load_sockets=$((FANOUT_SOCKETS / ROOM_SIZE * ROOM_SIZE)) ;;
  esac
  [ "$load_sockets" -ge "$load_room" ] || fail "BENCH_FANOUT_SOCKETS must be at least $load_room"
  load_total_rate=$((load_rate + load_hot * load_hot_rate))
  load_description="$load_sockets sockets in rooms of $load_room, $load_total_rate messages/s"
  if [ "$load_hot" -gt 0 ]; then
    load_description+=" ($load_hot busy rooms at $load_hot_rate/s each)"
  fi
}

# load_scenario FILE NAME RAMP HOLD: a load tool scenario of the current load (load_shape):
# every user connects over RAMP seconds, then all send at the load's pace for HOLD more.
load_scenario() {
  local file=$1 name=$2 ramp=$3 hold=$4 users=$load_sockets
  local groups=$((users / load_room)) large=0 group_weight=1 large_weight=0
  if [ "$groups" -eq 1 ] && [ "$load_room" -gt "$ROOM_SIZE" ]; then
    # One large room of everyone.
    groups=0 large=$users group_weight=0 large_weight=1
  fi
  local calm=$((users - load_hot * load_room))
  local think_ms=$((calm * 1000 / load_rate)) hot_think_ms=1000
  if [ "$load_hot" -gt 0 ]; then hot_think_ms=$((load_room * 1000 / load_hot_rate)); fi
  cat >"$file" <<TOML
name = "$name"
description = "$load_description"
users = $users
[[stages]]
duration = "${ramp}s"
target = $users
[[stages]]
duration = "${hold}s"
target = $users
[accounts]
prefix = "bench"
[rooms]
direct = false
groups = $groups
group_size = [$load_room, $load_room]
large = $large
hot = $load_hot
[traffic]
think_time = "${think_ms}ms"
hot_think_time = "${hot_think_ms}ms"
jitter = 0.5
content_bytes = 100
weights = { direct = 0, group = $group_weight, large = $large_weight }
settle = "5s"
TOML
}

# fanout_at: the current load (load_shape) on the running stack, with fresh rooms.
fanout_at() {
  local users=$load_sockets ramp=20 hold=$((WINDOW + 25)) processes=${BENCH_PROCESSES:-2}
  log "fanout, $load_name: $load_description of 100 bytes, one gateway"
  local scenario=$RUN_DIR/fanout-$load_name.toml
  load_scenario "$scenario" bench-fanout "$ramp" "$hold"
  set_up_run "$scenario"
  start_loadtest "$processes"
  wait_for_connections "$users" $((ramp + 60))
  # Past the connection storm: every user sends at its pace.
  sleep 5
  local t0 c0 d0 s0 l0 m0 t1 c1 d1 s1 l1 m1 clients load busy0 total0 busy1 total1
  # The load tool's processes: the parent and its workers.
  clients="$loadtest_pid $(pgrep -P "$loadtest_pid" | tr '\n' ' ')"
  local k0 k1
  t0=$(now_ns) c0=$(cpu_ticks "$gateway_pid") l0=$(cpu_ticks $clients) m0=$(machine_ticks)
  k0=$(system_ticks "$gateway_pid")
  d0=$(metric chat_gateway_deliveries_total) s0=$(metric chat_gateway_messages_sent_total)
  sleep "$WINDOW"
  t1=$(now_ns) c1=$(cpu_ticks "$gateway_pid") l1=$(cpu_ticks $clients) m1=$(machine_ticks)
  k1=$(system_ticks "$gateway_pid")
  d1=$(metric chat_gateway_deliveries_total) s1=$(metric chat_gateway_messages_sent_total)
  load=$(cut -d' ' -f1 /proc/loadavg)
  local held
  held=$(metric chat_gateway_connections)
  finish_loadtest

  local seconds cpu deliveries sends per_cpu
  seconds=$(calc "($t1 - $t0) / 1e9")
  cpu=$(calc "($c1 - $c0) / $CLK_TCK")
  deliveries=$((d1 - d0))
  sends=$((s1 - s0))
  per_cpu=$(calc "$deliveries / $cpu")
  # What the clients counted in the same seconds, and their latencies.
  local first_second last_second client_deliveries client_rate
  first_second=$(((t0 - plan_started_at) / 1000000000 + 1))
  last_second=$(((t1 - plan_started_at) / 1000000000))
  client_deliveries=$(jq --argjson a "$first_second" --argjson b "$last_second" \
    '[.seconds[] | select(.second >= $a and .second < $b) | .deliveries] | add // 0' "$report")
  client_rate=$(calc "$client_deliveries / ($last_second - $first_second)")
  read -r p50 p99 lost duplicated out_of_order client_cpu < <(jq -r \
    '[.e2e.p50, .e2e.p99, .verdict.lost, .verdict.duplicated, .verdict.out_of_order, (.client_cpu_seconds // 0)] | @tsv' "$report")
  read -r window_p50 window_p99 < <(jq -r --argjson a "$first_second" --argjson b "$last_second" \
    '[.seconds[] | select(.second >= $a and .second < $b)] as $s
     | [($s | map(.e2e_p50) | sort | .[length / 2 | floor]), ($s | map(.e2e_p99) | max)] | @tsv' "$report")

  printf '  window              %.1f s with %s sockets held\n' "$seconds" "$held"
  printf '  messages accepted   %s (%s/s)\n' "$(grouped "$sends")" "$(grouped "$(calc "$sends / $seconds")")"
  printf '  deliveries          %s counted by the gateway (%s/s); the clients received %s/s in the same seconds\n' \
    "$(grouped "$deliveries")" "$(grouped "$(calc "$deliveries / $seconds")")" "$(grouped "$client_rate")"
  printf '  gateway CPU         %.2f s (%.2f cores; %.0f%% of it in the kernel)\n' "$cpu" \
    "$(calc "$cpu / $seconds")" "$(calc "100 * ($k1 - $k0) / ($c1 - $c0)")"
  # The machine is shared: how busy it was tells whether the latencies below are the
  # stack's or the queue for a CPU.
  read -r busy0 total0 <<<"$m0"
  read -r busy1 total1 <<<"$m1"
  printf '  machine             %.0f%% busy over %s cores (load tool %.2f cores, everything else %.2f); load average %s\n' \
    "$(calc "100 * ($busy1 - $busy0) / ($total1 - $total0)")" "$(nproc)" \
    "$(calc "($l1 - $l0) / $CLK_TCK / $seconds")" \
    "$(calc "(($busy1 - $busy0) - ($c1 - $c0) - ($l1 - $l0)) / $CLK_TCK / $seconds")" "$load"
  printf '  deliveries per CPU-second of the gateway: %s\n' "$(grouped "$per_cpu")"
  printf '  delivery latency    p50 %.2f ms, p99 %.2f ms (whole run); window: median per-second p50 %.2f ms, worst per-second p99 %.2f ms\n' \
    "$p50" "$p99" "$window_p50" "$window_p99"
  printf '  exactness           lost %s, duplicated %s, out of order %s (whole run)\n' "$lost" "$duplicated" "$out_of_order"
  printf '  load tool CPU       %.1f s over the whole run (%s processes)\n' "$client_cpu" "$processes"
  gateway_row=("$per_cpu" "$window_p50" "$window_p99" "$client_rate" "$(calc "100 * ($busy1 - $busy0) / ($total1 - $total0)")")
  gateway_lost=$lost
}

# port_free PORT: fails when something already listens there (a server left behind).
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    fail "something already listens on 127.0.0.1:$1"
  fi
}

# Waits until the server just started listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      kill -0 "$server_pid" 2>/dev/null || fail "the server for :$port exited"
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || fail "the server for :$port exited"
    sleep 0.2
  done
  fail "nothing listens on :$port"
}

# start_server peer|floor: the peer (Node.js + Socket.IO + Redis adapter) or the floor.
start_server() {
  case $1 in
  peer)
    port_free "$PEER_PORT"
    PEER_REDIS_PREFIX="chat-bench:$run_id:peer" node "$PEER_DIR/server.js" "$PEER_PORT" "$REDIS_URL" \
      >"$BENCH_DIR/peer.log" 2>&1 &
    server_pid=$! server_url="http://127.0.0.1:$PEER_PORT" transport=socketio
    wait_port "$PEER_PORT" ;;
  floor)
    port_free "$FLOOR_PORT"
    # FLOOR_PREFIX: under a tool (the instructions benchmark's callgrind).
    local prefix
    read -ra prefix <<<"${FLOOR_PREFIX:-}"
    "${prefix[@]}" "$FLOOR" "127.0.0.1:$FLOOR_PORT" >"$BENCH_DIR/floor.log" 2>&1 &
    server_pid=$! server_url="ws://127.0.0.1:$FLOOR_PORT" transport=ws
    wait_port "$FLOOR_PORT" ;;
  esac
}

# start_drivers START_AT_MS PROCESSES: the current load (load_shape) on the peer or the
# floor, split over PROCESSES driver processes; their JSON lines go to
# $BENCH_DIR/driver-N.json.
start_drivers() {
  local start_at=$1 processes=$2 sockets=$load_sockets i share first=0
  driver_pids=()
  for i in $(seq 1 "$processes"); do
    share=$(((sockets * i / processes) - first))
    # Whole rooms per process, as the rooms of chat-loadtest's processes.
    node "$PEER_DIR/driver.js" --transport "$transport" --url "$server_url" --sockets "$share" \
      --first-socket "$first" --all-sockets "$sockets" --room-size "$load_room" --rate "$load_rate" \
      --hot-rooms "$load_hot" --hot-rate "$load_hot_rate" \
      --bytes 100 --start-at "$start_at" --warmup 5 --window "$WINDOW" \
      >"$BENCH_DIR/driver-$i.json" 2>"$BENCH_DIR/driver-$i.log" &
    driver_pids+=($!)
    first=$((first + share))
  done
}

# peer_at NAME: the current load (load_shape) on the peer or the floor; sets NAME_row.
peer_at() {
  local name=$1 sockets=$load_sockets processes=${BENCH_PROCESSES:-2}
  start_server "$name"
  local start_at=$(($(date +%s%3N) + 15000 + sockets * 4))
  start_drivers "$start_at" "$processes"
  # Until the window opens (5 s after the start), then the server's CPU over it.
  local wait_ms=$((start_at + 5000 - $(date +%s%3N)))
  sleep "$(calc "$wait_ms / 1000")"
  local c0 c1 m0 m1 k0 k1 busy0 total0 busy1 total1
  c0=$(cpu_ticks "$server_pid") m0=$(machine_ticks) k0=$(system_ticks "$server_pid")
  sleep "$WINDOW"
  c1=$(cpu_ticks "$server_pid") m1=$(machine_ticks) k1=$(system_ticks "$server_pid")
  wait "${driver_pids[@]}" || fail "a $name driver failed (see $BENCH_DIR/driver-*.log)"
  driver_pids=()
  stop_server
  local cpu deliveries p50 p99
  cpu=$(calc "($c1 - $c0) / $CLK_TCK")
  deliveries=$(cat "$BENCH_DIR"/driver-*.json | jq -s 'map(.window_deliveries) | add')
  # Per-process percentiles: the median of the p50s, the worst p99.
  p50=$(cat "$BENCH_DIR"/driver-*.json | jq -s 'map(.p50_ms) | sort | .[length / 2 | floor]')
  p99=$(cat "$BENCH_DIR"/driver-*.json | jq -s 'map(.p99_ms) | max')
  read -r busy0 total0 <<<"$m0"
  read -r busy1 total1 <<<"$m1"
  local row=("$(calc "$deliveries / $cpu")" "$p50" "$p99" "$(calc "$deliveries / $WINDOW")" \
    "$(calc "100 * ($busy1 - $busy0) / ($total1 - $total0)")")
  printf '  %-8s %s deliveries in %s s, server CPU %.2f s (%.0f%% in the kernel): %s per CPU-second; p50 %.2f ms, p99 %.2f ms\n' \
    "$name" "$(grouped "$deliveries")" "$WINDOW" "$cpu" "$(calc "100 * ($k1 - $k0) / ($c1 - $c0)")" \
    "$(grouped "${row[0]}")" "$p50" "$p99"
  if [ "$name" = peer ]; then peer_row=("${row[@]}"); else floor_row=("${row[@]}"); fi
}

# side_by_side: the three-way table of the current load, and its summary line.
side_by_side() {
  local to_peer to_floor peer_target=$FANOUT_PEER_FACTOR floor_target=$FANOUT_FLOOR_FACTOR
  to_peer=$(calc "${gateway_row[0]} / ${peer_row[0]}")
  # How much more CPU a delivery costs the gateway than the floor.
  to_floor=$(calc "${floor_row[0]} / ${gateway_row[0]}")
  printf '\n  %s: %s\n' "$load_name" "$load_description"
  printf '  %-9s | %-22s | %-10s | %-10s | %-14s | %s\n' server "deliveries/CPU-second" "p50 ms" "p99 ms" "deliveries/s" "machine busy"
  local name
  for name in gateway peer floor; do
    local -n r="${name}_row"
    printf '  %-9s | %-22s | %-10.2f | %-10.2f | %-14s | %.0f%%\n' "$name" "$(grouped "${r[0]}")" "${r[1]}" "${r[2]}" "$(grouped "${r[3]}")" "${r[4]}"
  done
  local target verdicts
  case $load_name in
  standard-*)
    target=">= ${peer_target}x peer, <= ${floor_target}x floor"
    verdicts="$(verdict "$to_peer" "$peer_target" above) / $(verdict "$floor_target" "$to_floor" above)" ;;
  burst)
    peer_target=$FANOUT_BURST_PEER_FACTOR
    target=">= ${peer_target}x peer"
    verdicts=$(verdict "$to_peer" "$peer_target" above) ;;
  *)
    target="(no target)" verdicts="-" ;;
  esac
  printf '  gateway vs peer: %.2fx the deliveries per CPU-second; CPU per delivery %.2fx the floor'"'"'s (target: %s)\n' \
    "$to_peer" "$to_floor" "$target"
  add_summary fanout "$(grouped "${gateway_row[0]}") deliveries/CPU-s" "$target" \
    "$(printf '%.2fx peer, %.2fx floor' "$to_peer" "$to_floor")" \
    "$verdicts; $load_name, p99 $(printf '%.1f' "${gateway_row[2]}") ms (peer $(printf '%.1f' "${peer_row[2]}"), floor $(printf '%.1f' "${floor_row[2]}")), lost $gateway_lost"
}

# callgrind_window PID WINDOW OUT: instructions the process under callgrind executed over
# the next WINDOW seconds (counters zeroed, then dumped to OUT.*).
callgrind_window() {
  local pid=$1 window=$2 out=$3
  callgrind_control --zero "$pid" >/dev/null 2>&1
  sleep "$window"
  callgrind_control --dump=window "$pid" >/dev/null 2>&1
  local dump
  for _ in $(seq 1 50); do
    dump=$(grep -l '^desc: Trigger: .*window' "$out".* 2>/dev/null | head -1) && [ -n "$dump" ] && break
    sleep 0.2
  done
  [ -n "$dump" ] || fail "callgrind wrote no dump for $pid"
  awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' "$dump"
}

bench_instructions() {
  local sockets=500 room=50 rate=10 window=20 out=$BENCH_DIR/callgrind
  rm -rf "$out"
  mkdir -p "$out"
  log "instructions: $sockets sockets in rooms of $room, $rate messages/s, under callgrind: the gateway, then the floor"
  load_name=instructions load_room=$room load_rate=$rate load_hot=0 load_hot_rate=0
  load_sockets=$sockets load_total_rate=$rate
  load_description="$sockets sockets in rooms of $room, $rate messages/s"

  export GATEWAY2_PREFIX="valgrind --tool=callgrind --callgrind-out-file=$out/gateway"
  start_stack instructions
  unset GATEWAY2_PREFIX
  local scenario=$RUN_DIR/instructions.toml
  load_scenario "$scenario" bench-instructions 20 $((window + 90))
  set_up_run "$scenario"
  start_loadtest 1
  wait_for_connections "$sockets" 120
  # Past every user's first send (one per user every sockets/rate = 50 s): the window
  # counts the steady state, not the first check of each membership.
  sleep 60
  local d0 d1 gateway_ir
  d0=$(metric chat_gateway_deliveries_total)
  gateway_ir=$(callgrind_window "$gateway_pid" "$window" "$out/gateway")
  d1=$(metric chat_gateway_deliveries_total)
  finish_loadtest
  stop_stack
  local gateway_deliveries=$((d1 - d0))
  [ "$gateway_deliveries" -gt 0 ] || fail "no deliveries under callgrind"
  local gateway_per
  gateway_per=$(calc "$gateway_ir / $gateway_deliveries")
  printf '  gateway  %s instructions for %s deliveries: %s per delivery\n' \
    "$(grouped "$gateway_ir")" "$(grouped "$gateway_deliveries")" "$(grouped "$gateway_per")"

  FLOOR_PREFIX="valgrind --tool=callgrind --callgrind-out-file=$out/floor"
  start_server floor
  FLOOR_PREFIX=""
  local start_at=$(($(date +%s%3N) + 15000))
  # The drivers' window is this benchmark's (start_drivers reads WINDOW).
  local WINDOW=$window
  start_drivers "$start_at" 1
  sleep "$(calc "($start_at + 5000 - $(date +%s%3N)) / 1000")"
  local floor_ir
  floor_ir=$(callgrind_window "$server_pid" "$window" "$out/floor")
  wait "${driver_pids[@]}" || fail "the floor's driver failed (see $BENCH_DIR/driver-*.log)"
  driver_pids=()
  stop_server
  local floor_deliveries floor_per ratio
  floor_deliveries=$(jq -s 'map(.window_deliveries) | add' "$BENCH_DIR"/driver-1.json)
  [ "$floor_deliveries" -gt 0 ] || fail "the floor delivered nothing under callgrind"
  floor_per=$(calc "$floor_ir / $floor_deliveries")
  ratio=$(calc "$gateway_per / $floor_per")
  printf '  floor    %s instructions for %s deliveries: %s per delivery\n' \
    "$(grouped "$floor_ir")" "$(grouped "$floor_deliveries")" "$(grouped "$floor_per")"
  printf '  the gateway executes %.2fx the floor'"'"'s instructions per delivery\n' "$ratio"
  add_summary instr "$(grouped "$gateway_per") instructions/delivery" "(floor: $(grouped "$floor_per"))" \
    "$(printf '%.2fx floor' "$ratio")" "user space, callgrind; $load_description"
}

bench_memory() {
  local users=$IDLE_SOCKETS processes=${BENCH_PROCESSES:-4}
  local ramp=$(((users + 499) / 500)) hold=30
  [ "$ramp" -ge 5 ] || ramp=5
  log "memory: $users idle authenticated sockets on one gateway, held by $processes load tool processes"
  start_stack memory
  local scenario=$RUN_DIR/idle.toml
  cat >"$scenario" <<TOML
name = "bench-idle"
description = "$users users that connect, authenticate and wait"
users = $users
[[stages]]
duration = "${ramp}s"
target = $users
[[stages]]
duration = "${hold}s"
target = $users
[accounts]
prefix = "bench"
[rooms]
direct = false
groups = 0
large = 0
[traffic]
think_time = "1h"
settle = "1s"
TOML
  if [ "$users" -gt 1000 ]; then
    echo "  (the first run registers any of the $users accounts the cache lacks: one Argon2 hash each)"
  fi
  set_up_run "$scenario"
  # The measured gateway has served nothing but health checks so far.
  sleep 2
  local before after held
  before=$(rss_kib)
  start_loadtest "$processes"
  wait_for_connections "$users" $((ramp + 90))
  # Let the connection storm's transient buffers go.
  sleep 5
  held=$(metric chat_gateway_connections)
  after=$(rss_kib)
  finish_loadtest

  local per_socket
  per_socket=$(calc "($after - $before) * 1024 / $held")
  printf '  gateway resident memory  %s KiB before, %s KiB with %s sockets (+%s KiB)\n' \
    "$(grouped "$before")" "$(grouped "$after")" "$(grouped "$held")" "$(grouped $((after - before)))"
  printf '  per idle socket          %s bytes (%.2f KB)\n' "$(grouped "$per_socket")" "$(calc "$per_socket / 1000")"
  stop_stack
  local peer_socket floor_socket
  peer_socket=$(idle_at peer "$users")
  floor_socket=$(idle_at floor "$users")
  printf '  per idle socket          gateway %s B, peer %s B, floor %s B: the gateway holds %.2fx the peer'"'"'s, %.2fx the floor'"'"'s; target under 4 KB\n' \
    "$(grouped "$per_socket")" "$(grouped "$peer_socket")" "$(grouped "$floor_socket")" \
    "$(calc "$per_socket / $peer_socket")" "$(calc "$per_socket / $floor_socket")"
  add_summary memory "$(grouped "$per_socket") B per idle socket" "< 4 KB (peer, floor measured)" \
    "$(printf '%.2fx peer, %.2fx floor' "$(calc "$per_socket / $peer_socket")" "$(calc "$per_socket / $floor_socket")")" \
    "$(verdict "$per_socket" "$SOCKET_TARGET_BYTES" below); $(grouped "$held") sockets; peer $(grouped "$peer_socket") B, floor $(grouped "$floor_socket") B"
}

# idle_at peer|floor SOCKETS: bytes of resident memory per idle socket on that server
# (printed on stdout; the details on stderr).
idle_at() {
  local name=$1 sockets=$2 processes=${BENCH_PROCESSES:-4}
  start_server "$name"
  sleep 1
  local before after connected=0
  before=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$server_pid/status")
  # No messages: the drivers connect, join and wait out a long window.
  local load_sockets=$sockets load_room=$ROOM_SIZE load_rate=0 load_hot=0 load_hot_rate=0 WINDOW=600
  start_drivers "$(($(date +%s%3N) + 5000))" "$processes"
  local deadline=$(($(date +%s) + 180))
  while [ "$connected" -lt "$sockets" ]; do
    connected=$(cat "$BENCH_DIR"/driver-*.log 2>/dev/null | awk '/sockets connected/ { sum += $1 } END { print sum + 0 }')
    [ "$(date +%s)" -lt "$deadline" ] || fail "only $connected of $sockets sockets reached the $name"
    sleep 1
  done
  sleep 5
  after=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$server_pid/status")
  stop_server
  printf '  %-8s resident memory %s KiB before, %s KiB with %s sockets\n' "$name" \
    "$(grouped "$before")" "$(grouped "$after")" "$(grouped "$sockets")" >&2
  calc "($after - $before) * 1024 / $sockets"
}

bench_presence() {
  local users=$STORM_SOCKETS processes=${BENCH_PROCESSES:-4}
  local ramp=$(((users + 499) / 500))
  [ "$ramp" -ge 5 ] || ramp=5
  # One storm, well after the ramp; then long enough for any `offline` after the grace.
  local storm_at=$((ramp + 20)) after=30
  log "presence: a reconnect storm of $users sockets (in $((users / 2)) direct rooms, each following its partner), with presence and without"
  local scenario=$BENCH_DIR/storm.toml
  cat >"$scenario" <<TOML
name = "bench-storm"
description = "$users users in direct pairs; every socket dropped at once at ${storm_at}s and resumed 1 s later"
users = $users
[[stages]]
duration = "${ramp}s"
target = $users
[[stages]]
duration = "$((storm_at - ramp + after))s"
target = $users
[accounts]
prefix = "bench"
[rooms]
direct = true
groups = 0
large = 0
[traffic]
think_time = "$((users / 100))s"
weights = { direct = 1, group = 0, large = 0 }
settle = "3s"
[chaos]
kill_share = 1.0
every = "${storm_at}s"
down = "1s"
TOML
  local redis_pid mode
  redis_pid=$(redis-cli info server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')
  for mode in on off; do
    export PRESENCE=$mode
    start_stack "presence-$mode"
    set_up_run "$scenario"
    start_loadtest "$processes"
    wait_for_connections "$users" $((ramp + 90))
    local first_publishes
    first_publishes=$(metric chat_gateway_presence_changes_total)
    # The window: from 2 s before the storm to its end (the grace included).
    local start_at=$((plan_started_at + (storm_at - 2) * 1000000000))
    while [ "$(now_ns)" -lt "$start_at" ]; do sleep 0.1; done
    local c0 r0 p0 c1 r1 p1 t0 t1 held
    t0=$(now_ns) c0=$(cpu_ticks "$gateway_pid") r0=$(cpu_ticks "$redis_pid")
    p0=$(metric chat_gateway_presence_changes_total)
    sleep $((2 + after - 5))
    t1=$(now_ns) c1=$(cpu_ticks "$gateway_pid") r1=$(cpu_ticks "$redis_pid")
    p1=$(metric chat_gateway_presence_changes_total)
    held=$(metric chat_gateway_connections)
    finish_loadtest
    local kills reconnects cpu redis_cpu back_in lost duplicated
    read -r kills reconnects < <(jq -r '[.counts.kills, .counts.reconnects] | @tsv' "$report")
    # From the drop to the end of the last second in which a socket came back.
    back_in=$(jq -r --argjson s "$storm_at" '[.seconds[] | select(.second >= $s and .connects > 0) | .second] | (max // $s) - $s + 1' "$report")
    read -r lost duplicated < <(jq -r '[.verdict.lost, .verdict.duplicated] | @tsv' "$report")
    cpu=$(calc "($c1 - $c0) / $CLK_TCK")
    redis_cpu=$(calc "($r1 - $r0) / $CLK_TCK")
    printf '  presence %-3s  %s sockets dropped and resumed (%s reconnects), %s held after; window %.0f s\n' \
      "$mode" "$(grouped "$kills")" "$(grouped "$reconnects")" "$(grouped "$held")" "$(calc "($t1 - $t0) / 1e9")"
    printf '                presence publishes: %s in the storm (%s when the %s users first came online)\n' \
      "$(grouped $((p1 - p0)))" "$(grouped "$first_publishes")" "$(grouped "$users")"
    printf '                CPU in the window: gateway %.2f s, Redis %.2f s\n' "$cpu" "$redis_cpu"
    printf '                every socket back within %s s of the drop (1 s of it away), messages meanwhile: lost %s, duplicated %s\n' \
      "$back_in" "$lost" "$duplicated"
    if [ "$mode" = on ]; then
      add_summary storm "all $(grouped "$kills") back in $back_in s" "<= 10 s, 0 lost, 0 duplicated" \
        "lost $lost, duplicated $duplicated" \
        "$([ "$back_in" -le 10 ] && [ "$lost" = 0 ] && [ "$duplicated" = 0 ] && echo met || echo MISSED); $(grouped "$users") sockets dropped at once, resumed with catch-up"
    fi
    eval "storm_${mode}_cpu=$cpu storm_${mode}_redis=$redis_cpu storm_${mode}_publishes=$((p1 - p0))"
    stop_stack
  done
  unset PRESENCE
  local extra
  extra=$(calc "($storm_on_cpu + $storm_on_redis) - ($storm_off_cpu + $storm_off_redis)")
  printf '  presence costs %.2f CPU-seconds more for the storm (gateway %+.2f s, Redis %+.2f s): %.0f us per reconnect; %s publishes for %s reconnects\n' \
    "$extra" "$(calc "$storm_on_cpu - $storm_off_cpu")" "$(calc "$storm_on_redis - $storm_off_redis")" \
    "$(calc "$extra * 1e6 / $users")" "$storm_on_publishes" "$(grouped "$users")"
  add_summary presence "$storm_on_publishes publishes, $(printf '%.2f' "$(calc "$storm_on_cpu + $storm_on_redis")") CPU-s" \
    "storm without presence" "$(printf '%.2f CPU-s' "$(calc "$storm_off_cpu + $storm_off_redis")")" \
    "$(grouped "$users") sockets reconnecting; $(printf '%+.2f' "$extra") CPU-s with presence"
}

bench_persist() {
  mkdir -p "$BENCH_DIR"
  local queues output live drain first_live=""
  for queues in "${PERSIST_QUEUE_COUNTS[@]}"; do
    log "persist: $PERSIST_MESSAGES envelopes per phase through $queues RabbitMQ queue(s) into PostgreSQL"
    output=$BENCH_DIR/persist-$queues.log
    # shellcheck disable=SC2086 # extra flags, split on purpose
    "$ROOT/target/release/examples/persist_bench" --messages "$PERSIST_MESSAGES" --queues "$queues" \
      ${BENCH_PERSIST_ARGS:-} 2>&1 | tee "$output" ||
      fail "persist_bench failed"
    live=$(sed -nE 's/^live \(publish \+ persist\): *([0-9.]+) msg\/s.*/\1/p' "$output")
    drain=$(sed -nE 's/^drain \(backlog into PostgreSQL\): *([0-9.]+) msg\/s.*/\1/p' "$output")
    [ -n "$live" ] && [ -n "$drain" ] || fail "persist_bench printed no rates"
    # Each count after the first is compared with the first (one queue, by default).
    local against="" ratio=""
    if [ -n "$first_live" ]; then
      against="; $(printf '%.2fx' "$(calc "$live / $first_live")") the ${PERSIST_QUEUE_COUNTS[0]}-queue rate"
    else
      first_live=$live
    fi
    ratio=$(printf '%.2fx' "$(calc "$live / $PERSIST_TARGET")")
    add_summary persist "$(grouped "$live") msg/s live, $queues queue(s)" ">= 25,000 msg/s" "$ratio" \
      "$(verdict "$live" "$PERSIST_TARGET" above); backlog drain $(grouped "$drain") msg/s$against"
  done
}

bench_search() {
  log "search: $SEARCH_MESSAGES stored messages in 1,000 rooms, a user in 50 of them"
  mkdir -p "$BENCH_DIR"
  local output=$BENCH_DIR/search.log
  "$ROOT/target/release/examples/search_bench" --messages "$SEARCH_MESSAGES" 2>&1 |
    tee "$output" ||
    fail "search_bench failed"
  local p50 p99
  p50=$(sed -nE 's/^search over .*: p50 ([0-9.]+) ms, p99 ([0-9.]+) ms$/\1/p' "$output")
  p99=$(sed -nE 's/^search over .*: p50 ([0-9.]+) ms, p99 ([0-9.]+) ms$/\2/p' "$output")
  [ -n "$p50" ] && [ -n "$p99" ] || fail "search_bench printed no latencies"
  add_summary search "p50 $p50 ms, p99 $p99 ms" "(no baseline)" "-" \
    "$(grouped "$SEARCH_MESSAGES") messages, user in 50 of 1,000 rooms"
}

for name in ${BENCH//,/ }; do
  case $name in
  fanout | instructions | persist | memory | presence | search) ;;
  *) fail "unknown benchmark '$name' (BENCH=fanout,instructions,persist,memory,presence,search)" ;;
  esac
done

log "building (release)"
cargo build --release --bins
if wanted fanout || wanted memory || wanted instructions; then
  npm ci --prefix "$PEER_DIR" --no-audit --no-fund --loglevel=error
fi
if wanted instructions && ! command -v callgrind_control >/dev/null; then
  # shellcheck source=deploy/local/packages.sh
  source deploy/local/packages.sh
  apt_install valgrind
fi
if wanted persist; then
  cargo build --release -p chat-history --example persist_bench
fi
if wanted search; then
  cargo build --release -p chat-history --example search_bench
fi
mkdir -p "$BENCH_DIR" "$LOADTEST_OUT"
if [ ! -f "$BENCH_DIR/jwt-ed25519.pem" ]; then
  target/release/chat-auth keygen --out "$BENCH_DIR/jwt-ed25519.pem" >/dev/null
fi
deploy/local/services.sh >/dev/null

wanted persist && bench_persist
wanted fanout && bench_fanout
wanted instructions && bench_instructions
wanted memory && bench_memory
wanted presence && bench_presence
wanted search && bench_search

log "summary ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r))"
printf '%-8s | %-34s | %-30s | %-16s | %s\n' bench figure "target (baseline)" ratio verdict
printf '%s\n' "${summary[@]}"
