"""A minimal RESP2/RESP3 client for tests: sends commands as multibulk, reads replies exactly.

Replies are returned as tagged tuples so that two servers' answers compare exactly, type
included: ('+', 'OK'), ('-', 'ERR ...'), (':', 5), ('$', b'bytes'), ('$', None) for a RESP2
null bulk, ('*', [...]), ('*', None), ('_', None), ('%', [(k, v), ...]), ('~', [...]),
(',', '1.5'), ('#', True), ('=', b'txt:...'), ('>', [...]).
"""
import os
import socket


def rss_limit_kb(limit_kb):
    """A resident-memory bound for a server process, in KiB. Under AddressSanitizer
    (`bazel test --config=asan`, which sets ASAN_OPTIONS) freed memory stays in a 256 MiB
    quarantine and every allocation carries redzones and shadow, so the bound grows by that
    much: the check still catches unbounded growth."""
    if "ASAN_OPTIONS" in os.environ:
        return limit_kb * 2 + 256 * 1024
    return limit_kb


class RespError(Exception):
    pass


class Connection:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def call(self, *args):
        self.send_raw(self.encode(args))
        return self.read_reply()

    def pipeline(self, commands):
        self.send_raw(b"".join(self.encode(c) for c in commands))
        return [self.read_reply() for _ in commands]

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RespError("connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read_reply(self):
        line = self._line()
        t, rest = chr(line[0]), line[1:]
        if t == "+":
            return ("+", rest.decode())
        if t == "-":
            return ("-", rest.decode())
        if t == ":":
            return (":", int(rest))
        if t in "$=":
            n = int(rest)
            return (t, None if n < 0 else self._exact(n))
        if t in "*~>":
            n = int(rest)
            return (t, None if n < 0 else [self.read_reply() for _ in range(n)])
        if t == "%":
            n = int(rest)
            return ("%", [(self.read_reply(), self.read_reply()) for _ in range(n)])
        if t == "_":
            return ("_", None)
        if t == ",":
            return (",", rest.decode())
        if t == "#":
            return ("#", rest == b"t")
        raise RespError("unknown reply type %r" % line)
