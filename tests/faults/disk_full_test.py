"""Disk full (issue 14): beyond-kv on a data directory whose filesystem the test makes small
(a 6 MiB tmpfs in a private mount namespace: `unshare --mount`, root only). Writes fail with
a clear error once it is full, reads go on, nothing written before is damaged, and after
FLUSHDB + BGREWRITEAOF (reclaim) frees the space, writes work again.

Run by Bazel (tests/BUILD.bazel): bazel test //tests:disk_full_test.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import json
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "differential"))
import resp  # noqa: E402
from differential_test import free_ports, runfile  # noqa: E402

VALUE = b"v" * 65536


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            self.fail("needs root and unshare(1) to mount a small tmpfs (scripts/test.sh runs "
                      "as root, as CI does)")
        self.tmp = tempfile.mkdtemp(prefix="bkv-full-", dir="/tmp")
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.mnt)
        self.port, self.http_port = free_ports(2)
        self.log = open(os.path.join(self.tmp, "server.log"), "w")
        script = ('mount -t tmpfs -o size=6m tmpfs "$1" && shift && exec "$@"')
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             self.mnt, runfile("services/beyond-kv/beyond-kv"),
             "--data-dir", os.path.join(self.mnt, "data"), "--resp-port", str(self.port),
             "--http-port", str(self.http_port), "--threads", "2", "--fsync", "always"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = resp.Connection(self.port, timeout=2)
                ok = c.call("PING") == ("+", "PONG")
                c.close()
                if ok:
                    return
            except (OSError, resp.RespError):
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.fail("beyond-kv did not start on a small tmpfs: " + self.log_text())

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_text(self):
        self.log.flush()
        with open(os.path.join(self.tmp, "server.log"), errors="replace") as f:
            return f.read()[-4000:]

    def test_writes_fail_clearly_reads_go_on_and_writes_resume_after_reclaim(self):
        c = resp.Connection(self.port, timeout=30)
        written, error = [], None
        for i in range(400):  # 400 x 64 KiB = 25 MiB: far past 6 MiB
            reply = c.call("SET", "full:%d" % i, VALUE + b"%d" % i)
            if reply[0] == "-":
                error = reply[1]
                break
            self.assertEqual(reply, ("+", "OK"))
            written.append(i)
        self.assertIsNotNone(error, "6 MiB never filled up")
        print("disk full after %d values of 64 KiB: -%s" % (len(written), error))
        self.assertIn("No space left on device", error)
        # Further writes keep failing with the same clear error, the server keeps serving.
        self.assertIn("No space left on device", c.call("SET", "more", VALUE)[1])
        self.assertEqual(c.call("PING"), ("+", "PONG"))
        # The HTTP gateway answers 507 with the contract's error body (not a retried 5xx).
        put = urllib.request.Request("http://127.0.0.1:%d/v1/kv/http-more" % self.http_port,
                                     data=VALUE, method="PUT")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(put, timeout=10)
        self.assertEqual(caught.exception.code, 507)
        body = json.loads(caught.exception.read())
        self.assertEqual(body["error"]["code"], "insufficient_storage")
        self.assertIn("No space left on device", body["error"]["message"])
        # Everything acknowledged reads back intact; the failed writes left nothing.
        for i in written:
            self.assertEqual(c.call("GET", "full:%d" % i), ("$", VALUE + b"%d" % i), i)
        self.assertEqual(c.call("EXISTS", "more"), (":", 0))
        self.assertEqual(c.call("DBSIZE"), (":", len(written)))
        # Free the space: FLUSHDB writes a small flush record, reclaim drops the old segments.
        self.assertEqual(c.call("FLUSHDB"), ("+", "OK"))
        self.assertEqual(c.call("BGREWRITEAOF")[0], "+")
        deadline = time.time() + 30
        while time.time() < deadline and c.call("SET", "after", VALUE)[0] != "+":
            time.sleep(0.2)
        self.assertEqual(c.call("GET", "after"), ("$", VALUE))
        for i in range(20):  # and not just one: the space is really back
            self.assertEqual(c.call("SET", "again:%d" % i, VALUE), ("+", "OK"))
        c.close()
        self.assertNotIn("Check failed", self.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
