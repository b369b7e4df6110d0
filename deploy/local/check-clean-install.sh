#!/usr/bin/env bash
# shellcheck disable=SC2016 # the commands run inside the root are single-quoted on purpose
# Proves the promise of `make run` / `make test` on a machine where none of the servers is
# installed: in a fresh Debian 12 (bookworm) minbase root, in a network namespace of its
# own (so the servers of this machine are out of sight), it runs deploy/local/services.sh
# and deploy/local/install-tools.sh test, then checks that PostgreSQL, Redis and RabbitMQ
# answer, that nginx, Node.js, npm and Chromium are there, that the web client builds with
# that Node.js, and that a second run finds everything. Prints PASS or FAIL, the time each
# phase took and the status lines the scripts printed. Stops what it started, removes the
# network namespace and its NAT rule, and keeps the bootstrapped Debian for the next run.
#
#   check-clean-install.sh            reuse a finished bootstrap (the root it tests is
#                                     always a fresh copy of it, with the working tree's
#                                     files in /src)
#   check-clean-install.sh --fresh    bootstrap again from the Debian mirror
#   check-clean-install.sh --remove   also delete the work directory at the end
#
# Needs root, debootstrap and iptables (installed when missing), network to the Debian
# mirror, PyPI and the npm registry, and about 3 GB in CLEAN_ROOT.
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

fresh="" remove=""
for arg in "$@"; do
  case $arg in
    --fresh) fresh=1 ;;
    --remove) remove=1 ;;
    -h | --help)
      sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (--fresh, --remove, --help)" >&2
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

# --- results ----------------------------------------------------------------------------

phase_names=() phase_results=() phase_times=()
failed=""

# record NAME RESULT SECONDS
record() {
  phase_names+=("$1")
  phase_results+=("$2")
  phase_times+=("$3")
  [ "$2" = PASS ] || failed=1
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
  stop_root_processes
  unmount_all
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

mkdir -p "$WORK"
trap cleanup EXIT
trap 'exit 130' INT TERM

# Left over from an interrupted run? Its servers, mounts, namespace and rules go first.
if ip netns list 2>/dev/null | grep -qw "$NETNS"; then
  stop_root_processes
  ip netns del "$NETNS"
fi
stop_root_processes
for m in dev sys proc; do
  umount -R "$TARGET/$m" 2>/dev/null || umount -R -l "$TARGET/$m" 2>/dev/null || true
  umount -R "$BASE/$m" 2>/dev/null || umount -R -l "$BASE/$m" 2>/dev/null || true
done
ip link del "$HOST_IF" 2>/dev/null || true
drop_rules
mkdir -p "$LOGS"
# Nothing of an earlier run may show up in this one's summary.
rm -f "$LOGS"/*.log
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
