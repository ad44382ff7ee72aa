#!/usr/bin/env bash
# Runs the image's entrypoint the way the pod runs it, without a container runtime:
#   - the image's layout: the four binaries and the entrypoint in /usr/local/bin, data in /data;
#   - uid/gid 10001 with the fsGroup's supplementary group, no capabilities, no_new_privs
#     (runAsUser, allowPrivilegeEscalation: false, drop ALL);
#   - every mount read-only except /data (readOnlyRootFilesystem; /data as the kubelet leaves
#     a volume with fsGroup 10001: root-owned, group 10001, mode 2775);
#   - its own network namespace (the pod's), env = the rendered dev ConfigMap and Secret,
#     args = the StatefulSet's ["serve"].
# As root this uses `unshare --mount --net` and bind mounts (nothing outside changes, but an
# empty /data mount point is created and removed if absent). Not as root (or if unshare is
# refused) it falls back to running as the current user on free ports.
# Checks: /readyz 200 "ready", RESP with the Secret's password, /metrics needs the token,
# io_uring in use, files only under /data, SIGTERM -> exit 0 within the grace period.
# Usage: entrypoint_test.sh BAZEL_BIN RENDERED_DEV_YAML
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bazel_bin=$1
rendered=$2
work=$(mktemp -d /tmp/bkv-ep-XXXXXX)
chmod 0755 "$work"
made_data=0
cleanup() {
  [ -n "${pid:-}" ] && kill -KILL "$pid" 2>/dev/null
  [ "$made_data" = 1 ] && rmdir /data 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/bin" "$work/data"
for b in services/beyond-kv/beyond-kv services/kv-shard/kv-shard gateway/kv-resp-gateway \
         gateway/http/kv-http-gateway; do
  install -m 0755 "$bazel_bin/$b" "$work/bin/"
done
install -m 0755 "$root/k8s/image/entrypoint.sh" "$work/bin/beyond-kv-entrypoint"
node "$root/k8s/validate/validate.js" env "$rendered" >"$work/env"
grace=$(awk '/terminationGracePeriodSeconds:/ {print $2; exit}' "$rendered")
password=$(sed -n 's/^KV_REQUIREPASS=//p' "$work/env")
token=$(sed -n 's/^KV_HTTP_TOKEN=//p' "$work/env")

mode=pod
if [ "$(id -u)" -ne 0 ] || ! unshare --mount --net true 2>/dev/null; then mode=fallback; fi

# The part that runs inside the pod's namespaces (or directly, in fallback mode).
cat >"$work/pod.sh" <<'INNER'
set -uo pipefail
work=$1 mode=$2 password=$3 token=$4 grace=$5
ok() { echo "PASS entrypoint: $1"; }
ko() { echo "FAIL entrypoint: $1"; [ -n "${2:-}" ] && echo "$2" | tail -15 | sed 's/^/    /'; }
http() {  # http PATH [TOKEN] -> "status body"
  /usr/bin/python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]))
if len(sys.argv) > 3: req.add_header("Authorization", "Bearer " + sys.argv[3])
try:
    r = urllib.request.urlopen(req, timeout=2); print(r.status, r.read().decode()[:40000])
except urllib.error.HTTPError as e: print(e.code, e.read().decode()[:200])
except Exception as e: print(0, e)
PY
}
set -a; . "$work/env"; set +a
# The container's stderr, collected outside it: on a tmpfs of its own (a file open for writing
# on / would keep / from turning read-only). Root-owned 0755: uid 10001 cannot write there.
mkdir -p "$work/log"
[ "$mode" = pod ] && mount -t tmpfs -o size=16m,mode=0755 tmpfs "$work/log"
exec 3>"$work/log/server.log"
if [ "$mode" = pod ]; then
  /usr/bin/python3 -c '
import fcntl, socket, struct
s = socket.socket(); ifr = struct.pack("16sH", b"lo", 0x1 | 0x8)  # IFF_UP | IFF_LOOPBACK
fcntl.ioctl(s.fileno(), 0x8914, ifr)'                              # SIOCSIFFLAGS
  chown 0:10001 "$work/data" && chmod 2775 "$work/data"   # what fsGroup does to a fresh volume
  mount --bind "$work/data" /data
  mount --bind "$work/bin" /usr/local/bin
  # readOnlyRootFilesystem: every mount read-only but the volume.
  awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r mp; do
    case "$mp" in /proc|/proc/*|/dev|/dev/*|/data|"$work/log") continue ;; esac  # rw in a pod too
    mount -o remount,bind,ro "$mp" 2>>"$work/log/mount.err" || true
  done
  writable=""
  for d in / /etc /tmp /usr/local/bin /var/tmp /root "$work"; do
    touch "$d/.bkv-rw-probe" 2>/dev/null && { writable+=" $d"; rm -f "$d/.bkv-rw-probe"; }
  done
  if [ -z "$writable" ]; then ok "root filesystem read-only except /data"; else ko "root filesystem read-only except /data" "writable:$writable; $(cat "$work/log/mount.err" 2>/dev/null)"; fi
  run_as=(setpriv --reuid=10001 --regid=10001 --groups=10001 --inh-caps=-all --bounding-set=-all --no-new-privs)
  data=/data; bin=/usr/local/bin
else
  free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  KV_RESP_PORT=$(free_port); KV_HTTP_PORT=$(free_port); KV_DATA_DIR=$work/data; KV_BIN_DIR=$work/bin
  export KV_RESP_PORT KV_HTTP_PORT KV_DATA_DIR KV_BIN_DIR
  echo "note: fallback mode (not root or no unshare): current user, writable root, free ports"
  run_as=(); data=$work/data; bin=$work/bin
fi
start=$(date +%s)
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $(cat "$work/env" | grep -v -E '^KV_(RESP_PORT|HTTP_PORT|DATA_DIR)=') \
  KV_RESP_PORT="$KV_RESP_PORT" KV_HTTP_PORT="$KV_HTTP_PORT" KV_DATA_DIR="${KV_DATA_DIR}" \
  ${KV_BIN_DIR:+KV_BIN_DIR=$KV_BIN_DIR} \
  "${run_as[@]}" "$bin/beyond-kv-entrypoint" serve 2>&3 &
pid=$!
ready=""
for _ in $(seq 1 300); do
  ready=$(http "$KV_HTTP_PORT" /readyz)
  [ "${ready%% *}" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if [ "$ready" = "200 ready" ]; then ok "/readyz answers 200 ready ($(( $(date +%s) - start )) s)"; else ko "/readyz answers 200 ready" "got [$ready]; $(tail -5 "$work/log/server.log")"; fi
got=$(redis-cli -p "$KV_RESP_PORT" -a "$password" --no-auth-warning SET k8s ok 2>&1; redis-cli -p "$KV_RESP_PORT" -a "$password" --no-auth-warning GET k8s 2>&1; redis-cli -p "$KV_RESP_PORT" GET k8s 2>&1)
if [ "$got" = "$(printf 'OK\nok\nNOAUTH Authentication required.')" ]; then ok "RESP on KV_RESP_PORT with the Secret's password (and NOAUTH without)"; else ko "RESP on KV_RESP_PORT with the Secret's password" "$got"; fi
m1=$(http "$KV_HTTP_PORT" /metrics); t_m2=$(date +%s%N); m2=$(http "$KV_HTTP_PORT" /metrics "$token"); t_m2=$(( ($(date +%s%N) - t_m2) / 1000000 ))
if [ "${m1%% *}" = 401 ] && [ "${m2%% *}" = 200 ] && echo "$m2" | grep -q '^beyondkv_shard_up{shard="1"} 1'; then ok "/metrics: 401 without the token, 200 with it, both shards up"; else ko "/metrics with the Secret's token" "${m1:0:80} / ${m2:0:80} ... $(echo "$m2" | grep -E '^beyondkv_shard_up' | tr '\n' ' ')(${t_m2} ms); log: $(grep -E 'metrics:|kv-shard|link|^[EWF][0-9]' "$work/log/server.log" | tail -12)"; fi
if grep -q "io_uring unavailable" "$work/log/server.log" || ! grep -q "kv-shard\[1\]" "$work/log/server.log"; then ko "shards use io_uring" "$(grep -E 'io_uring|kv-shard' "$work/log/server.log" | head -3)"; else ok "shards use io_uring (no 'io_uring unavailable' in their log)"; fi
owner=$(stat -c '%u %a' "$data/run" 2>&1)
if [ "$mode" = fallback ] || [ "$owner" = "10001 700" ]; then ok "$data/run (sockets) created by uid 10001, mode 0700 ($owner)"; else ko "$data/run created by uid 10001, mode 0700" "$owner"; fi
t0=$(date +%s)
kill -TERM "$pid"
for _ in $(seq 1 $((grace * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then ko "SIGTERM: exit within terminationGracePeriodSeconds ($grace s)"; kill -KILL "$pid"; wait "$pid" 2>/dev/null
else wait "$pid"; code=$?; if [ "$code" = 0 ]; then ok "SIGTERM: clean exit 0 in $(( $(date +%s) - t0 )) s (grace $grace s)"; else ko "SIGTERM: clean exit" "exit $code; $(tail -5 "$work/log/server.log")"; fi; fi
if [ "$mode" = pod ]; then  # anything of uid 10001 left in this pod's network namespace?
  left=""
  for p in $(pgrep -u 10001); do
    [ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/self/ns/net)" ] && left+=" $p"
  done
  if [ -z "$left" ]; then ok "no process left running after SIGTERM"; else
    ko "no process left running after SIGTERM" "$(ps -o pid,cmd -p ${left// /,})"; kill -KILL $left; fi
fi
INNER

if [ "$mode" = pod ]; then
  if [ ! -e /data ]; then mkdir /data && made_data=1; fi
  unshare --mount --net --propagation private bash "$work/pod.sh" "$work" pod "$password" "$token" "$grace"
else
  bash "$work/pod.sh" "$work" fallback "$password" "$token" "$grace"
fi
