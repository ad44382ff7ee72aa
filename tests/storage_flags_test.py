"""beyond-kv's storage flags reach its shards and do what they say, against a real server:
--segment-bytes seals small segments, --reclaim-sealed-threshold / --reclaim-interval-secs
start automatic reclaim (no BGREWRITEAOF), and --reclaim-sealed-threshold 0 leaves garbage
until a reclaim is requested. Until 2026-12-05 beyond-kv accepted the reclaim flags and
ignored them (the shards ran with their defaults) and had no --segment-bytes.
"""
import glob
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "differential"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import resp  # noqa: E402
from big_data_test import info  # noqa: E402
from crash_test import CrashServer  # noqa: E402

KEYS = 100
VALUE = 1024
ROUNDS = 30  # 3 MiB written over 100 KiB of live data: ~24 segments of 64 KiB per shard


def persistence(conn):
    return info(conn, "persistence")


def segment_files_bytes(data_dir):
    total = 0
    for path in glob.glob(os.path.join(data_dir, "shard-*", "ns-*", "*.log")):
        try:
            total += os.path.getsize(path)
        except FileNotFoundError:  # removed by a reclaim meanwhile
            pass
    return total


class StorageFlagsTest(unittest.TestCase):
    def run_server(self, *flags):
        server = CrashServer("--threads", "2", "--segment-bytes", "65536", *flags,
                             prefix="bkv-flags-")
        self.addCleanup(server.stop)
        server.ready()
        conn = resp.Connection(server.port, timeout=30)
        self.addCleanup(conn.close)
        for r in range(ROUNDS):
            replies = conn.pipeline([("SET", "k%03d" % i, bytes([r]) * VALUE)
                                     for i in range(KEYS)])
            self.assertEqual(set(replies), {("+", "OK")})
        return server, conn

    def check_values(self, conn):
        replies = conn.pipeline([("GET", "k%03d" % i) for i in range(KEYS)])
        self.assertEqual(set(replies), {("$", bytes([ROUNDS - 1]) * VALUE)})

    def test_reclaim_starts_by_itself_at_the_given_threshold(self):
        server, conn = self.run_server("--reclaim-sealed-threshold", "2",
                                       "--reclaim-interval-secs", "0")
        deadline = time.monotonic() + 30
        while True:
            p = persistence(conn)
            # Both shards reclaimed, down to a few segments of live data.
            if p["reclaim_runs"] >= 2 and segment_files_bytes(server.data_dir) < 1 << 20:
                break
            self.assertLess(time.monotonic(), deadline,
                            "no automatic reclaim: %s, %d bytes of segments"
                            % (p, segment_files_bytes(server.data_dir)))
            time.sleep(0.1)
        self.check_values(conn)

    def test_threshold_zero_waits_for_bgrewriteaof(self):
        server, conn = self.run_server("--reclaim-sealed-threshold", "0",
                                       "--reclaim-interval-secs", "0")
        time.sleep(2)  # what an automatic reclaim would have needed (above: well under 1 s)
        p = persistence(conn)
        self.assertEqual(p["reclaim_runs"], 0, p)
        self.assertGreater(p["sealed_segments"], 20, p)  # 64 KiB segments
        written = segment_files_bytes(server.data_dir)
        self.assertGreater(written, 2 << 20)
        self.assertEqual(conn.call("BGREWRITEAOF")[0], "+")
        deadline = time.monotonic() + 30
        while segment_files_bytes(server.data_dir) > written // 4:
            self.assertLess(time.monotonic(), deadline, persistence(conn))
            time.sleep(0.1)
        self.check_values(conn)


if __name__ == "__main__":
    unittest.main()
