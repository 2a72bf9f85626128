#!/usr/bin/env bash
# Runs a command with a fresh local Redis Cluster (see redis-cluster.sh) in TEST_REDIS_CLUSTER_NODES,
# then stops the cluster whatever the command's outcome; exits with the command's status.
#   test/support/on-redis-cluster.sh npx vitest run test/queue.test.ts …
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
base="${REDIS_CLUSTER_BASE_PORT:-7100}"
seeds="$("$here/redis-cluster.sh" start "$base")"
trap '"$here/redis-cluster.sh" stop "$base"' EXIT
echo "Redis Cluster up: $seeds"
TEST_REDIS_CLUSTER_NODES="$seeds" "$@"
