"""REVISION / SETREV compare-and-set and BGREWRITEAOF against a real beyond-kv
(wire-protocol.md: revisions and compare-and-set)."""
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402
from hygiene_test import Server  # noqa: E402


class RevisionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.ready()

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def conn(self):
        return resp.Connection(self.server.port)

    def test_revision_rises_with_every_write(self):
        c = self.conn()
        self.assertEqual(c.call("REVISION", "rev:k"), (":", -2))
        self.assertEqual(c.call("SET", "rev:k", "a"), ("+", "OK"))
        r1 = c.call("REVISION", "rev:k")[1]
        self.assertGreater(r1, 0)
        for cmd in (("SET", "rev:k", "b"), ("APPEND", "rev:k", "c"), ("EXPIRE", "rev:k", "100"),
                    ("PERSIST", "rev:k"), ("SETRANGE", "rev:k", "0", "z")):
            c.call(*cmd)
            r2 = c.call("REVISION", "rev:k")[1]
            self.assertGreater(r2, r1, cmd)
            r1 = r2
        # A failed write leaves it unchanged.
        self.assertEqual(c.call("SET", "rev:k", "x", "NX"), ("$", None))
        self.assertEqual(c.call("REVISION", "rev:k")[1], r1)
        c.close()

    def test_setrev_conflicts_and_creates(self):
        c = self.conn()
        self.assertEqual(c.call("SETREV", "rev:c", "v", "5"), ("-", "CONFLICT revision mismatch"))
        self.assertEqual(c.call("EXISTS", "rev:c"), (":", 0))
        t, r1 = c.call("SETREV", "rev:c", "v1", "0")
        self.assertEqual(t, ":")
        self.assertEqual(c.call("SETREV", "rev:c", "v2", "0"), ("-", "CONFLICT revision mismatch"))
        t, r2 = c.call("SETREV", "rev:c", "v2", str(r1), "EX", "100")
        self.assertEqual(t, ":")
        self.assertGreater(r2, r1)
        self.assertEqual(c.call("REVISION", "rev:c"), (":", r2))
        self.assertEqual(c.call("SETREV", "rev:c", "stale", str(r1)),
                         ("-", "CONFLICT revision mismatch"))
        self.assertEqual(c.call("GET", "rev:c"), ("$", b"v2"))
        self.assertGreater(c.call("TTL", "rev:c")[1], 90)
        self.assertEqual(c.call("SETREV", "rev:c", "v", "x")[0], "-")
        self.assertEqual(c.call("SETREV", "rev:c", "v", "1", "EX", "0"),
                         ("-", "ERR invalid expire time in 'setrev' command"))
        self.assertEqual(c.call("SETREV", "rev:c", "v", "1", "PX", "5"), ("-", "ERR syntax error"))
        c.close()

    def test_two_clients_incrementing_with_cas(self):
        successes = [0, 0]

        def worker(i):
            c = self.conn()
            for _ in range(200):
                while True:
                    t, rev = c.call("REVISION", "rev:counter")
                    value = c.call("GET", "rev:counter")[1]
                    n = int(value) if value else 0
                    rev = 0 if rev == -2 else rev
                    reply = c.call("SETREV", "rev:counter", str(n + 1), str(rev))
                    if reply[0] == ":":
                        successes[i] += 1
                        break
                    self.assertEqual(reply, ("-", "CONFLICT revision mismatch"))
            c.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        c = self.conn()
        self.assertEqual(c.call("GET", "rev:counter"), ("$", str(sum(successes)).encode()))
        self.assertEqual(sum(successes), 400)
        c.close()

    def test_ten_concurrent_setrevs_one_wins(self):
        c = self.conn()
        c.call("SET", "rev:race", "start")
        rev = c.call("REVISION", "rev:race")[1]
        results = [None] * 10
        barrier = threading.Barrier(10)

        def worker(i):
            w = self.conn()
            barrier.wait()
            results[i] = w.call("SETREV", "rev:race", "winner-%d" % i, str(rev))
            w.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wins = [i for i, r in enumerate(results) if r[0] == ":"]
        self.assertEqual(len(wins), 1, results)
        for i, r in enumerate(results):
            if i not in wins:
                self.assertEqual(r, ("-", "CONFLICT revision mismatch"))
        self.assertEqual(c.call("GET", "rev:race"), ("$", ("winner-%d" % wins[0]).encode()))
        c.close()

    def test_revisions_are_exact_in_javascript_and_causal_across_shards(self):
        # One client writing keys on every shard one after another: each revision exceeds the
        # previous whatever shard wrote it (the gateway passes the highest revision it has
        # handed out with every batch), and each fits a JavaScript number exactly.
        c = self.conn()
        prev, shards = 0, set()
        for i in range(1000):
            self.assertEqual(c.call("SET", "causal:%d" % i, "v"), ("+", "OK"))
            t, rev = c.call("REVISION", "causal:%d" % i)
            self.assertEqual(t, ":")
            self.assertLessEqual(rev, 2 ** 53 - 1)
            self.assertGreater(rev, prev, "key %d" % i)
            shards.add(rev & 0x3F)  # the low 6 bits name the shard
            prev = rev
        self.assertEqual(shards, {0, 1})
        c.close()

    def test_pwatch_since_a_revision_read_on_one_shard_sees_a_later_write_on_another(self):
        # The etcd pattern: read, then watch from the revision read. A write made after the
        # read, on another shard, must be above that revision, so the watch delivers it.
        c = self.conn()
        c.call("SET", "etcd:a", "1")
        shard_a = c.call("REVISION", "etcd:a")[1] & 0x3F
        other = None
        for i in range(100):  # a key another shard owns (a revision's low 6 bits name it)
            c.call("SET", "etcd:b%d" % i, "x")
            if c.call("REVISION", "etcd:b%d" % i)[1] & 0x3F != shard_a:
                other = "etcd:b%d" % i
                break
        self.assertIsNotNone(other)
        for _ in range(50):
            rev_read = c.call("REVISION", "etcd:a")[1]
            self.assertEqual(c.call("SET", other, "after-the-read"), ("+", "OK"))
            self.assertGreater(c.call("REVISION", other)[1], rev_read)
        w = resp.Connection(self.server.port)
        self.assertEqual(w.call("HELLO", "3")[0], "%")
        w.sock.settimeout(10)
        rev_read = c.call("REVISION", "etcd:a")[1]
        self.assertEqual(c.call("SET", other, "last"), ("+", "OK"))
        w.send_raw(resp.Connection.encode(("PWATCH", other, "SINCE", str(rev_read))))
        # The write is delivered (in the replay, or just after "ready" while the idle shard's
        # watermark catches up with it); a revision below SINCE would never come.
        seen = []
        while (b"set", other.encode(), b"last") not in seen:
            t, items = w.read_reply()  # times out (fails) if it never comes
            f = tuple(v for _, v in items)
            if t == ">" and f[1] != b"ready":
                self.assertGreater(int(f[4]), rev_read)
                seen.append(f[1:4])
        w.close()
        c.close()

    def test_bgrewriteaof_starts_reclaim(self):
        c = self.conn()
        self.assertEqual(c.call("BGREWRITEAOF"),
                         ("+", "Background append only file rewriting started"))
        c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
