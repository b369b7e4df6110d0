#!/usr/bin/env bash
# shellcheck disable=SC2016 # the commands run inside the root are single-quoted on purpose
# Proves the promise of `make run` / `make test` on a machine where none of the servers is
# installed: in a fresh Debian 12 (bookworm) minbase root, in a network namespace of its
# own (so the servers of this machine are out of sight), it runs deploy/local/services.sh
# and deploy/local/install-tools.sh test, then checks that PostgreSQL, Redis and RabbitMQ
# answer, that nginx, Node.js, npm and Chromium are there, that the web client builds with
# that Node.js, and that a second run finds everything. Then it starts the whole stack
# the way a newcomer does, with `make run` in the same root and namespace, and walks
# through it end to end: the web client at /, the API reference, two people registering,
# signing in, a room, a message sent over REST and read back, and (with chat-ws) the same
# message arriving on a WebSocket; then Ctrl-C (SIGINT to make run's process group) must
# stop every process make run started. The Rust toolchain is this machine's (rustup's
# ~/.cargo and ~/.rustup, mounted read-only: the project does not install it), and so is
# the build: the copy is also mounted at this machine's path of the working tree, over
# this machine's target/ seen through an overlay, so `cargo build` compiles nothing and
# writes nothing here. Prints PASS or FAIL, the time each phase took, the status lines the
# scripts printed and make run's dependency lines. Stops what it started, removes the
# network namespace and its NAT rule, and keeps the bootstrapped Debian for the next run.
#
#   check-clean-install.sh            reuse a finished bootstrap (the root it tests is
#                                     always a fresh copy of it, with the working tree's
#                                     files in /src)
#   check-clean-install.sh --fresh    bootstrap again from the Debian mirror
#   check-clean-install.sh --no-stack skip the make run stage
#   check-clean-install.sh --remove   also delete the work directory at the end
#
# Needs root, debootstrap and iptables (installed when missing), network to the Debian
# mirror, PyPI and the npm registry, and about 3 GB in CLEAN_ROOT. The make run stage also
# needs rustup's toolchain in ~/.cargo and ~/.rustup and a debug build of the working tree
# as it is (`cargo build --bins`): it fails, compiling nothing, when that build is not
# fresh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The work directory: base/ is the bootstrapped Debian (kept), root/ the copy under test.
WORK=${CLEAN_ROOT:-/var/tmp/chat-clean-root}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# The network namespace and the veth pair joining it to this machine (10.213.0.0/30).
NETNS=${CLEAN_NETNS:-chat-clean}
HOST_IF=chat-clean0
NS_IF=chat-clean1
HOST_ADDR=10.213.0.1
NS_ADDR=10.213.0.2
SUBNET=10.213.0.0/30
NAT_RULE=(POSTROUTING -s "$SUBNET" ! -o "$HOST_IF" -m comment --comment chat-clean-install -j MASQUERADE)

# What a plain Debian server install (netinst, "standard system utilities") has and
# minbase lacks, and nothing more: ca-certificates, netbase (/etc/services, /etc/protocols),
# procps (ps, kill), iproute2 (ip, ss) and python3 (priority important/standard). No
# sudo (we are root), no systemd running (like a container: policy-rc.d below), no
# python3-venv, curl or gnupg: whatever the project needs beyond this, its scripts install.
PLAIN_SERVER_PACKAGES=(ca-certificates netbase procps iproute2 python3)

fresh="" remove="" no_stack=""
for arg in "$@"; do
  case $arg in
    --fresh) fresh=1 ;;
    --remove) remove=1 ;;
    --no-stack) no_stack=1 ;;
    -h | --help)
      sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (--fresh, --no-stack, --remove, --help)" >&2
      exit 2
      ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "check-clean-install.sh needs root (debootstrap, chroot, network namespaces)" >&2
  exit 2
fi

started=$SECONDS
BASE=$WORK/base
TARGET=$WORK/root
LOGS=$WORK/logs
# Inside the root: where the scripts' status lines go (DEPENDENCY_REPORT).
REPORT_DIR=/var/tmp/chat-check
# The make run stage: this machine's rustup toolchain, and the upper layer of the overlay
# through which the root sees this machine's target/ (what cargo writes goes there).
HOST_CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
HOST_RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
OVERLAY=$WORK/target-overlay

# --- results ----------------------------------------------------------------------------

phase_names=() phase_results=() phase_times=()
failed=""

# record NAME RESULT SECONDS
record() {
  phase_names+=("$1")
  phase_results+=("$2")
  phase_times+=("$3")
  [ "$2" = PASS ] || [ "$2" = SKIP ] || failed=1
}

# phase NAME COMMAND...: runs COMMAND, records PASS/FAIL and the time it took; for the
# steps that may fail without stopping the check (written with explicit returns, as
# errexit does not apply inside `if`).
phase() {
  local name=$1 start=$SECONDS
  shift
  echo "=== $name" >&2
  if "$@"; then
    record "$name" PASS $((SECONDS - start))
  else
    record "$name" FAIL $((SECONDS - start))
    echo "=== $name: FAILED" >&2
    return 1
  fi
}

# begin NAME ... end: a step the rest needs, run under errexit; when it fails the script
# ends, and cleanup records it as FAIL.
current="" current_start=0
begin() {
  current=$1 current_start=$SECONDS
  echo "=== $1" >&2
}
end() {
  record "$current" PASS $((SECONDS - current_start))
  current=""
}

# check NAME COMMAND_IN_ROOT: one verification inside the namespace and the root.
check() {
  local name=$1 start=$SECONDS out
  if out=$(in_root "$2" 2>&1); then
    record "check: $name" PASS $((SECONDS - start))
    echo "  ok    $name: $(echo "$out" | tail -n1)" >&2
  else
    record "check: $name" FAIL $((SECONDS - start))
    echo "  FAIL  $name:" >&2
    echo "$out" | tail -n 15 | sed 's/^/        /' >&2
  fi
}

summary() {
  local i result=PASS
  [ -z "$failed" ] || result=FAIL
  echo
  echo "Clean install check ($(date -u +%Y-%m-%d), Debian 12 $SUITE minbase): $result"
  for i in "${!phase_names[@]}"; do
    printf '  %-4s %5ss  %s\n' "${phase_results[$i]}" "${phase_times[$i]}" "${phase_names[$i]}"
  done
  printf '  %-4s %5ss  %s\n' "$result" $((SECONDS - started)) "in all"
  for f in first second; do
    if [ -s "$TARGET$REPORT_DIR/$f.txt" ]; then
      echo "Status lines, $f run:"
      cat "$TARGET$REPORT_DIR/$f.txt"
    fi
  done
  if [ -s "$LOGS/make-run-banner.txt" ]; then
    echo "make run's banner, its dependency lines:"
    sed -n '/^  dependencies$/,/^$/p' "$LOGS/make-run-banner.txt" | sed '1d; /^$/d'
  fi
  echo "Logs in $LOGS"
}

# --- mounts, namespace, cleanup ---------------------------------------------------------

mounted=()

# mount_root DIR: /proc, /sys, /dev (with /dev/pts), a /dev/shm of its own.
mount_root() {
  local dir=$1
  mount -t proc proc "$dir/proc" && mounted+=("$dir/proc")
  mount -t sysfs sysfs "$dir/sys" && mounted+=("$dir/sys")
  mount --rbind /dev "$dir/dev" && mounted+=("$dir/dev")
  # Nothing mounted under the root's /dev may show up in this machine's /dev.
  mount --make-rslave "$dir/dev"
  mount -t tmpfs -o mode=1777,nosuid,nodev shm "$dir/dev/shm"
}

unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}" 2>/dev/null || true
  done
  mounted=()
}

# mounts_under DIR: the mount points below DIR, deepest first.
mounts_under() {
  awk -v dir="$1/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# unmount_under DIR: whatever an interrupted run left mounted below DIR (this machine's
# toolchain among it) is unmounted before anything there is deleted.
unmount_under() {
  local m tries
  for tries in 1 2 3; do
    [ -n "$(mounts_under "$1")" ] || return 0
    for m in $(mounts_under "$1"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  done
  [ -z "$(mounts_under "$1")" ] || { echo "still mounted below $1: $(mounts_under "$1")" >&2; return 1; }
}

# The environment inside: a login shell's, none of this machine's variables but for the
# proxy and CA settings chosen below (pass_env).
clean_env=(env -i HOME=/root USER=root LOGNAME=root TERM="${TERM:-dumb}" LANG=C.UTF-8
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)

# in_chroot DIR COMMAND: COMMAND run by a login shell in DIR.
in_chroot() {
  "${clean_env[@]}" "${pass_env[@]}" chroot "$1" /bin/bash -lc "$2"
}

# in_root COMMAND: COMMAND in the root under test, inside the network namespace.
in_root() {
  ip netns exec "$NETNS" "${clean_env[@]}" "${pass_env[@]}" chroot "$TARGET" /bin/bash -lc "$1"
}

pass_env=()
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -z "${!var:-}" ] || pass_env+=("$var=${!var}")
done

forward_before=""
rules_added=""
netns_added=""

# The namespace's traffic leaves through this machine, masqueraded, and is forwarded even
# where the FORWARD chain drops by default.
FORWARD_IN=(FORWARD -i "$HOST_IF" -m comment --comment chat-clean-install -j ACCEPT)
FORWARD_BACK=(FORWARD -o "$HOST_IF" -m conntrack --ctstate "RELATED,ESTABLISHED"
  -m comment --comment chat-clean-install -j ACCEPT)
add_rules() {
  iptables -I "${FORWARD_IN[@]}"
  iptables -I "${FORWARD_BACK[@]}"
  iptables -t nat -A "${NAT_RULE[@]}"
}
drop_rules() {
  while iptables -D "${FORWARD_IN[@]}" 2>/dev/null; do :; done
  while iptables -D "${FORWARD_BACK[@]}" 2>/dev/null; do :; done
  while iptables -t nat -D "${NAT_RULE[@]}" 2>/dev/null; do :; done
}

setup_network() {
  ip netns add "$NETNS"
  netns_added=1
  ip link add "$HOST_IF" type veth peer name "$NS_IF"
  ip link set "$NS_IF" netns "$NETNS"
  ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  ip -n "$NETNS" link set lo up
  ip -n "$NETNS" addr add "$NS_ADDR/30" dev "$NS_IF"
  ip -n "$NETNS" link set "$NS_IF" up
  ip -n "$NETNS" route add default via "$HOST_ADDR"
  forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
  sysctl -qw net.ipv4.ip_forward=1
  rules_added=1
  add_rules
  # The servers of this machine must be out of sight, the mirror in reach.
  local port
  for port in 5432 6379 5672; do
    if ip netns exec "$NETNS" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
      echo "something answers on $port inside the namespace" >&2
      return 1
    fi
  done
  local host=${MIRROR#*://}
  host=${host%%/*}
  ip netns exec "$NETNS" timeout 20 bash -c "exec 3<>/dev/tcp/$host/80"
}

# Stops the servers started in the root, then any process still living in it (epmd).
stop_root_processes() {
  if [ -d "$TARGET/proc/1" ] && ip netns list 2>/dev/null | grep -qw "$NETNS"; then
    in_root '
      for v in /etc/postgresql/*/main; do
        [ -d "$v" ] || continue
        v=${v%/main}; pg_ctlcluster --skip-systemctl-redirect "${v##*/}" main stop -m fast
      done
      command -v redis-cli >/dev/null && redis-cli -p 6379 shutdown nosave
      command -v rabbitmqctl >/dev/null && timeout 60 rabbitmqctl stop
      command -v epmd >/dev/null && epmd -kill
      true' >/dev/null 2>&1 || true
  fi
  local pid pids=() tries
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    pids=()
    for pid in /proc/[0-9]*; do
      [ "$(readlink "$pid/root" 2>/dev/null)" = "$TARGET" ] && pids+=("${pid#/proc/}")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    if [ "$tries" -lt 10 ]; then kill -TERM "${pids[@]}" 2>/dev/null || true; else
      kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    sleep 1
  done
}

# On exit, whatever happened: the step that was running is a FAIL, the summary is
# printed, and everything the check set up on this machine is taken down again.
cleanup() {
  local status=$?
  set +e
  trap - INT TERM
  if [ -n "$current" ]; then
    record "$current" FAIL $((SECONDS - current_start))
    echo "=== $current: FAILED" >&2
  fi
  echo "=== cleaning up" >&2
  [ -z "$make_pid" ] || stop_make_run >/dev/null 2>&1
  stop_root_processes
  unmount_all
  [ -n "$(mounts_under "$OVERLAY")" ] || [ -n "$(mounts_under "$TARGET")" ] ||
    rm -rf --one-file-system "$OVERLAY"
  [ -z "$netns_added" ] || ip netns del "$NETNS" 2>/dev/null
  ip link del "$HOST_IF" 2>/dev/null
  [ -z "$rules_added" ] || drop_rules
  [ -z "$forward_before" ] || sysctl -qw net.ipv4.ip_forward="$forward_before"
  summary
  if [ -n "$remove" ]; then
    rm -rf --one-file-system "$WORK"
  fi
  [ "$status" -ne 0 ] || [ -z "$failed" ] || status=1
  exit "$status"
}

# --- phases -----------------------------------------------------------------------------

host_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v git >/dev/null || missing+=(git)
  [ ${#missing[@]} -eq 0 ] && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The sources a Debian 12 install has: main, bookworm-updates and the security updates.
write_sources() {
  local dir=$1
  rm -f "$dir/etc/apt/sources.list"
  cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# A machine without systemd (like a container): package scripts start no services; the
# project's scripts must start them.
write_policy_rc() {
  printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
  chmod 755 "$1/usr/sbin/policy-rc.d"
}

bootstrap() {
  if [ -n "$fresh" ] || [ ! -e "$BASE/.bootstrap-done" ]; then
    rm -rf --one-file-system "$BASE"
    mkdir -p "$BASE"
    debootstrap --variant=minbase "$SUITE" "$BASE" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1 ||
      { tail -n 20 "$LOGS/debootstrap.log" >&2; return 1; }
    touch "$BASE/.bootstrap-done"
  else
    echo "reusing the bootstrap in $BASE (--fresh to start over)" >&2
  fi
  write_sources "$BASE"
  write_policy_rc "$BASE"
  cp /etc/resolv.conf "$BASE/etc/resolv.conf"
  mount_root "$BASE"
  in_chroot "$BASE" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends ${PLAIN_SERVER_PACKAGES[*]} >/dev/null && apt-get clean" \
    >"$LOGS/base-packages.log" 2>&1 || { tail -n 20 "$LOGS/base-packages.log" >&2; return 1; }
  unmount_all
}

# The certificates this machine trusts beyond Debian's (a TLS-inspecting proxy's CA, say),
# in ca_dir: the root trusts them too, as this machine does, so that its apt, pip and npm
# reach the registries the same way.
extra_cas() {
  local ca_dir=$1
  mkdir -p "$ca_dir"
  [ -s /etc/ssl/certs/ca-certificates.crt ] || return 0
  awk -v out="$ca_dir" -v base="$BASE/etc/ssl/certs/ca-certificates.crt" '
    /-----BEGIN CERTIFICATE-----/ { pem = ""; inside = 1 }
    inside { pem = pem $0 "\n" }
    /-----END CERTIFICATE-----/ {
      inside = 0
      if (FILENAME == base) known[pem] = 1
      else if (!(pem in known)) { n++; f = out "/host-extra-" n ".crt"; printf "%s", pem > f; close(f) }
    }' "$BASE/etc/ssl/certs/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt
}

# The root under test: a fresh copy of the bootstrap, the repository's files in /src.
prepare_root() {
  unmount_under "$TARGET"
  rm -rf --one-file-system "$TARGET"
  cp -a "$BASE" "$TARGET"
  rm -f "$TARGET/.bootstrap-done"
  write_policy_rc "$TARGET"
  cp /etc/resolv.conf "$TARGET/etc/resolv.conf"
  # What every Debian system has; the machine's own name is not in it, as in many
  # containers and cloud images.
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$TARGET/etc/hosts"
  extra_cas "$TARGET/usr/local/share/ca-certificates"
  local extra=("$TARGET"/usr/local/share/ca-certificates/*.crt)
  if [ -e "${extra[0]}" ]; then
    in_chroot "$TARGET" 'update-ca-certificates >/dev/null 2>&1'
    # pip and Node.js carry their own lists; told to use the system's, as on this machine.
    local bundle=/etc/ssl/certs/ca-certificates.crt
    pass_env+=("NODE_EXTRA_CA_CERTS=$bundle" "PIP_CERT=$bundle")
    echo "this machine trusts ${#extra[@]} CA(s) beyond Debian's; so does the root" >&2
  fi
  mkdir -p "$TARGET/src" "$TARGET$REPORT_DIR"
  # Tracked files and new ones not ignored, as they are in the working tree: uncommitted
  # work counts (a tracked file may already use a new one).
  git -C "$ROOT" ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$ROOT/$f" ] || [ -L "$ROOT/$f" ] && printf '%s\0' "$f"
  done | tar -C "$ROOT" --null -T - -cf - | tar -C "$TARGET/src" -xf -
  mount_root "$TARGET"
}

# run_scripts REPORT LOG COMMAND: the project's scripts inside the root; their status
# lines go to REPORT_DIR/REPORT.txt, everything to LOGS/LOG.log.
run_scripts() {
  in_root "cd /src && export DEPENDENCY_REPORT=$REPORT_DIR/$1.txt && $3" 2>&1 |
    tee "$LOGS/$2.log"
  return "${PIPESTATUS[0]}"
}

second_run() {
  run_scripts second second 'deploy/local/services.sh && deploy/local/install-tools.sh test' ||
    return 1
  # Every dependency found the second time.
  [ -s "$TARGET$REPORT_DIR/second.txt" ] || return 1
  if grep -v ' found' "$TARGET$REPORT_DIR/second.txt" >&2; then
    echo "the lines above are not \"found\" on the second run" >&2
    return 1
  fi
}

web_build() {
  in_root 'cd /src && npm ci --prefix web --no-audit --no-fund --loglevel=error &&
    npm run --prefix web build' >"$LOGS/web-build.log" 2>&1 ||
    { tail -n 30 "$LOGS/web-build.log" >&2; return 1; }
  tail -n 3 "$LOGS/web-build.log" >&2
}

# --- the stack, started the way a newcomer starts it ------------------------------------

make_pid=""

# bind_ro DIR MOUNT_POINT
bind_ro() {
  mkdir -p "$2" && mount --bind "$1" "$2" && mounted+=("$2") && mount -o remount,bind,ro "$2"
}

# This machine's toolchain and build in the root. rustup's ~/.cargo and ~/.rustup,
# read-only, and the line rustup's installer adds to ~/.profile. The copy of the working
# tree also at this machine's path of it: cargo's fingerprints hold absolute paths, and
# tar kept the files' times, so cargo finds this machine's build fresh. Its target/ is
# this machine's, seen through an overlay: the little cargo writes even when it compiles
# nothing (its lock, dep-info files, .rustc_info.json) goes to the upper layer in $WORK,
# and this machine's target/ is only read.
stack_mounts() {
  if [ ! -x "$HOST_CARGO_HOME/bin/cargo" ] || [ ! -d "$HOST_RUSTUP_HOME/toolchains" ]; then
    echo "no rustup toolchain in $HOST_CARGO_HOME and $HOST_RUSTUP_HOME" >&2
    return 1
  fi
  if [ ! -d "$ROOT/target/debug" ]; then
    echo "no debug build in $ROOT/target: cargo build --bins first" >&2
    return 1
  fi
  # (Explicit returns: errexit does not apply inside phase.)
  bind_ro "$HOST_CARGO_HOME" "$TARGET/root/.cargo" || return 1
  bind_ro "$HOST_RUSTUP_HOME" "$TARGET/root/.rustup" || return 1
  printf '\n. "$HOME/.cargo/env"\n' | tee -a "$TARGET/root/.profile" >>"$TARGET/root/.bashrc"
  mkdir -p "$TARGET$ROOT" "$TARGET/src/target" "$OVERLAY/upper" "$OVERLAY/work" || return 1
  mount --bind "$TARGET/src" "$TARGET$ROOT" && mounted+=("$TARGET$ROOT") || return 1
  mount -t overlay chat-clean-target \
    -o "lowerdir=$ROOT/target,upperdir=$OVERLAY/upper,workdir=$OVERLAY/work" "$TARGET$ROOT/target" &&
    mounted+=("$TARGET$ROOT/target") || return 1
  in_root 'cargo --version && ls -d '"$ROOT"'/target/debug/chat-gateway' >&2
}

# What README's "What you need" asks for beyond Rust and a plain Debian: curl (which
# rustup's installer needs too, and make run's readiness checks use), and make itself.
stack_prerequisites() {
  in_root 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends curl make >/dev/null' >"$LOGS/stack-prerequisites.log" 2>&1 ||
    { tail -n 20 "$LOGS/stack-prerequisites.log" >&2; return 1; }
  in_root 'curl --version | head -n1; make --version | head -n1' >&2
}

# make run's `cargo build --bins`, first with a rustc wrapper that answers what rustc is
# (-vV, --print) and refuses to compile: a build that is not fresh fails at once instead
# of compiling the workspace (this machine is shared; the root has no C linker anyway).
stack_build_is_noop() {
  cat >"$TARGET$REPORT_DIR/rustc-no-compile" <<'EOF'
#!/bin/sh
for arg in "$@"; do case $arg in -vV | --print*) exec "$@" ;; esac; done
echo "check-clean-install: cargo wants to compile; this build is not fresh" >&2
exit 1
EOF
  chmod 755 "$TARGET$REPORT_DIR/rustc-no-compile"
  if ! in_root "cd $ROOT && RUSTC_WRAPPER=$REPORT_DIR/rustc-no-compile cargo build --bins" \
    >"$LOGS/cargo-build.log" 2>&1; then
    grep -E '^ *(Compiling|Running|Fresh|error)' "$LOGS/cargo-build.log" | head -n 10 >&2
    echo "the debug build in $ROOT/target is not fresh for this working tree:" \
      "cargo build --bins here, then again" >&2
    return 1
  fi
  tail -n 1 "$LOGS/cargo-build.log" >&2
}

# make run, in the background in a process group of its own (as in a terminal, where
# Ctrl-C signals the foreground group) with SIGINT and SIGTERM at their defaults (a
# script's background commands ignore SIGINT), until it prints its banner.
stack_start() {
  local log=$LOGS/make-run.log i
  set -m
  env --default-signal=INT,TERM ip netns exec "$NETNS" "${clean_env[@]}" "${pass_env[@]}" \
    chroot "$TARGET" /bin/bash -lc "cd $ROOT && exec make run" >"$log" 2>&1 </dev/null &
  make_pid=$!
  set +m
  for ((i = 0; i < 180; i++)); do
    grep -q '^  Ctrl-C stops everything' "$log" && break
    if ! kill -0 "$make_pid" 2>/dev/null; then
      echo "make run ended before the stack was up:" >&2
      tail -n 30 "$log" >&2
      return 1
    fi
    sleep 1
  done
  if ! grep -q '^  chat is running' "$log"; then
    echo "no 'chat is running' from make run in 180 s:" >&2
    tail -n 30 "$log" >&2
    return 1
  fi
  sed -n '/^  chat is running/,/^  Ctrl-C stops everything/p' "$log" >"$LOGS/make-run-banner.txt"
  grep -E '^ *Finished ' "$log" >&2 || true
  sed 's/^/    /' "$LOGS/make-run-banner.txt" >&2
  if grep -E '^ *Compiling ' "$log" >&2; then
    echo "make run compiled something" >&2
    return 1
  fi
}

# group_alive PGID: a process of the group lives (make itself stays a zombie until
# waited for).
group_alive() {
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# Ctrl-C: SIGINT to make run's process group; everything it started must be gone within
# a minute, and nothing listen any more on the stack's ports (PostgreSQL, Redis and
# RabbitMQ stay up, as make run says).
stop_make_run() {
  local i
  kill -INT -- "-$make_pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    group_alive "$make_pid" || break
    sleep 1
  done
  if group_alive "$make_pid"; then
    echo "make run's processes still there 60 s after SIGINT:" >&2
    ps -e -o pid=,pgid=,stat=,args= | awk -v g="$make_pid" '$2 == g' >&2
    kill -KILL -- "-$make_pid" 2>/dev/null
    wait "$make_pid" 2>/dev/null
    make_pid=""
    return 1
  fi
  wait "$make_pid" 2>/dev/null
  make_pid=""
  grep -qx stopped "$LOGS/make-run.log" || { echo "make run did not say stopped" >&2; return 1; }
  local listening
  listening=$(in_root 'ss -Hltn' | awk '{ print $4 }' |
    grep -E ':(8080|8081|8082|9101|9102|9103|9104|15051|15052|15053|15054)$' || true)
  if [ -n "$listening" ]; then
    echo "still listening after make run stopped: $listening" >&2
    return 1
  fi
  echo "make run said: $(grep -x -A1 'stopping...' "$LOGS/make-run.log" | tr '\n' ' ')" >&2
}

# The API walkthrough of README.md, against make run's nginx on 8080; what it learns
# (tokens, the room) is kept in the root for the next step.
API_STATE=$REPORT_DIR/api.env
stack_checks() {
  check "GET / serves the web client" \
    'curl -fsS http://127.0.0.1:8080/ | grep -o "<div id=\"root\">"'
  check "GET /api/openapi.json" '
    curl -fsS http://127.0.0.1:8080/api/openapi.json |
      jq -er "\"OpenAPI \" + .openapi + \", \" + (.paths | length | tostring) + \" paths\""'
  check "POST /api/auth/register: ada, grace" '
    for who in ada grace; do
      curl -fsS -o /dev/null -w "$who %{http_code} " localhost:8080/api/auth/register \
        -H "content-type: application/json" \
        -d "{\"username\":\"$who\",\"email\":\"$who@example.com\",\"password\":\"correct horse battery\"}" ||
        exit 1
    done; echo'
  check "POST /api/auth/login: both" '
    login() {
      curl -fsS localhost:8080/api/auth/login -H "content-type: application/json" \
        -d "{\"login\":\"$1\",\"password\":\"correct horse battery\"}" | jq -er .access_token
    }
    ADA=$(login ada) && GRACE=$(login grace) &&
    printf "ADA=%s\nGRACE=%s\n" "$ADA" "$GRACE" >'"$API_STATE"' &&
    echo "access tokens of ${#ADA} and ${#GRACE} characters"'
  check "POST /api/rooms (ada), POST /api/rooms/<id>/join (grace)" '
    . '"$API_STATE"' &&
    ROOM=$(curl -fsS localhost:8080/api/rooms -H "authorization: Bearer $ADA" \
      -H "content-type: application/json" -d "{\"name\":\"general\",\"kind\":\"public\"}" |
      jq -er .id) &&
    curl -fsS -X POST "localhost:8080/api/rooms/$ROOM/join" -H "authorization: Bearer $GRACE" \
      -o /dev/null -w "room $ROOM, join %{http_code}\n" &&
    echo "ROOM=$ROOM" >>'"$API_STATE"
  check "POST /api/messages (ada), GET /api/rooms/<id>/messages (grace)" '
    . '"$API_STATE"' &&
    curl -fsS localhost:8080/api/messages -H "authorization: Bearer $ADA" \
      -H "content-type: application/json" -o /dev/null \
      -d "{\"room_id\":\"$ROOM\",\"client_msg_id\":\"hello-1\",\"content\":\"Hello, Grace!\"}" &&
    for i in $(seq 50); do
      curl -fsS "localhost:8080/api/rooms/$ROOM/messages?limit=50" -H "authorization: Bearer $GRACE" |
        jq -ec ".messages[] | select(.content == \"Hello, Grace!\") | {epoch, position, content}" &&
        exit 0
      sleep 0.2
    done; exit 1'
  local chat_ws=$ROOT/target/debug/chat-ws start=$SECONDS
  if [ ! -x "$chat_ws" ]; then
    record "check: chat-ws (grace's socket) gets message.created" SKIP 0
    echo "  skip  no $chat_ws on this machine: the WebSocket is not checked" >&2
    return 0
  fi
  check "chat-ws (grace's socket) gets message.created for a REST message" '
    . '"$API_STATE"' || exit 1
    rm -f /tmp/ws.in && mkfifo /tmp/ws.in && exec 3<>/tmp/ws.in
    '"$chat_ws"' --token "$GRACE" --room "$ROOM" <&3 >/tmp/ws.out 2>/tmp/ws.err &
    ws=$!
    trap "kill $ws 2>/dev/null" EXIT
    frames() { jq -R -c "fromjson? | select(.type == \"$1\")" /tmp/ws.out; }
    for i in $(seq 50); do [ -n "$(frames ready)" ] && break; sleep 0.2; done
    [ -n "$(frames ready)" ] || { cat /tmp/ws.err /tmp/ws.out; echo "no ready frame"; exit 1; }
    curl -fsS localhost:8080/api/messages -H "authorization: Bearer $ADA" \
      -H "content-type: application/json" -o /dev/null \
      -d "{\"room_id\":\"$ROOM\",\"client_msg_id\":\"hello-2\",\"content\":\"Seen live?\"}" || exit 1
    for i in $(seq 50); do
      frames message.created | jq -ec "select(.message.content == \"Seen live?\") |
        {type, position, content: .message.content}" && exit 0
      sleep 0.2
    done
    cat /tmp/ws.err /tmp/ws.out; echo "no message.created"; exit 1'
}

# The stage: each step needs the one before it.
stack_stage() {
  phase "stack: this machine's toolchain and build in the root" stack_mounts &&
    phase "stack: curl and make (README's prerequisites)" stack_prerequisites &&
    phase "stack: cargo build --bins compiles nothing" stack_build_is_noop &&
    phase "stack: make run until 'chat is running'" stack_start &&
    { echo "=== stack checks (README's walkthrough)" >&2; stack_checks; }
  [ -z "$make_pid" ] || phase "stack: Ctrl-C stops what make run started" stop_make_run
}

mkdir -p "$WORK"
trap cleanup EXIT
trap 'exit 130' INT TERM

# Left over from an interrupted run? Its servers, mounts, namespace and rules go first.
if ip netns list 2>/dev/null | grep -qw "$NETNS"; then
  stop_root_processes
  ip netns del "$NETNS"
fi
stop_root_processes
unmount_under "$WORK"
rm -rf --one-file-system "$OVERLAY"
ip link del "$HOST_IF" 2>/dev/null || true
drop_rules
mkdir -p "$LOGS"
# Nothing of an earlier run may show up in this one's summary.
rm -f "$LOGS"/*.log "$LOGS/make-run-banner.txt"
rm -rf "${TARGET:?}$REPORT_DIR"

begin "host tools (debootstrap, iptables)"
host_tools
end
begin "debootstrap $SUITE minbase + plain-server packages"
bootstrap
end
begin "fresh root with the repository in /src"
prepare_root
end
begin "network namespace $NETNS (NAT via $HOST_IF)"
setup_network
end

phase "deploy/local/services.sh" run_scripts first services 'deploy/local/services.sh' || true
phase "deploy/local/install-tools.sh test" \
  run_scripts first install-tools 'deploy/local/install-tools.sh test' || true

echo "=== checks" >&2
check "PostgreSQL answers (psql select 1)" \
  "psql postgres://postgres@127.0.0.1:5432/postgres -tAc 'select 1' | grep -x 1"
check "Redis answers (PING)" '
  if command -v redis-cli >/dev/null; then redis-cli -p 6379 ping | grep -x PONG; else
    exec 3<>/dev/tcp/127.0.0.1/6379; printf "PING\r\n" >&3; timeout 5 head -c 5 <&3 | grep PONG; fi'
check "RabbitMQ answers (rabbitmqctl status, AMQP header)" '
  timeout 60 rabbitmqctl status >/dev/null &&
  exec 3<>/dev/tcp/127.0.0.1/5672 && printf "AMQP\0\0\x09\x01" >&3 &&
  frame=$(timeout 5 head -c 1 <&3 | od -An -tx1 | tr -d " ") && [ "$frame" = 01 ] &&
  echo "connection.start frame on 5672"'
check "nginx -v" 'nginx -v 2>&1'
check "node >= 20.19, npm" '
  v=$(node --version) && n=$(npm --version) &&
  [ "$(printf "20.19\n%s\n" "${v#v}" | sort -V | head -n1)" = 20.19 ] && echo "node $v, npm $n"'
check "chromium --version" 'chromium --version'
check "psql, jq on PATH" 'command -v psql && command -v jq'
phase "web client: npm ci && npm run build" web_build || true
phase "second run: everything found" second_run || true
[ -n "$no_stack" ] || stack_stage || true
