#!/usr/bin/env bash
# A throwaway Redis Cluster on loopback: 3 masters + 3 replicas, nothing on disk but its node files.
#   test/support/redis-cluster.sh start [BASE_PORT]   prints the seeds (host:port,…) once every node says cluster_state:ok
#   test/support/redis-cluster.sh stop  [BASE_PORT]
# A short cluster-node-timeout makes a killed master's replica take over within seconds.
set -euo pipefail
command="${1:-start}"
base="${2:-${REDIS_CLUSTER_BASE_PORT:-7100}}"
dir="${TMPDIR:-/tmp}/ct-redis-cluster-$base"
ports=()
for i in 0 1 2 3 4 5; do ports+=($((base + i))); done

stop() {
  for port in "${ports[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$dir"
}

case "$command" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop [BASE_PORT]" >&2; exit 2 ;;
esac

stop
mkdir -p "$dir"
for port in "${ports[@]}"; do
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/nodes-$port.conf" \
    --cluster-node-timeout 2000 --save '' --appendonly no --dir "$dir" --daemonize yes --logfile "$dir/$port.log" \
    --maxmemory-policy noeviction
done
for port in "${ports[@]}"; do
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
done
seeds=()
for port in "${ports[@]}"; do seeds+=("127.0.0.1:$port"); done
redis-cli --cluster create "${seeds[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1
deadline=$((SECONDS + 30))
for port in "${ports[@]}"; do
  until redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; do
    if ((SECONDS >= deadline)); then echo "cluster on $base did not become ok" >&2; exit 1; fi
    sleep 0.2
  done
done
# A replica can only take over once its first sync is done: wait for every replica's link.
for port in "${ports[@]}"; do
  until redis-cli -p "$port" info replication 2>/dev/null | grep -qE 'role:master|master_link_status:up'; do
    if ((SECONDS >= deadline)); then echo "replica $port did not sync" >&2; exit 1; fi
    sleep 0.2
  done
done
(IFS=,; echo "${seeds[*]}")
