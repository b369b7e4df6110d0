# Installing from the distribution's packages and saying what was done, for services.sh
# and install-tools.sh. Debian and Ubuntu (apt-get); as root, or through sudo.
# shellcheck shell=bash

# Where each dependency's one-line status goes besides the terminal (`make run` prints
# them all again once the stack answers).
DEPENDENCY_REPORT=${DEPENDENCY_REPORT:-/dev/null}

# report NAME STATUS: one line per dependency: found, started, installed, or where it is.
report() {
  printf '  %-11s %s\n' "$1" "$2" | tee -a "$DEPENDENCY_REPORT"
}

# as_root COMMAND...: runs COMMAND as root (directly, or through sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    echo "need root to run: $* (run as root, or install sudo)" >&2
    return 1
  fi
}

apt_updated=""

# apt_install PACKAGE...: installs the packages (noninteractive, no recommends).
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "cannot install $*: this is not a Debian-like system (no apt-get)." >&2
    echo "Install them yourself, or point the stack at existing servers (README, \"Elsewhere\")." >&2
    return 1
  fi
  echo "installing $* (Debian packages)" >&2
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# port_open PORT [HOST]: something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# wait_for NAME PORT [HOST]: waits up to two minutes for the port to answer.
wait_for() {
  local name=$1 port=$2 host=${3:-127.0.0.1}
  for _ in $(seq 1 120); do
    port_open "$port" "$host" && return 0
    sleep 1
  done
  echo "$name did not come up on $host:$port" >&2
  return 1
}
