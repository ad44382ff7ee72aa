# shellcheck shell=bash
# Helpers shared by the benchmark scripts in tools/bench (sourced, not run).

# free_port: an ephemeral TCP port on 127.0.0.1 that is free now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT [PID]: waits (up to 60 s) until a Redis-protocol server on PORT answers PING
# with PONG; fails early if PID (default: $server_pid, if set) has exited.
wait_port() {
  local port=$1 pid=${2:-${server_pid:-}}
  for _ in $(seq 1 600); do
    [[ $(redis-cli -p "$port" PING 2>/dev/null) == PONG ]] && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# stop_pid PID: SIGTERM, SIGKILL after 30 s, then reaps it. Nothing if PID is empty.
stop_pid() {
  [[ -n ${1:-} ]] || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
