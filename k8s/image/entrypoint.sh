#!/bin/sh
# beyond-kv container entrypoint. The pod (and tests/k8s/entrypoint_test.sh) runs it as the
# non-root user kv (10001) with a read-only root filesystem; only the data volume (/data by
# default, KV_DATA_DIR) and /tmp are writable. Configuration comes from KV_* variables (a
# ConfigMap; KV_REQUIREPASS / KV_HTTP_TOKEN from a Secret): see `beyond-kv --help`.
#   entrypoint.sh                 -> beyond-kv serve (every setting from KV_*)
#   entrypoint.sh --threads 4 ... -> beyond-kv serve --threads 4 ...
#   entrypoint.sh kv-log list /data/shard-0   -> runs that command instead (debugging)
set -eu
: "${KV_DATA_DIR:=/data}"
: "${KV_BIN_DIR:=/usr/local/bin}"
export KV_DATA_DIR KV_BIN_DIR

if [ "$(id -u)" = 0 ]; then
  echo "entrypoint: refusing to run as root (runAsNonRoot: use uid 10001)" >&2
  exit 1
fi
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ] && [ "$1" != serve ]; then
  exec "$@"
fi
[ "${1:-}" = serve ] && shift
if ! [ -w "$KV_DATA_DIR" ] && ! mkdir -p "$KV_DATA_DIR" 2>/dev/null; then
  echo "entrypoint: data directory $KV_DATA_DIR is not writable by uid $(id -u)" \
       "(mount the volume there; securityContext.fsGroup 10001)" >&2
  exit 1
fi
# exec: beyond-kv is PID 1's only process, gets SIGTERM from the kubelet and stops the
# gateways, then the shards (services/beyond-kv/README.md, "Shutdown").
exec "$KV_BIN_DIR/beyond-kv" serve "$@"
