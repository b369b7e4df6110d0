#!/usr/bin/env bash
# The Redis Cluster runs of `make test`: on a local cluster of three masters with a
# replica each (deploy/local/redis-cluster.sh), the bus's sequencer and room-event suites
# and the gateway's real-time suite (messaging, catch-up, presence, typing, read state,
# failures) run again, as every service does with REDIS_CLUSTER set; then, alone, the
# failover test kills the master serving a room while a user sends and checks that
# nothing acknowledged is lost and nothing is stored or delivered twice. The cluster is
# removed at the end (KEEP_REDIS_CLUSTER=1 keeps it for another run).
set -euo pipefail
cd "$(dirname "$0")/../.."

CARGO=${CARGO:-cargo}
seeds=$(deploy/local/redis-cluster.sh start)
export CHAT_TEST_REDIS_CLUSTER=$seeds
echo "Redis Cluster: $seeds"

suites='binary_id(chat-bus::api) | binary_id(chat-gateway::realtime)'
$CARGO nextest run --workspace --locked --no-fail-fast --test-threads 6 -E "$suites"
$CARGO nextest run --workspace --locked --no-fail-fast --run-ignored only \
  -E 'binary_id(chat-gateway::realtime) & test(/^failover::/)'

[ -n "${KEEP_REDIS_CLUSTER:-}" ] || deploy/local/redis-cluster.sh stop
