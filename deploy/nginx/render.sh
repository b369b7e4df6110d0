#!/usr/bin/env bash
# Renders nginx.conf.template (the one set of rules, shared with `make run`) for a
# container target, on stdout:
#
#   deploy/nginx/render.sh compose    > deploy/nginx/compose.conf
#   deploy/nginx/render.sh kubernetes > k8s/base/nginx/nginx.conf
#
# The rendered files are committed; deploy/check-manifests.sh fails when one differs from
# a fresh rendering, so edit the template (or the values below) and render again.
#
# Both targets run nginx as an unprivileged user on a read-only root file system:
# temporary files and the pid go to /tmp/nginx (a tmpfs / emptyDir), logs to stdout and
# stderr. Gateways are found by DNS at run time (`resolve`, nginx >= 1.27.3), so a
# restarted or rescheduled gateway is picked up without reloading nginx, and a draining
# one (no longer ready, so no longer in DNS) gets no new connections.
set -euo pipefail

TEMPLATE="$(cd "$(dirname "$0")" && pwd)/nginx.conf.template"

case "${1:-}" in
  compose)
    # docker's embedded DNS; the two gateways of deploy/compose.yaml.
    worker_processes=auto
    nofile=65536
    upstream="        zone chat_gateways 1m;
        resolver 127.0.0.11 valid=5s ipv6=off;
        server gateway-1:8080 resolve max_fails=3 fail_timeout=10s;
        server gateway-2:8080 resolve max_fails=3 fail_timeout=10s;
"
    ;;
  kubernetes)
    # The gateway's headless Service lists the ready gateway pods; nginx balances over
    # the pods themselves (least_conn), not over one ClusterIP. Two workers match the
    # container's CPU limit (`auto` would count the node's cores).
    worker_processes=2
    nofile=100000
    upstream="        zone chat_gateways 1m;
        resolver kube-dns.kube-system.svc.cluster.local valid=5s ipv6=off;
        server chat-gateway.chat.svc.cluster.local:8080 resolve max_fails=3 fail_timeout=10s;
"
    ;;
  *)
    echo "usage: $0 compose|kubernetes" >&2
    exit 2
    ;;
esac

echo "# Rendered from deploy/nginx/nginx.conf.template by deploy/nginx/render.sh $1; do not edit."
sed -e "s|@RUN_DIR@|/tmp/nginx|g" \
  -e "s|@LISTEN@|8080|g" \
  -e "s|@WORKER_PROCESSES@|$worker_processes|g" \
  -e "s|@WORKER_RLIMIT_NOFILE@|$nofile|g" \
  -e "s|@WORKER_CONNECTIONS@|$((nofile / 2))|g" \
  -e "s|@WS_CONN_PER_IP@|$((nofile / 2))|g" \
  -e "s|@ACCESS_LOG@|/dev/stdout|g" \
  -e "s|@WEB_ROOT@|/usr/share/chat-web|g" \
  "$TEMPLATE" |
  awk -v servers="$upstream" '{ if ($0 == "@UPSTREAM_SERVERS@") printf "%s", servers; else print }'
