"""WATCH / PWATCH over RESP3 push frames against a real beyond-kv (wire-protocol.md):
frame shapes, initial values, UNWATCH, gap-free replay across disconnects with SINCE, the
cut-off of a watcher that stops reading, and an RESP2 refusal."""
import os
import random
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402
from hygiene_test import Server  # noqa: E402


def watcher(port, db=0):
    c = resp.Connection(port)
    assert c.call("HELLO", "3")[0] == "%"
    if db:
        assert c.call("SELECT", str(db)) == ("+", "OK")
    return c


def frame(reply):
    """A push frame as a tuple of bytes, e.g. (b"watch", b"set", b"k", b"v", b"123")."""
    t, items = reply
    assert t == ">", reply
    return tuple(v for _, v in items)


class WatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.ready()

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def test_resp2_pwatch_is_refused_and_watch_is_the_optimistic_lock(self):
        c = resp.Connection(self.server.port)
        t, msg = c.call("PWATCH", "p")
        self.assertEqual(t, "-")
        self.assertIn("RESP3", msg)
        # On RESP2, WATCH is Redis's MULTI/EXEC lock (redis-py, ioredis): +OK, no frames.
        self.assertEqual(c.call("WATCH", "k"), ("+", "OK"))
        self.assertEqual(c.call("UNWATCH"), ("+", "OK"))
        c.close()

    def test_an_open_pwatch_does_not_keep_idle_shards_awake(self):
        # Watermarks come on demand (a session holding events back asks the shards it waits
        # for), so an idle server with a PWATCH open stays idle: the shards once woke every
        # 1 ms for it (~3,800 context switches a second each; ~60 now, their 100 ms tick and
        # gRPC's own timers). A server of its own: no background work left by other tests.
        server = Server()
        try:
            server.ready()
            shards = []
            for pid in os.listdir("/proc"):
                try:
                    with open("/proc/%s/stat" % pid) as f:
                        stat = f.read()
                except OSError:
                    continue
                comm = stat[stat.index("(") + 1:stat.rindex(")")]
                parent = int(stat[stat.rindex(")") + 2:].split()[1])
                if comm == "kv-shard" and parent == server.proc.pid:
                    shards.append(int(pid))
            self.assertEqual(len(shards), 2)

            def switches(pid):  # context switches of every thread of the process
                total = 0
                for task in os.listdir("/proc/%d/task" % pid):
                    try:
                        with open("/proc/%d/task/%s/status" % (pid, task)) as f:
                            for line in f:
                                if line.split(":")[0] in ("voluntary_ctxt_switches",
                                                          "nonvoluntary_ctxt_switches"):
                                    total += int(line.split()[1])
                    except OSError:
                        pass  # a thread that ended meanwhile
                return total

            w = watcher(server.port)
            w.send_raw(resp.Connection.encode(("PWATCH", "idle:")))
            self.assertEqual(frame(w.read_reply()), (b"watch", b"ready"))
            time.sleep(0.5)
            before = [switches(pid) for pid in shards]
            t0 = time.time()
            time.sleep(2)
            rates = [(switches(pid) - b) / (time.time() - t0) for pid, b in zip(shards, before)]
            for rate in rates:
                self.assertLess(rate, 600, "context switches per second of the shards: %s" % rates)
            # And the subscription still delivers, in revision order, across both shards.
            writer = resp.Connection(server.port)
            for i in range(20):
                self.assertEqual(writer.call("SET", "idle:%d" % i, "v%d" % i), ("+", "OK"))
            got = [frame(w.read_reply()) for _ in range(20)]
            self.assertEqual(sorted(f[2] for f in got), sorted(b"idle:%d" % i for i in range(20)))
            revisions = [int(f[4]) for f in got]
            self.assertEqual(revisions, sorted(revisions))
            writer.close()
            w.close()
        finally:
            self.assertEqual(server.stop(), 0)

    def test_key_watch_frames_and_unwatch(self):
        w = resp.Connection(self.server.port)
        writer = resp.Connection(self.server.port)
        writer.call("SELECT", "1")
        writer.call("SET", "wk", "v1")
        rev1 = writer.call("REVISION", "wk")[1]
        self.assertEqual(w.call("HELLO", "3")[0], "%")
        w.call("SELECT", "1")
        w.send_raw(resp.Connection.encode(("WATCH", "wk", "wk-missing")))
        self.assertEqual(frame(w.read_reply()), (b"watch", b"set", b"wk", b"v1", str(rev1).encode()))
        self.assertEqual(frame(w.read_reply()), (b"watch", b"ready"))
        # The connection still serves commands while watching.
        self.assertEqual(w.call("PING"), ("+", "PONG"))
        writer.call("SET", "wk", "v2")
        rev2 = writer.call("REVISION", "wk")[1]
        self.assertEqual(frame(w.read_reply()), (b"watch", b"set", b"wk", b"v2", str(rev2).encode()))
        writer.call("SET", "wk-missing", "x")
        self.assertEqual(frame(w.read_reply())[:4], (b"watch", b"set", b"wk-missing", b"x"))
        writer.call("DEL", "wk")
        f = frame(w.read_reply())
        self.assertEqual(f[:4], (b"watch", b"del", b"wk", b""))
        self.assertGreater(int(f[4]), rev2)
        writer.call("SET", "other", "not watched")
        # UNWATCH that ends subscriptions sends no reply (wire-protocol.md: no frame after
        # it; the public SDK treats any as an error): the next reply is PING's.
        w.send_raw(resp.Connection.encode(("UNWATCH",)))
        writer.call("SET", "wk", "after unwatch")
        self.assertEqual(w.call("PING"), ("+", "PONG"))  # no frame came in between
        self.assertEqual(w.call("UNWATCH"), ("+", "OK"))  # nothing left to end: +OK
        w.close()
        writer.close()

    def test_unwatch_pipelined_before_ready_answers(self):
        # Found by tests/fuzz/command_fuzzer.py: an UNWATCH that cancelled a subscription
        # before its `ready` left WATCH's reply slot open, and every later reply of the
        # connection waited for it forever.
        for cmds in ([("WATCH", "pk1")], [("PWATCH", "pp")],
                     [("WATCH", "pk1", "pk2", "SINCE", "1"), ("PWATCH", "pp", "")]):
            w = watcher(self.server.port)
            w.sock.settimeout(5)
            w.send_raw(b"".join(resp.Connection.encode(c)
                                for c in cmds + [("UNWATCH",), ("PING",)]))
            reply = w.read_reply()
            while reply[0] == ">":  # `ready` (and the initial values) may come before UNWATCH
                reply = w.read_reply()
            self.assertEqual(reply, ("+", "PONG"))
            self.assertEqual(w.call("UNWATCH"), ("+", "OK"))  # nothing left to end
            self.assertEqual(w.call("PING"), ("+", "PONG"))
            w.close()

    def test_reset_ends_subscriptions(self):
        # RESET goes back to a fresh RESP2 connection: no push may follow it.
        w = watcher(self.server.port)
        writer = resp.Connection(self.server.port)
        w.sock.settimeout(5)
        w.send_raw(resp.Connection.encode(("PWATCH", "rs:")))
        self.assertEqual(frame(w.read_reply()), (b"watch", b"ready"))
        self.assertEqual(w.call("RESET"), ("+", "RESET"))
        writer.call("SET", "rs:k", "after reset")
        self.assertEqual(w.call("PING"), ("+", "PONG"))  # not a push frame
        self.assertEqual(w.call("UNWATCH"), ("+", "OK"))  # nothing left to end
        w.close()
        writer.close()

    def test_pwatch_and_unwatch_in_multi_keep_exec_whole(self):
        # Found by tests/fuzz/command_fuzzer.py: PWATCH queued in MULTI subscribed inside EXEC
        # and UNWATCH there ended subscriptions silently; each left EXEC's array an element
        # short, so the client read the next command's reply as EXEC's.
        w = watcher(self.server.port)
        w.sock.settimeout(5)
        self.assertEqual(w.call("MULTI"), ("+", "OK"))
        self.assertEqual(w.call("PWATCH", "mp"), ("-", "ERR PWATCH inside MULTI is not allowed"))
        self.assertEqual(w.call("EXEC"), ("*", []))
        self.assertEqual(w.call("ECHO", "after"), ("$", b"after"))
        w.send_raw(resp.Connection.encode(("PWATCH", "mp")))
        self.assertEqual(frame(w.read_reply()), (b"watch", b"ready"))
        self.assertEqual(w.call("MULTI"), ("+", "OK"))
        self.assertEqual(w.call("UNWATCH"), ("+", "QUEUED"))
        self.assertEqual(w.call("PING"), ("+", "QUEUED"))
        self.assertEqual(w.call("EXEC"), ("*", [("+", "OK"), ("+", "PONG")]))
        self.assertEqual(w.call("ECHO", "after"), ("$", b"after"))
        w.close()

    def test_expiry_arrives_as_del(self):
        w = watcher(self.server.port, db=2)
        writer = resp.Connection(self.server.port)
        writer.call("SELECT", "2")
        w.send_raw(resp.Connection.encode(("PWATCH", "exp:")))
        self.assertEqual(frame(w.read_reply()), (b"watch", b"ready"))
        writer.call("SET", "exp:k", "v", "PX", "200")
        self.assertEqual(frame(w.read_reply())[:4], (b"watch", b"set", b"exp:k", b"v"))
        self.assertEqual(frame(w.read_reply())[:4], (b"watch", b"del", b"exp:k", b""))
        w.close()
        writer.close()

    def test_since_below_replay_floor_or_garbage(self):
        w = watcher(self.server.port, db=4)
        self.assertEqual(w.call("WATCH", "k", "SINCE", "x")[0], "-")
        writer = resp.Connection(self.server.port)
        writer.call("SELECT", "4")
        for i in range(50):
            writer.call("SET", "floor:k", str(i))
        first = writer.call("REVISION", "floor:k")[1]
        # History before a reclaim cannot be replayed: reclaim rewrote those segments.
        runs = lambda: int(dict(
            line.split(":", 1) for line in writer.call("INFO", "persistence")[1].decode().split("\r\n")
            if ":" in line)["reclaim_runs"])
        before = runs()
        self.assertEqual(writer.call("BGREWRITEAOF")[0], "+")
        deadline = time.time() + 30
        while runs() == before and time.time() < deadline:
            time.sleep(0.05)
        self.assertGreater(runs(), before)
        # Every shard and namespace reclaims in turn: wait until the count settles.
        last, stable_since = runs(), time.time()
        while time.time() - stable_since < 1.0 and time.time() < deadline:
            time.sleep(0.1)
            if runs() != last:
                last, stable_since = runs(), time.time()
        t, msg = w.call("WATCH", "floor:k", "SINCE", "1")
        self.assertEqual(t, "-")
        self.assertIn("replay floor", msg)
        floor = int(msg.rsplit(" ", 1)[1])
        self.assertGreaterEqual(floor, first)
        # From the floor on, replay works.
        writer.call("SET", "floor:k", "after")
        w.send_raw(resp.Connection.encode(("WATCH", "floor:k", "SINCE", str(floor))))
        self.assertEqual(frame(w.read_reply())[:4], (b"watch", b"set", b"floor:k", b"after"))
        self.assertEqual(frame(w.read_reply()), (b"watch", b"ready"))
        w.close()
        writer.close()

    def test_gap_free_replay_across_disconnects(self):
        db, n = 7, 20000
        writer = resp.Connection(self.server.port)
        writer.call("SELECT", str(db))
        writer.call("FLUSHDB")
        # Replay starts after a marker written once the namespace is empty.
        self.assertEqual(writer.call("SET", "gf-start", "x"), ("+", "OK"))
        start_rev = writer.call("REVISION", "gf-start")[1]
        expected = []
        commands = []
        for i in range(n):
            key = "gf:%d" % (i % 997)
            if i % 10 == 9:
                prev = "gf:%d" % ((i - 1) % 997)
                commands.append(("DEL", prev))
                expected.append((b"del", prev.encode(), b""))
            else:
                commands.append(("SET", key, "m%d" % i))
                expected.append((b"set", key.encode(), ("m%d" % i).encode()))

        def write_all():
            for j in range(0, n, 500):
                writer.pipeline(commands[j:j + 500])

        t = threading.Thread(target=write_all)
        t.start()
        received, revisions = [], []
        last = start_rev
        rng = random.Random(7)
        deadline = time.time() + 120
        while len(received) < n and time.time() < deadline:
            w = watcher(self.server.port, db=db)
            w.sock.settimeout(20)
            w.send_raw(resp.Connection.encode(("PWATCH", "gf:", "SINCE", str(last))))
            budget = rng.randint(1, 4000)
            try:
                while budget > 0 and len(received) < n:
                    f = frame(w.read_reply())
                    if f[1] == b"ready":
                        continue
                    rev = int(f[4])
                    self.assertGreater(rev, last, "out of order or duplicate")
                    last = rev
                    received.append(f[1:4])
                    revisions.append(rev)
                    budget -= 1
            finally:
                w.close()  # drop the connection mid-stream
        t.join()
        self.assertEqual(len(received), n)
        # Exactly the mutations written, each once; commands of one pipeline run on several
        # shards at once, so only each key's own sequence has a fixed order.
        self.assertEqual(sorted(received), sorted(expected))
        per_key = {}
        for kind, key, value in expected:
            per_key.setdefault(key, []).append((kind, value))
        got_per_key = {}
        for kind, key, value in received:
            got_per_key.setdefault(key, []).append((kind, value))
        self.assertEqual(got_per_key, per_key)
        self.assertEqual(revisions, sorted(set(revisions)))  # increasing, no duplicates
        writer.close()

    def test_slow_watcher_is_cut_off_and_writers_go_on(self):
        w = watcher(self.server.port, db=3)
        watcher_id = w.call("CLIENT", "ID")[1]
        w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        w.send_raw(resp.Connection.encode(("PWATCH", "slow:")))
        self.assertEqual(frame(w.read_reply()), (b"watch", b"ready"))
        # The watcher stops reading; a writer pushes ~64 MB of changes.
        writer = resp.Connection(self.server.port)
        writer.call("SELECT", "3")
        value = "x" * 65536
        t0 = time.time()
        for j in range(0, 1000, 50):
            replies = writer.pipeline([("SET", "slow:%d" % i, value) for i in range(j, j + 50)])
            self.assertTrue(all(r == ("+", "OK") for r in replies))
        elapsed = time.time() - t0
        self.assertLess(elapsed, 60)
        # The gateway closed the slow watcher: it leaves CLIENT LIST. (Reading what was sent
        # until EOF through a 4 KiB receive window took ~100 s of delayed ACKs: the test's own
        # cost, not the server's.)
        gone = False
        deadline = time.time() + 20
        while time.time() < deadline and not gone:
            clients = writer.call("CLIENT", "LIST")[1].decode()
            gone = ("id=%d " % watcher_id) not in clients
            if not gone:
                time.sleep(0.05)
        self.assertTrue(gone, "the slow watcher is still connected")
        w.close()
        # The gateway stays healthy, and its memory bounded.
        self.assertEqual(writer.call("GET", "slow:999")[1], value.encode())
        gateway_rss_kb = 0
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read()
                if b"kv-resp-gateway" in cmd and self.server.tmp.encode() in cmd:
                    with open("/proc/%s/status" % pid) as f:
                        for line in f:
                            if line.startswith("VmRSS:"):
                                gateway_rss_kb = int(line.split()[1])
            except OSError:
                pass
        self.assertGreater(gateway_rss_kb, 0)
        self.assertLess(gateway_rss_kb, resp.rss_limit_kb(256 * 1024))
        writer.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
