"""A shard dies while clients pipeline through the gateway (issue 12, "What it must show"):
SIGKILL shard 0 of a real beyond-kv while four clients each keep a pipeline of 64 commands
(SET and GET over keys of both shards) in flight. Then:

- every reply is either the command's normal reply or `-ERR shard 0 unavailable: ...`
  (commands in flight on the dead shard's lane fail at once; none is resent, none answers
  anything else), and at least one command saw that error;
- no client hangs: every pipeline is answered within 10 s (a socket timeout fails the test);
- the gateway is not restarted (its pid is unchanged): only the shard is;
- once the supervisor has restarted the shard, the gateway reconnects by itself and the next
  500 commands over keys of both shards all succeed, on the connections that saw the errors.

The transport is the default (the shard link) unless KV_SHARD_TRANSPORT says otherwise
(tests/BUILD.bazel runs it on both).
Run by Bazel: bazel test //tests:link_failover_test. Takes ~5 s.
"""
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "differential"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402
from crash_test import CrashServer, shard_pid, wait_until, all_shards_serve  # noqa: E402

CLIENTS = 4
PIPELINE = 64
KEYS = 200


def gateway_pid(supervisor_pid):
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == supervisor_pid and argv0.endswith("kv-resp-gateway"):
            return int(name)
    return None


class Client(threading.Thread):
    def __init__(self, port, number, stop):
        super().__init__(daemon=True)
        self.conn = resp.Connection(port, timeout=10)
        self.number, self.stop = number, stop
        self.replies = 0
        self.unavailable = 0
        self.unexpected = []
        self.failure = None

    def run(self):
        i = 0
        try:
            while not self.stop.is_set():
                commands = []
                for _ in range(PIPELINE):
                    key = "k%d" % (i % KEYS)
                    if i % 2:
                        commands.append(("SET", key, "v%d-%d" % (self.number, i)))
                    else:
                        commands.append(("GET", key))
                    i += 1
                for cmd, reply in zip(commands, self.conn.pipeline(commands)):
                    self.replies += 1
                    kind, value = reply
                    if kind == "-":
                        if value.startswith("ERR shard 0 unavailable"):
                            self.unavailable += 1
                        else:
                            self.unexpected.append((cmd, reply))
                    elif cmd[0] == "SET" and reply != ("+", "OK"):
                        self.unexpected.append((cmd, reply))
                    elif cmd[0] == "GET" and kind != "$":
                        self.unexpected.append((cmd, reply))
        except Exception as e:  # a timeout is a hang: report it
            self.failure = e


class LinkFailoverTest(unittest.TestCase):
    def test_killed_shard_fails_in_flight_commands_and_comes_back(self):
        server = CrashServer("--threads", "2", "--fsync", "never", prefix="bkv-lf-")
        try:
            wait_until(lambda: all_shards_serve(server.port), 60, "the server to serve")
            gateway = wait_until(lambda: gateway_pid(server.proc.pid), 10, "the gateway")
            stop = threading.Event()
            clients = [Client(server.port, n, stop) for n in range(CLIENTS)]
            for c in clients:
                c.start()
            wait_until(lambda: all(c.replies > 2 * PIPELINE for c in clients), 20,
                       "the clients to get going")
            victim = shard_pid(server.data_dir, 0)
            self.assertIsNotNone(victim)
            # Shards run under SCHED_BATCH (kv-shard --sched-policy, default batch); the
            # gateway does not.
            self.assertEqual(os.sched_getscheduler(victim), os.SCHED_BATCH)
            self.assertEqual(os.sched_getscheduler(gateway), os.SCHED_OTHER)
            before = sum(c.replies for c in clients)
            os.kill(victim, signal.SIGKILL)
            # Keep pipelining through the outage and the restart.
            wait_until(lambda: sum(c.unavailable for c in clients) > 0, 20,
                       "a command to see 'shard 0 unavailable'")
            new_pid = wait_until(
                lambda: (lambda p: p if p not in (None, victim) else None)(
                    shard_pid(server.data_dir, 0)), 30, "shard 0 to be restarted")
            self.assertNotEqual(new_pid, victim)
            wait_until(lambda: all_shards_serve(server.port), 30, "shard 0 to serve again")
            self.assertEqual(os.sched_getscheduler(new_pid), os.SCHED_BATCH)
            time.sleep(0.5)
            stop.set()
            for c in clients:
                c.join(timeout=30)
                self.assertFalse(c.is_alive(), "a client hung")
                self.assertIsNone(c.failure, "client %d: %r" % (c.number, c.failure))
                self.assertEqual(c.unexpected[:5], [], "unexpected replies")
            self.assertGreater(sum(c.replies for c in clients), before)
            print("replies %d (%d before the kill), 'shard 0 unavailable' %d" % (
                sum(c.replies for c in clients), before, sum(c.unavailable for c in clients)),
                file=sys.stderr)
            self.assertEqual(gateway_pid(server.proc.pid), gateway, "the gateway restarted")

            # The same connections work again, over keys of both shards.
            for c in clients:
                commands = []
                for k in range(125):
                    commands.append(("SET", "after%d-%d" % (c.number, k), "x"))
                replies = c.conn.pipeline(commands)
                self.assertEqual(replies, [("+", "OK")] * len(commands))
                c.conn.close()
            self.assertIn("shard 0", server.log_text())
        finally:
            self.assertEqual(server.terminate(), 0)
            server.log.close()


    def test_shard_runs_long_batches_under_sched_other(self):
        # The default --shard-sched-policy adaptive (services/kv-shard/sched_adapter.h): the
        # shard starts under SCHED_BATCH; batches that take long to apply (MGETs of 1000
        # keys: far above 16 us on any machine) move its engine thread to SCHED_OTHER.
        server = CrashServer("--threads", "1", "--fsync", "never", prefix="bkv-sp-")
        try:
            wait_until(lambda: all_shards_serve(server.port), 60, "the server to serve")
            pid = shard_pid(server.data_dir, 0)
            self.assertEqual(os.sched_getscheduler(pid), os.SCHED_BATCH)
            conn = resp.Connection(server.port, timeout=10)
            keys = ["big%d" % i for i in range(1000)]
            mset = ["MSET"]
            for k in keys:
                mset += [k, "v"]
            self.assertEqual(conn.call(*mset), ("+", "OK"))

            def policies():
                out = set()
                for tid in os.listdir("/proc/%d/task" % pid):
                    try:
                        out.add(os.sched_getscheduler(int(tid)))
                    except OSError:
                        pass
                return out

            def drive_and_check():
                replies = conn.pipeline([["MGET"] + keys] * 8)
                self.assertEqual(len(replies), 8)
                return os.SCHED_OTHER in policies()
            wait_until(drive_and_check, 30, "the engine thread to leave SCHED_BATCH")
            # Threads other than the engine thread keep SCHED_BATCH.
            self.assertIn(os.SCHED_BATCH, policies())
            conn.close()
        finally:
            self.assertEqual(server.terminate(), 0)
            server.log.close()


if __name__ == "__main__":
    unittest.main()
