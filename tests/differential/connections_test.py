"""Client connections as Redis's maxclients: beyond-kv accepts 10,000 concurrent clients by
default (--max-clients, CONFIG GET maxclients), answers each of them, refuses one more with
Redis's "-ERR max number of clients reached", and serves again once they are gone."""
import os
import resource
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402
from hygiene_test import Server  # noqa: E402

CLIENTS = 10000
PING = resp.Connection.encode(("PING",))


def raise_nofile(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise resp.RespError("connection closed after %r" % data)
        data += chunk
    return data


class ConnectionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise_nofile(CLIENTS + 500)
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < CLIENTS + 100:
            raise unittest.SkipTest("RLIMIT_NOFILE %d is too low for %d clients" % (soft, CLIENTS))

    def open_clients(self, port, n):
        socks = []
        try:
            for _ in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(30)
                s.connect(("127.0.0.1", port))
                socks.append(s)
        except BaseException:
            for s in socks:
                s.close()
            raise
        return socks

    def test_ten_thousand_idle_clients_by_default(self):
        s = Server()
        socks = []
        try:
            s.ready()
            c = resp.Connection(s.port)
            self.assertEqual(c.call("CONFIG", "GET", "maxclients"),
                             ("*", [("$", b"maxclients"), ("$", b"10000")]))
            c.close()
            time.sleep(0.3)  # the readiness probes' connections are closed by now
            start = time.time()
            socks = self.open_clients(s.port, CLIENTS)
            # Pipelined across sockets: every PING written, then every reply read.
            for sock in socks:
                sock.sendall(PING)
            bad = [i for i, sock in enumerate(socks) if read_exactly(sock, 7) != b"+PONG\r\n"]
            self.assertEqual(bad, [])
            # One more client than maxclients is refused with Redis's error.
            extra = resp.Connection(s.port)
            self.assertEqual(extra.read_reply(), ("-", "ERR max number of clients reached"))
            extra.close()
            for sock in socks:
                sock.close()
            socks = []
            # The gateway notices the closes and serves new clients again.
            deadline = time.time() + 30
            while True:
                try:
                    c = resp.Connection(s.port)
                    try:
                        if c.call("PING") == ("+", "PONG"):
                            break
                    finally:
                        c.close()
                except (OSError, resp.RespError):
                    if time.time() > deadline:
                        raise
                time.sleep(0.1)
            fresh = resp.Connection(s.port)
            self.assertEqual(fresh.call("SET", "k", "v"), ("+", "OK"))
            self.assertEqual(fresh.call("GET", "k"), ("$", b"v"))
            fresh.close()
            self.assertLess(time.time() - start, 60)
        finally:
            for sock in socks:
                sock.close()
            self.assertEqual(s.stop(), 0)

    def test_max_clients_flag_and_deprecated_alias(self):
        for flags, want in ((("--max-clients", "5"), 5), (("--max-conns-per-shard", "3"), 6),
                            (("--max-clients", "4", "--max-conns-per-shard", "3"), 4)):
            s = Server(*flags)
            try:
                s.ready()
                c = resp.Connection(s.port)
                self.assertEqual(c.call("CONFIG", "GET", "maxclients"),
                                 ("*", [("$", b"maxclients"), ("$", str(want).encode())]), flags)
                c.close()
                time.sleep(0.3)
                conns = [resp.Connection(s.port) for _ in range(want)]
                for conn in conns:
                    self.assertEqual(conn.call("PING"), ("+", "PONG"), flags)
                extra = resp.Connection(s.port)
                self.assertEqual(extra.read_reply(), ("-", "ERR max number of clients reached"),
                                 flags)
                extra.close()
                for conn in conns:
                    conn.close()
            finally:
                self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
