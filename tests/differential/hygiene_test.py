"""Limits and hygiene of the RESP gateway, against a real beyond-kv: --requirepass with AUTH
(NOAUTH before it), --max-conns-per-shard, --idle-timeout-secs, pipelines of thousands of
commands, a client that sends half a frame and stalls, clients that disconnect mid-reply,
oversized protocol lengths. None of these may crash or wedge the gateway.
"""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402
from differential_test import free_ports, runfile, wait_ready  # noqa: E402

import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request


def _parent(pid):
    """The parent pid of `pid` (a /proc entry name), or None if it is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class Server:
    def __init__(self, *flags, binary=None):
        self.tmp = tempfile.mkdtemp(prefix="bkv-hyg-", dir="/tmp")
        self.port, self.http_port = free_ports(2)
        self.log_path = os.path.join(self.tmp, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary or runfile("services/beyond-kv/beyond-kv"), "--data-dir", os.path.join(self.tmp, "d"),
             "--resp-port", str(self.port), "--http-port", str(self.http_port), "--threads", "2",
             "--fsync", "never"] + list(flags),
            stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self, password=None):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = resp.Connection(self.port, timeout=2)
                if password:
                    c.call("AUTH", password)
                if c.call("PING") == ("+", "PONG"):
                    c.close()
                    return
                c.close()
            except (OSError, resp.RespError):
                pass
            time.sleep(0.05)
        raise RuntimeError(open(self.log_path).read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return code


class HygieneTest(unittest.TestCase):
    def test_requirepass(self):
        s = Server("--requirepass", "s3cret")
        try:
            s.ready("s3cret")
            c = resp.Connection(s.port)
            self.assertEqual(c.call("GET", "k"), ("-", "NOAUTH Authentication required."))
            self.assertEqual(c.call("AUTH", "wrong"),
                             ("-", "WRONGPASS invalid username-password pair or user is disabled."))
            self.assertEqual(c.call("HELLO", "3")[0], "-")
            self.assertEqual(c.call("AUTH", "default", "s3cret"), ("+", "OK"))
            self.assertEqual(c.call("SET", "k", "v"), ("+", "OK"))
            self.assertEqual(c.call("RESET"), ("+", "RESET"))
            self.assertEqual(c.call("GET", "k"), ("-", "NOAUTH Authentication required."))
            self.assertEqual(c.call("HELLO", "2", "AUTH", "default", "s3cret")[0], "*")
            self.assertEqual(c.call("GET", "k"), ("$", b"v"))
            c.close()
        finally:
            self.assertEqual(s.stop(), 0)

    def test_secrets_never_shown(self):
        """--requirepass and --http-token reach the children through their environment: no
        child's command line, no reply (INFO, CONFIG GET, CLIENT LIST), no /metrics text and
        no log line shows them (issue 14)."""
        password, token = "pw-Zq81-secret", "tok-Xv27-secret"
        s = Server("--requirepass", password, "--http-token", token)
        try:
            s.ready(password)
            c = resp.Connection(s.port)
            self.assertEqual(c.call("AUTH", password), ("+", "OK"))
            shown = []
            for args in (("INFO", "everything"), ("CONFIG", "GET", "*"),
                         ("CONFIG", "GET", "requirepass"), ("CLIENT", "LIST"),
                         ("CLIENT", "INFO")):
                shown.append(repr(c.call(*args)))
            c.close()
            req = urllib.request.Request("http://127.0.0.1:%d/metrics" % s.http_port,
                                         headers={"Authorization": "Bearer " + token})
            deadline = time.time() + 30  # the HTTP gateway may start after the RESP one
            while True:
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        self.assertEqual(r.status, 200)
                        shown.append(r.read().decode())
                    break
                except urllib.error.URLError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
            children = [p for p in os.listdir("/proc") if p.isdigit()
                        and _parent(p) == s.proc.pid]
            self.assertEqual(len(children), 4)  # 2 shards and 2 gateways
            for pid in children:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    shown.append(f.read().decode(errors="replace"))
            s.log.flush()
            with open(s.log_path, errors="replace") as f:
                shown.append(f.read())
        finally:
            self.assertEqual(s.stop(), 0)
        for text in shown:
            self.assertNotIn(password, text)
            self.assertNotIn(token, text)

    def test_client_list_and_kill_across_io_threads(self):
        s = Server()
        try:
            s.ready()
            conns = [resp.Connection(s.port) for _ in range(6)]  # spread over both I/O threads
            ids = []
            for i, c in enumerate(conns):
                self.assertEqual(c.call("CLIENT", "SETNAME", "c%d" % i), ("+", "OK"))
                ids.append(c.call("CLIENT", "ID")[1])
            t, listing = conns[0].call("CLIENT", "LIST")
            self.assertEqual(t, "$")
            lines = listing.decode().strip().split("\n")
            for i, cid in enumerate(ids):
                self.assertTrue(any(l.startswith("id=%d " % cid) and " name=c%d " % i in l
                                    for l in lines), listing)
            t, one = conns[0].call("CLIENT", "LIST", "ID", str(ids[3]))
            self.assertEqual(len(one.decode().strip().split("\n")), 1)
            self.assertEqual(conns[0].call("CLIENT", "KILL", "ID", str(ids[5])), (":", 1))
            with self.assertRaises((resp.RespError, OSError)):
                conns[5].call("PING")
            self.assertEqual(conns[0].call("CLIENT", "KILL", "ID", str(ids[0])), (":", 0))  # SKIPME
            self.assertEqual(conns[0].call("CLIENT", "KILL", "127.0.0.1:1"),
                             ("-", "ERR No such client"))
            self.assertEqual(conns[1].call("PING"), ("+", "PONG"))
            for c in conns:
                c.close()
        finally:
            self.assertEqual(s.stop(), 0)

    def test_max_connections_and_idle_timeout(self):
        s = Server("--max-conns-per-shard", "3", "--idle-timeout-secs", "1")
        try:
            s.ready()
            time.sleep(0.5)  # let the gateway see the readiness probes' connections close
            conns = [resp.Connection(s.port) for _ in range(6)]  # 3 per shard x 2 shards
            for c in conns:
                self.assertEqual(c.call("PING"), ("+", "PONG"))
            extra = resp.Connection(s.port)
            self.assertEqual(extra.read_reply(), ("-", "ERR max number of clients reached"))
            extra.close()
            time.sleep(2.5)  # idle clients are closed
            for c in conns:
                with self.assertRaises((resp.RespError, OSError)):
                    c.call("PING")
                c.close()
            c = resp.Connection(s.port)
            self.assertEqual(c.call("PING"), ("+", "PONG"))
            c.close()
        finally:
            self.assertEqual(s.stop(), 0)

    def test_stalls_disconnects_and_big_pipelines_do_not_wedge(self):
        s = Server()
        try:
            s.ready()
            # Half a frame, then silence: others are served meanwhile.
            stalled = resp.Connection(s.port)
            stalled.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
            other = resp.Connection(s.port)
            self.assertEqual(other.call("SET", "x", "1"), ("+", "OK"))
            # A declared 500 MB bulk that never comes does not allocate it or block anyone.
            huge = resp.Connection(s.port)
            huge.send_raw(b"*2\r\n$3\r\nGET\r\n$500000000\r\nab")
            self.assertEqual(other.call("GET", "x"), ("$", b"1"))
            # Oversized lengths are protocol errors, as in Redis.
            bad = resp.Connection(s.port)
            bad.send_raw(b"*2\r\n$3\r\nGET\r\n$600000000\r\n")
            self.assertEqual(bad.read_reply(), ("-", "ERR Protocol error: invalid bulk length"))
            # Clients that send a big pipeline and hang up before reading the replies.
            for _ in range(20):
                q = socket.create_connection(("127.0.0.1", s.port))
                q.sendall(b"".join(resp.Connection.encode(("SET", "p%d" % i, "v" * 100))
                                   for i in range(2000)) +
                          b"".join(resp.Connection.encode(("GET", "p%d" % i)) for i in range(2000)))
                q.close()
            # A pipeline of 20,000 commands answered in order.
            cmds = [("INCR", "counter") for _ in range(20000)]
            replies = other.pipeline(cmds)
            self.assertEqual(replies[-1], (":", 20000))
            self.assertEqual([r[1] for r in replies[:5]], [1, 2, 3, 4, 5])
            for c in (stalled, huge, bad, other):
                c.close()
            fresh = resp.Connection(s.port)
            self.assertEqual(fresh.call("GET", "counter"), ("$", b"20000"))
            fresh.close()
        finally:
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
