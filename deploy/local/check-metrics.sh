#!/usr/bin/env bash
# Every metric the alert rules (deploy/prometheus/alerts.yaml) and the dashboard
# (deploy/grafana/chat.json) name is really exported by a running stack: run by e2e.sh
# against its stack, after its tests. Metrics of other exporters (`up`, `rabbitmq_*`) are
# not ours to check.
#
#   deploy/local/check-metrics.sh URL...   (each a /metrics endpoint)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
exported=$(mktemp)
trap 'rm -f "$exported"' EXIT
answered=0
for url in "$@"; do
  # A process the tests stopped (a gateway) is skipped: its peers export the same names.
  if body=$(curl -fsS "$url" 2>/dev/null); then
    awk '!/^#/ && NF { sub(/[{ ].*/, "", $1); print $1 }' <<<"$body" >>"$exported"
    answered=$((answered + 1))
  else
    echo "(no answer from $url: skipped)"
  fi
done
[ "$answered" -gt 0 ] || { echo "no metrics endpoint answered" >&2; exit 1; }
sort -u -o "$exported" "$exported"

named=$(cat "$ROOT/deploy/prometheus/alerts.yaml" "$ROOT/deploy/grafana/chat.json" |
  grep -oE '\b(chat|auth|http_server|process)_[a-z_]+' | sort -u)
missing=()
for name in $named; do
  grep -qx "$name" "$exported" || missing+=("$name")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "named by the alerts or the dashboard but exported by no service: ${missing[*]}" >&2
  exit 1
fi
echo "the $(wc -w <<<"$named") metrics the alerts and the dashboard name are all exported"
