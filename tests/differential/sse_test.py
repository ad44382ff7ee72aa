"""SSE watch of the HTTP gateway (GET /v1/watch/{key}, GET /v1/watch?prefix=) against a real
beyond-kv on loopback, spoken to over raw sockets (docs/http.md "SSE watch",
wire-protocol.md): event shapes and ids, initial values and replay before `ready`, prefix
filtering, expiry, heartbeats, gap-free resumption with Last-Event-ID across dropped
connections, cancellation on disconnect, errors before and after the stream starts, a slow
reader cut off, and interoperation with RESP3 WATCH."""
import base64
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402
from differential_test import free_ports, runfile  # noqa: E402
import hygiene_test  # noqa: E402

HEARTBEAT_MS = 300


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def quote(key):
    """Percent-encodes every byte outside RFC 3986's unreserved set."""
    if isinstance(key, str):
        key = key.encode()
    return "".join(chr(c) if chr(c).isalnum() and c < 128 or chr(c) in "-._~" else "%%%02X" % c
                   for c in key)


class Server(hygiene_test.Server):
    """beyond-kv with both gateways on ephemeral ports, in its own temporary directory
    (stop() as hygiene_test's)."""

    def __init__(self, *flags, env=None):
        self.tmp = tempfile.mkdtemp(prefix="bkv-sse-", dir="/tmp")
        self.resp_port, self.http_port = free_ports(2)
        self.log_path = os.path.join(self.tmp, "server.log")
        self.log = open(self.log_path, "w")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [runfile("services/beyond-kv/beyond-kv"), "--data-dir", os.path.join(self.tmp, "d"),
             "--resp-port", str(self.resp_port), "--http-port", str(self.http_port),
             "--threads", "3", "--fsync", "never",
             "--sse-heartbeat-ms", str(HEARTBEAT_MS)] + list(flags),
            stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    c = resp.Connection(self.resp_port, timeout=2)
                    ok = c.call("PING") == ("+", "PONG")
                    c.close()
                    if ok:
                        return
            except (OSError, http.client.HTTPException, resp.RespError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("beyond-kv did not start")

    def request(self, method, target, body=None, headers=None):
        """(status, headers dict with lower-case names, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def put(self, key, value, ns=0, query="", headers=None):
        status, h, _ = self.request("PUT", "/v1/kv/%s?ns=%d%s" % (quote(key), ns, query),
                                    body=value, headers=headers)
        assert status == 204, status
        return int(h["x-kv-revision"])

    def delete(self, key, ns=0):
        status, _, _ = self.request("DELETE", "/v1/kv/%s?ns=%d" % (quote(key), ns))
        assert status == 204, status

    def metric(self, name):
        _, _, body = self.request("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)

    def gateway_pid(self):
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"kv-http-gateway" in cmd and self.tmp.encode() in cmd:
                return int(pid)
        return None

    def gateway_status(self, field):
        with open("/proc/%d/status" % self.gateway_pid()) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0



class StreamEnded(Exception):
    pass


class Sse:
    """One GET of a watch route on a raw socket: the status and headers, then SSE events
    decoded from the chunked body as they arrive."""

    def __init__(self, port, target, headers=None, timeout=10, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        lines = ["GET %s HTTP/1.1" % target, "Host: 127.0.0.1", "Accept: text/event-stream"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.raw = b""
        self.body = b""
        self.ended = False
        while b"\r\n\r\n" not in self.raw:
            self._recv()
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        head = head.decode().split("\r\n")
        self.status = int(head[0].split()[1])
        self.headers = {}
        for line in head[1:]:
            k, v = line.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        if not self.chunked:
            n = int(self.headers.get("content-length", "0"))
            while len(self.raw) < n:
                self._recv()
            self.body, self.raw = self.raw[:n], b""
            self.ended = True

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise StreamEnded("connection closed")
        self.raw += data

    def _decode_chunks(self):
        while not self.ended:
            line_end = self.raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self.raw[:line_end].split(b";")[0], 16)
            if size == 0:
                self.ended = True
                return
            if len(self.raw) < line_end + 2 + size + 2:
                return
            self.body += self.raw[line_end + 2:line_end + 2 + size]
            self.raw = self.raw[line_end + 2 + size + 2:]

    def json(self):
        return json.loads(self.body)

    def next(self):
        """The next SSE block as a dict: 'id', 'event', 'data' (parsed JSON) and 'comment'
        as present. Raises StreamEnded at the end of the stream."""
        self._decode_chunks()
        while b"\n\n" not in self.body:
            if self.ended:
                raise StreamEnded("stream ended")
            self._recv()
            self._decode_chunks()
        block, self.body = self.body.split(b"\n\n", 1)
        event = {}
        for line in block.decode().split("\n"):
            if line.startswith(":"):
                event["comment"] = line[1:].strip()
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            event[field] = json.loads(value) if field == "data" else value
        return event

    def next_event(self):
        """The next block that is not a heartbeat."""
        while True:
            e = self.next()
            if "comment" not in e:
                return e

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def resp3(port, db=0):
    c = resp.Connection(port)
    assert c.call("HELLO", "3")[0] == "%"
    if db:
        assert c.call("SELECT", str(db)) == ("+", "OK")
    return c


class SseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def watch(self, target, **kw):
        return Sse(self.server.http_port, target, **kw)

    def test_key_watch_initial_value_events_and_ready(self):
        s = self.server
        key = "k/1 ?%é"
        rev = s.put(key, b"\x00\xffv1", ns=1, headers={"X-KV-TTL": "100",
                                                       "X-KV-Metadata": '{"owner":"x"}'})
        w = self.watch("/v1/watch/%s?ns=1" % quote(key))
        self.assertEqual(w.status, 200)
        self.assertTrue(w.headers["content-type"].startswith("text/event-stream"))
        e = w.next_event()
        self.assertEqual(e["id"], str(rev))
        d = e["data"]
        self.assertEqual((d["type"], d["key"], d["revision"]), ("set", key, rev))
        self.assertEqual(unb64url(d["value"]), b"\x00\xffv1")
        self.assertNotIn("=", d["value"])
        self.assertTrue(0 < d["ttl"] <= 100 and 0 < d["ttl_ms"] <= 100000)
        self.assertEqual(d["metadata"], {"owner": "x"})
        self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
        rev2 = s.put(key, b"v2", ns=1)
        s.put("other", b"not watched", ns=1)
        s.put(key, b"v2", ns=2)  # another namespace
        e = w.next_event()
        self.assertEqual(e["id"], str(rev2))
        self.assertEqual(e["data"], {"type": "set", "key": key, "value": b64url(b"v2"),
                                     "revision": rev2})
        s.delete(key, ns=1)
        e = w.next_event()
        self.assertEqual(e["data"]["type"], "del")
        self.assertEqual(e["data"]["key"], key)
        self.assertGreater(e["data"]["revision"], rev2)
        self.assertEqual(e["id"], str(e["data"]["revision"]))
        self.assertEqual(set(e["data"]), {"type", "key", "revision"})
        w.close()

    def test_missing_key_starts_with_ready_and_non_utf8_keys(self):
        s = self.server
        key = b"nu\xff\xfe"
        w = self.watch("/v1/watch/%s?ns=3" % quote(key))
        self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
        rev = s.put(key, b"x", ns=3)
        d = w.next_event()["data"]
        self.assertEqual(d["revision"], rev)
        self.assertEqual(unb64url(d["key_base64url"]), key)
        w.close()

    def test_prefix_watch_gets_only_its_keys_and_expiry(self):
        s = self.server
        w = self.watch("/v1/watch?ns=4&prefix=%s" % quote("p/"))
        self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
        got = []
        expected = []
        for i in range(30):  # spread over every shard
            expected.append(("set", "p/%d" % i, s.put("p/%d" % i, b"v", ns=4)))
            s.put("q/%d" % i, b"v", ns=4)
            s.put("p/%d" % i, b"v", ns=5)
        s.put("p/exp", b"e", ns=4, query="&ttl_ms=200")
        for _ in range(30):
            d = w.next_event()["data"]
            got.append((d["type"], d["key"], d["revision"]))
        self.assertEqual(sorted(got), sorted(expected))
        self.assertEqual([r for _, _, r in got], sorted(r for _, _, r in got))
        d = w.next_event()["data"]
        self.assertEqual((d["type"], d["key"]), ("set", "p/exp"))
        d = w.next_event()["data"]
        self.assertEqual((d["type"], d["key"]), ("del", "p/exp"))  # expired
        w.close()

    def test_since_replay_then_ready_then_live(self):
        s = self.server
        base = s.put("r:start", b"x", ns=6)
        revs = [s.put("r:%d" % i, b"v%d" % i, ns=6) for i in range(10)]
        s.delete("r:3", ns=6)
        w = self.watch("/v1/watch?ns=6&prefix=r:&since=%d" % base)
        got = []
        while True:
            e = w.next_event()
            if e["data"]["type"] == "ready":
                break
            got.append(e)
        self.assertEqual(sorted((int(e["id"]), e["data"]["key"]) for e in got if
                                e["data"]["type"] == "set"),
                         sorted(zip(revs, ["r:%d" % i for i in range(10)])))
        self.assertEqual(got[-1]["data"], {"type": "del", "key": "r:3",
                                           "revision": int(got[-1]["id"])})
        self.assertEqual(len(got), 11)
        ids = [int(e["id"]) for e in got]
        self.assertEqual(ids, sorted(ids))
        live = s.put("r:live", b"l", ns=6)
        self.assertEqual(w.next_event()["data"]["revision"], live)
        w.close()
        # Last-Event-ID wins over since (EventSource resends its original URL on reconnect).
        w = self.watch("/v1/watch?ns=6&prefix=r:&since=%d" % base,
                       headers={"Last-Event-ID": got[7]["id"]})
        for e in got[8:]:
            self.assertEqual(w.next_event(), e)
        self.assertEqual(w.next_event()["data"]["revision"], live)
        self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
        w.close()
        # A key watch with since replays that key only, and no initial value.
        w = self.watch("/v1/watch/r:5?ns=6&since=%d" % revs[4])
        self.assertEqual(w.next_event()["data"]["revision"], revs[5])
        self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
        w.close()

    def test_heartbeat_while_idle(self):
        w = self.watch("/v1/watch?ns=7&prefix=hb:")
        self.assertEqual(w.next(), {"data": {"type": "ready"}})
        t0 = time.time()
        self.assertEqual(w.next(), {"comment": "heartbeat"})
        self.assertEqual(w.next(), {"comment": "heartbeat"})
        elapsed = time.time() - t0
        self.assertGreater(elapsed, 1.5 * HEARTBEAT_MS / 1000)
        self.assertLess(elapsed, 10)
        w.close()

    def test_errors_before_the_stream(self):
        s = self.server
        for target, status in [("/v1/watch/k?ns=16", 400), ("/v1/watch/k?since=-1", 400),
                               ("/v1/watch/k?since=x", 400), ("/v1/watch/k?prefix=a", 400),
                               ("/v1/watch?bogus=1", 400), ("/v1/watch/bad%zz", 400),
                               ("/v1/watch/", 400)]:
            w = self.watch(target)
            self.assertEqual(w.status, status, target)
            self.assertEqual(w.json()["error"]["code"], "invalid_request", target)
            w.close()
        w = self.watch("/v1/watch/k", headers={"Last-Event-ID": "12x"})
        self.assertEqual(w.status, 400)
        w.close()
        status, h, body = s.request("HEAD", "/v1/watch/k")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/event-stream"))
        status, _, body = s.request("POST", "/v1/watch/k", body=b"")
        self.assertEqual(status, 405)

    def test_since_below_replay_floor_is_410_gone(self):
        s = self.server
        for i in range(50):
            s.put("floor:k", b"%d" % i, ns=8)
        first = s.put("floor:k", b"last", ns=8)
        c = resp.Connection(self.server.resp_port)

        def runs():
            info = c.call("INFO", "persistence")[1].decode()
            return int(dict(l.split(":", 1) for l in info.split("\r\n") if ":" in l)["reclaim_runs"])

        before = runs()
        self.assertEqual(c.call("BGREWRITEAOF")[0], "+")
        deadline = time.time() + 30
        while True:
            w = self.watch("/v1/watch/floor:k?ns=8&since=1")
            if w.status == 410 or time.time() > deadline:
                break
            w.close()
            time.sleep(0.1)
        self.assertGreater(runs(), before)
        self.assertEqual(w.status, 410)
        err = w.json()["error"]
        self.assertEqual(err["code"], "gone")
        self.assertIn("replay floor", err["message"])
        floor = int(err["message"].rsplit(" ", 1)[1])
        self.assertGreaterEqual(floor, first)
        w.close()
        w = self.watch("/v1/watch/floor:k?ns=8", headers={"Last-Event-ID": "1"})
        self.assertEqual(w.status, 410)
        w.close()
        c.close()

    def test_resume_with_last_event_id_across_drops(self):
        """N mutations over every shard while the reader drops the connection mid-stream and
        resumes with Last-Event-ID: each mutation arrives exactly once, revisions increase."""
        s = self.server
        db, n = 9, 5000
        start = s.put("gf-start", b"x", ns=db)
        expected, commands = [], []
        for i in range(n):
            key = "gf:%d" % (i % 499)
            if i % 10 == 9:
                prev = "gf:%d" % ((i - 1) % 499)
                commands.append(("DEL", prev))
                expected.append(("del", prev, None))
            else:
                commands.append(("SET", key, "m%d" % i))
                expected.append(("set", key, "m%d" % i))
        writer = resp.Connection(s.resp_port)
        writer.call("SELECT", str(db))

        def write_all():
            for j in range(0, n, 250):
                writer.pipeline(commands[j:j + 250])
                time.sleep(0.01)

        t = threading.Thread(target=write_all)
        t.start()
        received, revisions = [], []
        last = None
        drops = 0
        rng = random.Random(11)
        deadline = time.time() + 120
        while len(received) < n and time.time() < deadline:
            headers = {"Last-Event-ID": str(last)} if last is not None else {}
            # The first connection starts from `since`; later ones resume from the id only
            # (an EventSource keeps its original URL).
            w = self.watch("/v1/watch?ns=%d&prefix=gf:&since=%d" % (db, start), headers=headers)
            self.assertEqual(w.status, 200)
            budget = rng.randint(1, 1500)
            try:
                while budget > 0 and len(received) < n:
                    e = w.next_event()
                    d = e["data"]
                    if d["type"] == "ready":
                        continue
                    self.assertEqual(e["id"], str(d["revision"]))
                    rev = d["revision"]
                    if last is not None:
                        self.assertGreater(rev, last, "out of order or duplicate")
                    last = rev
                    value = unb64url(d["value"]).decode() if d["type"] == "set" else None
                    received.append((d["type"], d["key"], value))
                    revisions.append(rev)
                    budget -= 1
            finally:
                w.close()  # drop the connection mid-stream
                drops += 1
        t.join()
        writer.close()
        self.assertGreater(drops, 3)
        self.assertEqual(len(received), n)
        self.assertEqual(sorted(received, key=repr), sorted(expected, key=repr))
        # Each key's own sequence is in write order (pipelined commands run on several shards
        # at once, so only per-key order is fixed).
        per_key, got_per_key = {}, {}
        for kind, key, value in expected:
            per_key.setdefault(key, []).append((kind, value))
        for kind, key, value in received:
            got_per_key.setdefault(key, []).append((kind, value))
        self.assertEqual(got_per_key, per_key)
        self.assertEqual(revisions, sorted(set(revisions)))

    def test_disconnect_cancels_the_watch(self):
        s = self.server
        pid = s.gateway_pid()
        fds = lambda: len(os.listdir("/proc/%d/fd" % pid))
        # Rounds of 20 watchers that hang up: after the first (cpp-httplib and gRPC start
        # threads lazily), nothing may grow with the rounds.
        for round_ in range(5):
            ws = [self.watch("/v1/watch?ns=10&prefix=dc:") for _ in range(20)]
            for w in ws:
                self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
            self.assertEqual(s.metric("beyondkv_http_sse_streams"), 20)
            for w in ws:
                w.close()
            deadline = time.time() + 10
            while s.metric("beyondkv_http_sse_streams") != 0 and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(s.metric("beyondkv_http_sse_streams"), 0)
            if round_ == 0:
                threads, files = s.gateway_status("Threads"), fds()
        self.assertLessEqual(fds(), files + 4)
        self.assertLessEqual(s.gateway_status("Threads"), threads + 8)
        # Writes after the watchers left go nowhere, and the gateway keeps serving.
        s.put("dc:k", b"v", ns=10)
        status, _, body = s.request("GET", "/v1/kv/dc:k?ns=10")
        self.assertEqual((status, body), (200, b"v"))

    def test_slow_reader_is_cut_off_and_writers_go_on(self):
        s = self.server
        w = self.watch("/v1/watch?ns=11&prefix=slow:", rcvbuf=4096)
        self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
        # The watcher stops reading; a writer pushes ~64 MB of changes.
        writer = resp.Connection(s.resp_port)
        writer.call("SELECT", "11")
        value = "x" * 65536
        t0 = time.time()
        for j in range(0, 1000, 50):
            replies = writer.pipeline([("SET", "slow:%d" % i, value) for i in range(j, j + 50)])
            self.assertTrue(all(r == ("+", "OK") for r in replies))
        self.assertLess(time.time() - t0, 60)
        # The stream ends: with an error event, or cut off by the write timeout.
        w.sock.settimeout(10)
        ended, error = False, None
        try:
            for _ in range(100000):
                e = w.next()
                if e.get("event") == "error":
                    error = e["data"]["error"]
        except (StreamEnded, OSError):
            ended = True
        self.assertTrue(ended)
        print("slow reader: stream ended with", error or "the connection cut (write timeout)",
              file=sys.stderr)
        if error is not None:
            self.assertEqual(error["code"], "unavailable")
        w.close()
        self.assertEqual(writer.call("GET", "slow:999")[1], value.encode())
        self.assertLess(s.gateway_status("VmRSS"), resp.rss_limit_kb(256 * 1024))
        writer.close()
        deadline = time.time() + 10
        while s.metric("beyondkv_http_sse_streams") != 0 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(s.metric("beyondkv_http_sse_streams"), 0)

    def test_interop_with_resp3_watch(self):
        s = self.server
        # HTTP writes reach a RESP3 WATCH in the same namespace.
        c = resp3(s.resp_port, db=12)
        c.send_raw(resp.Connection.encode(("WATCH", "io:k")))
        self.assertEqual(c.read_reply(), (">", [("$", b"watch"), ("$", b"ready")]))
        rev = s.put("io:k", b"from-http", ns=12)
        self.assertEqual(c.read_reply(), (">", [("$", b"watch"), ("$", b"set"), ("$", b"io:k"),
                                                ("$", b"from-http"), ("$", str(rev).encode())]))
        c.close()
        # RESP writes reach an SSE watch.
        w = self.watch("/v1/watch?ns=12&prefix=io:")
        self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
        r = resp.Connection(s.resp_port)
        r.call("SELECT", "12")
        r.call("SET", "io:r", "from-resp")
        rev = r.call("REVISION", "io:r")[1]
        r.call("DEL", "io:k")
        e = w.next_event()
        self.assertEqual(e["data"], {"type": "set", "key": "io:r", "value": b64url(b"from-resp"),
                                     "revision": rev})
        self.assertEqual((w.next_event()["data"]["type"]), "del")
        r.close()
        w.close()


class SseLimitsTest(unittest.TestCase):
    def test_token_and_stream_cap(self):
        s = Server("--http-threads", "4", env={"KV_HTTP_TOKEN": "t0k"})
        try:
            w = Sse(s.http_port, "/v1/watch/k")
            self.assertEqual(w.status, 401)
            self.assertEqual(w.json()["error"]["code"], "unauthorized")
            w.close()
            auth = {"Authorization": "Bearer t0k"}
            ws = [Sse(s.http_port, "/v1/watch/k", headers=auth) for _ in range(2)]
            for w in ws:
                self.assertEqual(w.status, 200)
                self.assertEqual(w.next_event(), {"data": {"type": "ready"}})
            # Half of --http-threads may watch; the rest keep serving the REST routes.
            w = Sse(s.http_port, "/v1/watch/k", headers=auth)
            self.assertEqual(w.status, 503)
            self.assertEqual(w.json()["error"]["code"], "unavailable")
            w.close()
            status, _, _ = s.request("GET", "/v1/kv/k", headers=auth)
            self.assertEqual(status, 404)
            for w in ws:
                w.close()
        finally:
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
