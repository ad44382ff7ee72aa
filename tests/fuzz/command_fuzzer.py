"""Command fuzzer against a real running beyond-kv (issue 14).

Starts beyond-kv (supervisor, shards, gateway), reads its command table with COMMAND (arity,
flags, key positions) and sends, on several concurrent connections, pipelined bursts of 1-200
random commands: argument counts around each command's arity, the command family's option
keywords repeated and out of order, extreme numbers, binary keys, values up to 1 MiB, RESP2 and
RESP3 (HELLO 3), SELECT of random databases, MULTI/EXEC/DISCARD, WATCH/PWATCH, QUIT/RESET
(reconnects), the odd inline or malformed frame. Each burst ends with EXEC and an ECHO of a
unique token, and replies are read (RESP3 pushes skipped) up to that token.

It fails (exit 1) if any process of the tree dies or restarts (PIDs of beyond-kv and all its
descendants, with their start times, from /proc, checked every second), if PING on a fresh
connection does not answer within 5 s, if a connection gets no reply for --stall-seconds, if
replies get out of step with commands (the burst's end token inside another reply, more
replies than commands, an unparsable reply), if a connection is closed by the server with no
QUIT, CLIENT KILL or malformed frame in its burst, if the server's log shows a CHECK failure,
"terminate called", FATAL, AddressSanitizer, a signal or a supervisor restart ("exited
unexpectedly", "restarting in"), or if beyond-kv does not stop cleanly on SIGTERM. On failure it prints the seed and the last 200 commands of every
connection (a reproducer); the log directory keeps fuzz.log, the server's log and those.

Commands on one connection are a function of (--seed, connection number) alone, so a failure
reproduces with the same seed (timing between connections aside).

In the test suite (tests/BUILD.bazel, command_fuzzer_test): 60 s, seed 1. Long runs by hand:
  bazel build -c opt //services/beyond-kv
  python3 tests/fuzz/command_fuzzer.py --binary bazel-bin/services/beyond-kv/beyond-kv \
      --seconds 600 --seed 1234 --connections 6 --log-dir /tmp/fuzz-1234
"""
import argparse
import collections
import os
import random
import re
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "differential"))
import resp  # noqa: E402
from differential_test import runfile  # noqa: E402
from hygiene_test import Server  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Log patterns that mean a crash, an assertion or a restart (supervisor.cc OnFailure logs
# "<child> (pid N) exited unexpectedly after ...; restarting in ...").

BAD_LOG = re.compile(
    r"Check failed|CHECK failed|terminate called|FATAL|AddressSanitizer|LeakSanitizer|"
    r"UndefinedBehaviorSanitizer|runtime error:|\*\*\* SIG[A-Z]+|Segmentation fault|"
    r"exited unexpectedly|restarting in|did not stop within|stopping everything|"
    r"^F\d{4} ", re.M)

# ---------------------------------------------------------------------------------------------
# Argument material.

EXTREME_NUMBERS = [
    "0", "-1", "1", "2", "-2", "2147483647", "2147483648", "-2147483648", "-2147483649",
    "4294967295", "4294967296", "9007199254740992", "9007199254740993", "-9007199254740993",
    "9223372036854775807", "-9223372036854775808", "9223372036854775808",
    "-9223372036854775809", "18446744073709551615", "18446744073709551616",
    "nan", "NaN", "-nan", "inf", "-inf", "+inf", "infinity", " 5", "5 ", "+5", "-0", "0x10",
    "010", "1" * 300, "-" + "9" * 300, "1e400", "-1e400", "1e-400", "1.5", "-1.5", "1e3",
    "0.0", ".5", "5.", "", " ", "abc", "1\x00", "\x001", "9" * 19, "9" * 20, "3.0e10",
    "17976931348623157" + "0" * 292, "4.9e-324", "0b101", "1_000",
]

SMALL_NUMBERS = [str(i) for i in range(-3, 20)] + ["100", "1000", "4096", "65536", "1000000"]

TYPES = ["string", "list", "set", "zset", "hash", "stream", "none", "STRING", "bogus", ""]

INFO_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                 "commandstats", "errorstats", "latencystats", "cluster", "keyspace", "all",
                 "everything", "default", "bogus", "SERVER", "modules"]

GLOBS = ["*", "k*", "?", "k?", "[a-z]*", "[^k]*", "[!k]*", "\\*", "k[", "k[0-9", "[]", "[\\",
         "\\", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "*a*a*a*a*a*a*a*a*a*a*a*a*c",
         "*" * 200, "?" * 50, "[" * 50, "{tag}*", "\x00*", "*\xff", "[z-a]*", "[a-]*",
         "[---]", "**k**", "k\\?", ""]

BITFIELD_TYPES = ["u1", "u8", "u16", "i8", "i16", "i32", "i64", "u63", "u32", "i1",
                  "u64", "i65", "u0", "i0", "x8", "U8", "I64", "u", "i", "u-1", "u99999999999"]

KEYWORDS = {
    "set": ["EX", "PX", "EXAT", "PXAT", "NX", "XX", "GET", "KEEPTTL"],
    "getex": ["EX", "PX", "EXAT", "PXAT", "PERSIST"],
    "expire": ["NX", "XX", "GT", "LT"],
    "pexpire": ["NX", "XX", "GT", "LT"],
    "expireat": ["NX", "XX", "GT", "LT"],
    "pexpireat": ["NX", "XX", "GT", "LT"],
    "scan": ["MATCH", "COUNT", "TYPE"],
    "bitfield": ["GET", "SET", "INCRBY", "OVERFLOW", "WRAP", "SAT", "FAIL"],
    "bitfield_ro": ["GET", "SET", "INCRBY", "OVERFLOW", "WRAP", "SAT", "FAIL"],
    "bitcount": ["BYTE", "BIT"],
    "bitpos": ["BYTE", "BIT"],
    "bitop": ["AND", "OR", "XOR", "NOT", "DIFF", "ONE"],
    "lcs": ["LEN", "IDX", "MINMATCHLEN", "WITHMATCHLEN"],
    "copy": ["DB", "REPLACE"],
    "watch": ["SINCE"],
    "pwatch": ["SINCE"],
    "hello": ["AUTH", "SETNAME", "2", "3"],
    "setrev": ["EX", "PX", "NX", "XX"],
    "client": ["ID", "GETNAME", "SETNAME", "INFO", "LIST", "KILL", "HELP", "TYPE", "NORMAL",
               "ADDR", "LADDR", "SKIPME", "YES", "NO", "USER", "MAXAGE", "REPLY", "ON", "OFF",
               "SKIP", "PAUSE", "UNPAUSE", "NO-EVICT", "TRACKING", "CACHING", "GETREDIR",
               "PUBSUB", "MASTER", "REPLICA"],
    "config": ["GET", "SET", "RESETSTAT", "REWRITE", "HELP"],
    "object": ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT", "HELP"],
    "memory": ["USAGE", "SAMPLES", "HELP", "DOCTOR", "STATS", "MALLOC-STATS", "PURGE"],
    "command": ["COUNT", "LIST", "INFO", "DOCS", "GETKEYS", "GETKEYSANDFLAGS", "HELP",
                "FILTERBY", "MODULE", "ACLCAT", "PATTERN"],
    "info": INFO_SECTIONS,
    "flushall": ["ASYNC", "SYNC"],
    "flushdb": ["ASYNC", "SYNC"],
    "auth": ["default"],
}
SUBCOMMANDS = {
    "client": ["ID", "GETNAME", "SETNAME", "INFO", "LIST", "KILL", "HELP", "REPLY", "PAUSE",
               "NO-EVICT", "TRACKING", "bogus"],
    "config": ["GET", "SET", "RESETSTAT", "REWRITE", "HELP", "bogus"],
    "object": ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT", "HELP", "bogus"],
    "memory": ["USAGE", "HELP", "DOCTOR", "STATS", "bogus"],
    "command": ["COUNT", "LIST", "INFO", "DOCS", "GETKEYS", "HELP", "bogus"],
}
GENERIC_WORDS = ["", "x", "-", "--", "ANY", "WITHSCORES", "LIMIT", "ASC", "DESC", "ALL"]

# Commands whose numeric arguments are bit or byte offsets: a valid offset above ~1e6 would
# allocate up to 512 MiB, so these get offsets up to 1e6 or invalid ones (refused).
OFFSET_COMMANDS = {"setbit", "setrange", "bitfield", "bitfield_ro"}
# Commands chosen less often: they end the connection or wipe the data.
RARE = {"flushall": 0.05, "flushdb": 0.1, "quit": 0.15, "reset": 0.2, "bgrewriteaof": 0.05,
        "hello": 0.5, "select": 0.7, "multi": 1.5, "exec": 1.0}
# Never sent (they would stop or disturb the run on purpose); none is in beyond-kv's table
# today, but COMMAND may grow.
NEVER = {"shutdown", "debug", "monitor", "sync", "psync", "replicaof", "slaveof", "failover",
         "subscribe", "psubscribe", "ssubscribe", "blpop", "brpop", "wait", "save",
         "acl", "module", "script", "eval", "evalsha", "fcall", "function"}


def dangerous_offset(arg):
    """True if arg parses (leniently) as an offset that would allocate over ~1 MiB."""
    s = arg.decode("latin-1") if isinstance(arg, bytes) else str(arg)
    s = s.strip().lstrip("#+")
    try:
        v = int(s, 0) if s[:2].lower() in ("0x", "0o", "0b") else int(s)
    except ValueError:
        try:
            v = float(s)
        except ValueError:
            return False
        if v != v or v in (float("inf"), float("-inf")):
            return False
    return 1_000_000 < v * 64 < 2 ** 42


class Generator:
    """Random commands for one connection, from the server's command table."""

    def __init__(self, rng, table, big_values=True, skip=()):
        self.rng = rng
        self.table = table  # name -> (arity, flags, first, last, step)
        names = sorted(n for n in table if n not in NEVER and n not in skip)
        self.names = names
        self.weights = [RARE.get(n, 1.0) for n in names]
        self.big_values = big_values
        self.keys = ["k%d" % i for i in range(12)] + [
            "{tag}a", "{tag}b", b"", b"\x00", b"a\x00b", b"\r\n", b"\r\n$3\r\nfoo\r\n",
            b"\xff\xfe\xfd", "*", "?", "[", "k*", "a" * 2000, "x" * 70000, "ключ", "\t ",
        ]
        self.client_id = None  # learned from CLIENT ID replies, for CLIENT KILL ID <own>

    # -- material --
    def case(self, word):
        r = self.rng.random()
        if r < 0.5:
            return word
        if r < 0.75:
            return word.lower()
        return "".join(c.upper() if self.rng.random() < 0.5 else c.lower() for c in word)

    def key(self):
        r = self.rng.random()
        if r < 0.85:
            return self.rng.choice(self.keys[:16])
        if r < 0.98:
            return self.rng.choice(self.keys)
        return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 40)))

    def number(self):
        r = self.rng.random()
        if r < 0.45:
            return self.rng.choice(SMALL_NUMBERS)
        if r < 0.9:
            return self.rng.choice(EXTREME_NUMBERS)
        if r < 0.95:
            return str(self.rng.randint(-2 ** 64, 2 ** 64))
        return "%r" % self.rng.uniform(-1e20, 1e20)

    def value(self):
        r = self.rng.random()
        if r < 0.3:
            return self.number()
        if r < 0.6:
            return self.rng.choice(["", "v", "hello", "\x00\xff", "foobar", "1", "a" * 100])
        if r < 0.9:
            return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 64)))
        if r < 0.97 or not self.big_values:
            return bytes([self.rng.getrandbits(8)]) * self.rng.randint(64, 8192)
        if r < 0.995:
            return b"b" * self.rng.randint(8192, 100_000)
        return b"B" * self.rng.randint(100_000, 1 << 20)

    def pattern(self):
        return self.rng.choice(GLOBS) if self.rng.random() < 0.8 else self.key()

    def keyword(self, name):
        words = KEYWORDS.get(name) or GENERIC_WORDS
        if self.rng.random() < 0.05:
            words = GENERIC_WORDS + sum(KEYWORDS.values(), [])
        return self.case(self.rng.choice(words))

    def db(self):
        if self.rng.random() < 0.85:
            return str(self.rng.randint(0, 15))
        return self.rng.choice(["16", "-1", "100", "9223372036854775807", "x", "1.0", " 1", ""])

    def offset(self):
        """A bit/byte offset: small, or invalid (refused), never a big valid one."""
        r = self.rng.random()
        if r < 0.6:
            return str(self.rng.randint(0, 64))
        if r < 0.8:
            return str(self.rng.randint(0, 1_000_000 // 8))
        bad = ["-1", "4294967296", "8589934592", "9223372036854775807", "18446744073709551616",
               "-9223372036854775808", "x", "1.5", "nan", "", " 1", "1e400", "1" * 300]
        return self.rng.choice(bad)

    def arg_count(self, arity, extra=4):
        """Total argc (with the name) around the arity."""
        if arity > 0:
            if self.rng.random() < 0.6:
                return arity
            return max(1, self.rng.randint(arity - 1, arity + extra))
        lo = -arity
        r = self.rng.random()
        if r < 0.05:
            return max(1, lo - 1)
        if r < 0.85:
            return lo + self.rng.randint(0, extra + 2)
        return lo + self.rng.randint(0, 40)

    # -- commands --
    def command(self):
        name = self.rng.choices(self.names, self.weights)[0]
        special = getattr(self, "cmd_" + name, None)
        if special is not None and self.rng.random() < 0.8:
            args = special(name)
        else:
            args = self.generic(name)
        if name == "client" and args and isinstance(args[0], str) and args[0].upper() == "KILL":
            # CLIENT KILL SKIPME yes (or no filter at all) closes everyone else, the health
            # check too, as in Redis: only ever our own connection or nobody.
            args = self.client_kill(args[0])
        if self.rng.random() < 0.85:
            head = self.case(name.upper())
        else:
            head = self.rng.choice([name, name.upper() + "x", name[:-1] or "z", name + "\x00"])
        return [head] + list(args)

    def generic(self, name):
        arity, _flags, first, last, step = self.table[name]
        n = self.arg_count(arity)
        args = []
        keypos = set()
        if first > 0:
            end = last if last >= 0 else n + last
            keypos = set(range(first, max(first, end) + 1, max(step, 1)))
        i = 1
        while i < n:
            if i in keypos and self.rng.random() < 0.95:
                args.append(self.key())
            elif i == 1 and name in SUBCOMMANDS and self.rng.random() < 0.9:
                args.append(self.case(self.rng.choice(SUBCOMMANDS[name])))
            else:
                r = self.rng.random()
                if r < 0.4:
                    args.append(self.keyword(name))
                    if self.rng.random() < 0.5 and i + 1 < n + 2:
                        args.append(self.offset() if name in OFFSET_COMMANDS else self.number())
                        i += 1
                elif r < 0.7:
                    args.append(self.offset() if name in OFFSET_COMMANDS else self.number())
                elif r < 0.85:
                    args.append(self.value())
                elif r < 0.95:
                    args.append(self.key())
                else:
                    args.append(self.pattern())
            i += 1
        if name in OFFSET_COMMANDS:
            args = [a if not dangerous_offset(a) else self.offset() for a in args]
        return args

    def options(self, name, fill, count=None):
        """Keywords of `name`, repeated and out of order, each maybe followed by fill()."""
        out = []
        for _ in range(count if count is not None else self.rng.choice([0, 0, 1, 1, 2, 3, 5])):
            out.append(self.keyword(name))
            if self.rng.random() < 0.6:
                out.append(fill())
        return out

    def cmd_set(self, name):
        return [self.key(), self.value()] + self.options(name, self.expiry)

    def cmd_getex(self, name):
        return [self.key()] + self.options(name, self.expiry)

    def expiry(self):
        r = self.rng.random()
        if r < 0.4:
            return str(self.rng.randint(1, 100000))
        if r < 0.6:
            return str(int(time.time() * (1000 if self.rng.random() < 0.5 else 1))
                       + self.rng.randint(-5, 100))
        return self.number()

    def cmd_expire(self, name):
        return [self.key(), self.expiry()] + self.options(name, self.number)

    cmd_pexpire = cmd_expireat = cmd_pexpireat = cmd_expire

    def cmd_scan(self, name):
        cursor = self.rng.choice(["0", "0", self.number(), str(self.rng.getrandbits(64))])
        return [cursor] + self.options(name, lambda: self.rng.choice(
            [self.pattern(), self.number(), self.rng.choice(TYPES)]))

    def cmd_keys(self, name):
        return [self.pattern()]

    def cmd_bitfield(self, name):
        out = [self.key()]
        for _ in range(self.rng.choice([0, 1, 1, 2, 3, 6, 20])):
            op = self.case(self.rng.choice(["GET", "SET", "INCRBY", "OVERFLOW", "GET"]))
            out.append(op)
            if op.upper() == "OVERFLOW":
                out.append(self.case(self.rng.choice(["WRAP", "SAT", "FAIL", "bogus"])))
                continue
            out.append(self.rng.choice(BITFIELD_TYPES))
            off = self.offset()
            if self.rng.random() < 0.3 and not off.startswith("-"):
                off = "#" + (off if not dangerous_offset("#" + off) else "1")
            out.append(off)
            if op.upper() != "GET":
                out.append(self.number())
        if self.rng.random() < 0.1:
            out = out[:self.rng.randint(1, max(1, len(out)))]
        return out

    cmd_bitfield_ro = cmd_bitfield

    def cmd_setbit(self, name):
        return [self.key(), self.offset(), self.rng.choice(["0", "1", "1", "2", "-1", "x"])]

    def cmd_setrange(self, name):
        return [self.key(), self.offset(), self.value()]

    def cmd_bitcount(self, name):
        out = [self.key()]
        if self.rng.random() < 0.8:
            out += [self.number(), self.number()]
        return out + self.options(name, self.number)

    def cmd_bitpos(self, name):
        out = [self.key(), self.rng.choice(["0", "1", "2", "-1"])]
        out += [self.number() for _ in range(self.rng.randint(0, 2))]
        return out + self.options(name, self.number)

    def cmd_bitop(self, name):
        head = [self.keyword(name), self.key()]
        return head + [self.key() for _ in range(self.rng.randint(0, 4))]

    def cmd_lcs(self, name):
        return [self.key(), self.key()] + self.options(name, self.number)

    def cmd_copy(self, name):
        return [self.key(), self.key()] + self.options(name, self.db)

    def cmd_move(self, name):
        return [self.key(), self.db()]

    def cmd_select(self, name):
        return [self.db()]

    def cmd_hello(self, name):
        out = []
        if self.rng.random() < 0.9:
            out.append(self.rng.choice(["3", "3", "2", "2", "1", "4", "-1", "x", "3.0"]))
        for _ in range(self.rng.choice([0, 0, 1, 2])):
            if self.rng.random() < 0.5:
                out += [self.case("AUTH"), self.rng.choice(["default", "u"]), self.value()]
            else:
                out += [self.case("SETNAME"), self.rng.choice(["n", "a b", "", "x\n"])]
        return out

    def cmd_watch(self, name):
        out = [self.key() for _ in range(self.rng.randint(1, 4))]
        if self.rng.random() < 0.5:
            out += [self.case("SINCE"), self.rng.choice(
                [self.number(), "0", "1", str(self.rng.randint(0, 10000))])]
        if self.rng.random() < 0.1:
            out = self.options(name, self.number, 3) + out
        return out

    def cmd_pwatch(self, name):
        out = [self.rng.choice(["", "k", "k1", "{", "\x00", "zz"]) if self.rng.random() < 0.7
               else self.key() for _ in range(self.rng.randint(1, 3))]
        if self.rng.random() < 0.5:
            out += [self.case("SINCE"), self.rng.choice([self.number(), "0", "1"])]
        return out

    def cmd_client(self, name):
        sub = self.case(self.rng.choice(SUBCOMMANDS["client"]))
        s = sub.upper()
        if s == "KILL":
            return self.client_kill(sub)
        if s == "SETNAME":
            return [sub, self.rng.choice(["n", "name", "a b", "", "x\n", "\x00", "é" * 10])] + \
                ([self.value()] if self.rng.random() < 0.1 else [])
        if s == "LIST":
            return [sub] + self.options("client", lambda: self.rng.choice(
                ["normal", self.number(), str(self.client_id or 1), "master"]))
        return [sub] + [self.keyword("client") for _ in range(self.rng.choice([0, 0, 0, 1, 2]))]

    def client_kill(self, sub):
        """CLIENT KILL of only ourselves or nobody: an ID filter (our own id or a bogus one)
        ANDs the others; or an old-style address nobody has."""
        own = str(self.client_id) if self.client_id is not None else "999999998"
        if self.rng.random() < 0.3:
            return [sub, self.rng.choice(["127.0.0.1:1", "x", "", "1.2.3.4:5", "[::1]:0"])]
        filters = []
        for _ in range(self.rng.randint(0, 3)):
            f = self.rng.choice(["TYPE", "ADDR", "LADDR", "SKIPME", "USER", "MAXAGE", "x"])
            filters += [self.case(f), self.rng.choice(
                ["normal", "master", "yes", "no", "127.0.0.1:1", "0", "bogus", "-1"])]
        ident = [self.case("ID"), self.rng.choice(
            [own, own, "999999999", "0", "-1", "x", "18446744073709551616"])]
        args = filters + ident if self.rng.random() < 0.5 else ident + filters
        if self.rng.random() < 0.1:
            args = args[:-1]  # odd count
        return [sub] + args

    def cmd_config(self, name):
        sub = self.case(self.rng.choice(SUBCOMMANDS["config"]))
        return [sub] + [self.rng.choice(["*", "maxclients", "time*", "save", "port", "bind",
                                         "databases", "appendonly", self.pattern(),
                                         self.number()])
                        for _ in range(self.rng.choice([0, 1, 1, 2, 5]))]

    def cmd_object(self, name):
        return [self.case(self.rng.choice(SUBCOMMANDS["object"]))] + \
            [self.key() for _ in range(self.rng.choice([0, 1, 1, 1, 2]))]

    def cmd_memory(self, name):
        out = [self.case(self.rng.choice(SUBCOMMANDS["memory"]))]
        if self.rng.random() < 0.8:
            out.append(self.key())
        return out + self.options(name, self.number)

    def cmd_command(self, name):
        sub = self.case(self.rng.choice(SUBCOMMANDS["command"]))
        names = list(self.table) + ["bogus", "", "client|list", "CONFIG|GET", "get|x"]
        out = [sub]
        for _ in range(self.rng.choice([0, 1, 2, 5])):
            out.append(self.rng.choice(names))
        if sub.upper() == "GETKEYS":
            out += [self.key(), self.value()]
        return out

    def cmd_info(self, name):
        return [self.case(self.rng.choice(INFO_SECTIONS))
                for _ in range(self.rng.choice([0, 1, 1, 2, 4]))]

    def cmd_setrev(self, name):
        out = [self.key(), self.value(),
               self.rng.choice(["0", "1", str(self.rng.randint(0, 5000)), self.number()])]
        return out + self.options(name, self.expiry)

    def cmd_mset(self, name):
        out = []
        for _ in range(self.rng.randint(1, 6)):
            out += [self.key(), self.value()]
        if self.rng.random() < 0.1:
            out.append(self.key())  # odd count
        return out

    cmd_msetnx = cmd_mset

    def cmd_incrbyfloat(self, name):
        return [self.key(), self.rng.choice(
            [self.number(), "1e308", "-1e308", "1.7976931348623157e308", "0.1", "5e-324"])]

    def cmd_auth(self, name):
        return [self.value()] if self.rng.random() < 0.5 else ["default", self.value()]

    # -- the odd non-multibulk frame --
    def raw_frame(self):
        inline = [b"PING\r\n", b"SET k0 inline\r\n", b"GET k0\n", b"ECHO \"a b\"\r\n",
                  b"\r\n", b"   \r\n"]
        bad = [b"SET \"unbalanced\r\n", b"GET 'x'y\r\n", b"*1\r\n$-5\r\n", b"*abc\r\n",
               b"*-1\r\n", b"*2\r\n$3\r\nGET\r\n:5\r\n",
               b"*1\r\n$3\r\nGETX\r\n", b"$3\r\nfoo\r\n", b"*1\r\n$99999999999999999999\r\n",
               b"*99999999999\r\n", b"*1\r\n$4\r\nPING\r\n" + b"\x00" * 3,
               b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$600000000\r\n"]
        if self.rng.random() < 0.7:
            return self.rng.choice(inline), 1, False
        return self.rng.choice(bad), 1, True


# ---------------------------------------------------------------------------------------------
# Connections.

class Stall(Exception):
    pass


class Closed(Exception):
    pass


class FuzzConnection:
    """A non-blocking RESP connection that writes and reads at once (a big pipeline never
    deadlocks with the server's replies) and parses replies from an offset."""

    def __init__(self, port, stall_seconds):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        self.out = bytearray()
        self.buf = bytearray()
        self.pos = 0
        self.stall = stall_seconds

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.out += data

    def _fill(self):
        deadline = time.monotonic() + self.stall
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Stall("no reply for %.0f s" % self.stall)
            try:
                r, w, _ = select.select([self.sock], [self.sock] if self.out else [], [],
                                        min(left, 1.0))
            except (OSError, ValueError) as e:
                raise Closed(str(e))
            try:
                if w:
                    n = self.sock.send(self.out[:1 << 18])
                    del self.out[:n]
                if r:
                    chunk = self.sock.recv(1 << 20)
                    if not chunk:
                        raise Closed("connection closed by the server")
                    if self.pos > (1 << 20):
                        del self.buf[:self.pos]
                        self.pos = 0
                    self.buf += chunk
                    return
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                raise Closed(str(e))

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise resp.RespError("bulk not followed by CRLF")
        self.pos += n + 2
        return data

    def reply(self):
        line = self._line()
        if not line:
            raise resp.RespError("empty reply line")
        t, rest = chr(line[0]), line[1:]
        if t in "+-,(":
            return (t, rest.decode("utf-8", "replace"))
        if t == ":":
            return (":", int(rest))
        if t in "$=!":
            n = int(rest)
            return (t, None if n < 0 else self._exact(n))
        if t in "*~>":
            n = int(rest)
            return (t, None if n < 0 else [self.reply() for _ in range(n)])
        if t == "%":
            n = int(rest)
            return ("%", [(self.reply(), self.reply()) for _ in range(n)])
        if t == "|":
            n = int(rest)
            [(self.reply(), self.reply()) for _ in range(n)]
            return self.reply()  # attributes annotate the next reply
        if t == "_":
            return ("_", None)
        if t == "#":
            return ("#", rest == b"t")
        raise resp.RespError("unknown reply type %r" % line[:80])


def show(args, limit=120):
    parts = []
    for a in args:
        if isinstance(a, str):
            a = a.encode("utf-8", "surrogateescape")
        if len(a) > limit:
            parts.append("%r...(%d bytes)" % (a[:limit // 2], len(a)))
        else:
            parts.append(repr(a))
    return " ".join(parts)


class Worker(threading.Thread):
    def __init__(self, fuzz, index):
        super().__init__(name="conn%d" % index, daemon=True)
        self.fuzz = fuzz
        self.index = index
        self.rng = random.Random("%s/%d" % (fuzz.seed, index))
        self.gen = Generator(self.rng, fuzz.table, skip=fuzz.skip)
        self.history = collections.deque(maxlen=200)
        self.conn = None
        self.sent = 0
        self.bursts = 0
        self.reconnects = 0
        self.unexpected_closes = 0
        self.errors = collections.Counter()
        self.error = None

    def log(self, msg):
        self.fuzz.log("[conn%d] %s" % (self.index, msg))

    def connect(self):
        for attempt in range(10):
            try:
                return self.try_connect()
            except (Closed, OSError, resp.RespError) as e:
                self.fuzz.anomaly("conn%d: a new connection failed: %s" % (self.index, e), self)
                time.sleep(0.1 * attempt)
        raise Closed("10 new connections in a row failed")

    def try_connect(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = FuzzConnection(self.fuzz.server.port, self.fuzz.stall_seconds)
        self.gen.client_id = None
        # Start some connections in RESP3 and in another database.
        start = []
        if self.rng.random() < 0.5:
            start.append(["HELLO", "3"])
        if self.rng.random() < 0.5:
            start.append(["SELECT", str(self.rng.randint(0, 15))])
        start.append(["CLIENT", "ID"])
        for c in start:
            self.history.append("(connect) " + show(c))
            self.conn.send(resp.Connection.encode(c))
        for c in start:
            r = self.conn.reply()
            if c[0] == "CLIENT" and r[0] == ":":
                self.gen.client_id = r[1]

    def run(self):
        try:
            self.connect()
            while not self.fuzz.stop.is_set():
                self.burst()
        except Exception as e:  # noqa: BLE001 - any worker error ends the run as a failure
            self.error = "%s: %s" % (type(e).__name__, e)
            self.fuzz.fail("connection %d: %s\n%s" % (self.index, self.error,
                                                      traceback.format_exc()))

    def burst(self):
        r = self.rng.random()
        size = (self.rng.randint(1, 10) if r < 0.5 else
                self.rng.randint(10, 50) if r < 0.85 else self.rng.randint(50, 200))
        frames = []
        shown = []  # this burst's commands, in order, for the reply that never came
        may_close = False
        for _ in range(size):
            if self.rng.random() < 0.004:
                raw, _, closes = self.gen.raw_frame()
                frames.append(raw)
                shown.append("(raw) %r" % raw[:120])
                self.history.append(shown[-1])
                may_close |= closes
                if closes:
                    break
                continue
            cmd = self.gen.command()
            frames.append(resp.Connection.encode(cmd))
            shown.append(show(cmd))
            self.history.append(shown[-1])
            head = cmd[0].lower() if isinstance(cmd[0], str) else ""
            if head in ("quit", "client"):
                may_close = True  # QUIT, CLIENT KILL ID <own>
        token = "tok-%d-%d-%d" % (self.index, self.bursts, self.rng.getrandbits(32))
        frames.append(resp.Connection.encode(["EXEC"]))
        frames.append(resp.Connection.encode(["ECHO", token]))
        self.history.append("(end of burst) 'EXEC'; 'ECHO' %r" % token)
        self.bursts += 1
        self.sent += size
        self.fuzz.count(size)
        self.conn.send(b"".join(frames))
        last = None
        replies = 0
        try:
            while True:
                rep = self.conn.reply()
                if rep[0] == ">":
                    continue
                replies += 1
                if rep == ("$", token.encode()):
                    break
                if rep[0] == "*" and rep[1] and ("$", token.encode()) in rep[1]:
                    raise resp.RespError("the end token came inside another reply (EXEC's "
                                         "array short of an element?): %r" % (rep,))
                if rep[0] == "-" or rep[0] == "!":
                    text = rep[1] if isinstance(rep[1], str) else rep[1].decode("latin-1")
                    self.errors[" ".join(text.split()[:3])[:60]] += 1
                last = rep
                if replies > size + 50:
                    raise resp.RespError("more replies than commands before the end token")
        except Closed as e:
            self.reconnects += 1
            if not may_close:
                self.unexpected_closes += 1
                self.fuzz.anomaly("conn%d: %s after %d replies, last %r; no QUIT/KILL/raw in "
                                  "the burst" % (self.index, e, replies, str(last)[:200]),
                                  self)
            self.history.append("(closed: %s; reconnect)" % e)
            self.connect()
        except resp.RespError as e:
            self.fuzz.anomaly("conn%d: unparsable reply: %s" % (self.index, e), self)
            self.history.append("(protocol desync: %s; reconnect)" % e)
            self.reconnects += 1
            self.connect()
        except Stall as e:
            pending = (shown + ["EXEC", "ECHO " + token])[min(replies, len(shown) + 1)]
            self.fuzz.fail("conn%d: %s (%d replies read of a burst of %d; the first "
                           "unanswered one, if replies are in order: %s)"
                           % (self.index, e, replies, size, pending[:300]))
            raise


# ---------------------------------------------------------------------------------------------
# The process tree.

def proc_tree(root):
    """{pid: (comm, start time)} of root and all its descendants."""
    children = collections.defaultdict(list)
    info = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        rparen = stat.rfind(")")
        comm = stat[stat.find("(") + 1:rparen]
        fields = stat[rparen + 2:].split()
        state, ppid, start = fields[0], int(fields[1]), fields[19]
        info[int(entry)] = (comm, start, state)
        children[ppid].append(int(entry))
    out = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in info:
            comm, start, state = info[pid]
            out[pid] = (comm, start, state)
            todo.extend(children[pid])
    return out


class Fuzz:
    def __init__(self, args):
        self.seed = args.seed
        self.seconds = args.seconds
        self.n_conns = args.connections
        self.stall_seconds = args.stall_seconds
        self.binary = args.binary
        self.skip = set(c.lower() for c in args.skip.split(",") if c)
        self.log_dir = args.log_dir or tempfile.mkdtemp(
            prefix="bkv-fuzz-", dir=os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", "/tmp"))
        os.makedirs(self.log_dir, exist_ok=True)
        self.log_file = open(os.path.join(self.log_dir, "fuzz.log"), "w")
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.failures = []
        self.anomalies = []
        self.sent = 0
        self.server = None
        self.table = None

    def log(self, msg):
        line = "%s %s" % (time.strftime("%H:%M:%S"), msg)
        with self.lock:
            self.log_file.write(line + "\n")
            self.log_file.flush()

    def count(self, n):
        with self.lock:
            self.sent += n

    def fail(self, reason):
        with self.lock:
            self.failures.append(reason)
        self.log("FAILURE: " + reason)
        self.stop.set()

    def anomaly(self, what, worker):
        """A reply stream out of step or a connection closed with no cause in the burst:
        each one seen so far was a server bug (an EXEC array short of an element, CLIENT
        KILL "" closing everyone), so it fails the run too."""
        with self.lock:
            self.anomalies.append(what)
        self.log("ANOMALY: " + what + "\n    last commands:\n      " +
                 "\n      ".join(list(worker.history)[-20:]))
        self.fail(what)

    def read_table(self):
        c = resp.Connection(self.server.port)
        t, entries = c.call("COMMAND")
        c.close()
        assert t == "*", entries
        table = {}
        for e in entries:
            v = e[1]
            name = v[0][1].decode().lower()
            flags = [f[1] for f in v[2][1]]
            table[name] = (v[1][1], flags, v[3][1], v[4][1], v[5][1])
        return table

    def check_log(self, path=None):
        with open(path or self.server.log_path, errors="replace") as f:
            text = f.read()
        m = BAD_LOG.search(text)
        if m:
            start = text.rfind("\n", 0, max(0, m.start() - 2000)) + 1
            return "server log: %r\n%s" % (m.group(0), text[start:m.end() + 2000])
        return None

    def check_tree(self, expected):
        if self.server.proc.poll() is not None:
            return "beyond-kv exited with %s" % self.server.proc.returncode
        now = proc_tree(self.server.proc.pid)
        gone = {p: v for p, v in expected.items()
                if p not in now or now[p][1] != v[1]}
        new = {p: v for p, v in now.items() if p not in expected}
        zombies = {p: v for p, v in now.items() if v[2] == "Z"}
        if gone or new or zombies:
            return "process tree changed: gone %s, new %s, zombies %s" % (gone, new, zombies)
        return None

    def check_ping(self):
        try:
            c = resp.Connection(self.server.port, timeout=5)
            rep = c.call("PING")
            c.close()
            if rep != ("+", "PONG"):
                return "PING on a fresh connection answered %r" % (rep,)
        except (OSError, resp.RespError) as e:
            return "PING on a fresh connection failed within 5 s: %s" % e
        return None

    def run(self):
        print("command fuzzer: seed %s, %d s, %d connections, log in %s"
              % (self.seed, self.seconds, self.n_conns, self.log_dir), flush=True)
        self.log("seed %s seconds %s connections %s binary %s"
                 % (self.seed, self.seconds, self.n_conns, self.binary))
        self.server = Server(binary=self.binary)
        workers = []
        try:
            self.server.ready()
            time.sleep(0.5)
            self.table = self.read_table()
            self.log("command table: %s" % sorted(self.table.items()))
            tree = proc_tree(self.server.proc.pid)
            self.log("process tree: %s" % tree)
            print("  %d commands in the table; process tree %s"
                  % (len(self.table), {p: v[0] for p, v in tree.items()}), flush=True)
            if len(tree) < 3:
                self.fail("expected a supervisor with shards and a gateway, got %s" % tree)
            workers = [Worker(self, i) for i in range(self.n_conns)]
            for w in workers:
                w.start()
            started = time.monotonic()
            next_ping = 0
            next_report = started + 10
            while not self.stop.is_set() and time.monotonic() - started < self.seconds:
                time.sleep(0.5)
                for problem in (self.check_tree(tree), self.check_log()):
                    if problem:
                        self.fail(problem)
                if time.monotonic() >= next_ping:
                    problem = self.check_ping()
                    if problem:
                        self.fail(problem)
                    next_ping = time.monotonic() + 2
                if time.monotonic() >= next_report:
                    next_report += 10
                    self.log("progress: %d commands sent, %d anomalies"
                             % (self.sent, len(self.anomalies)))
            self.stop.set()
            for w in workers:
                w.join(timeout=self.stall_seconds + 10)
                if w.is_alive():
                    self.fail("conn%d did not finish its last burst" % w.index)
            if not self.failures:
                for problem in (self.check_ping(), self.check_tree(tree), self.check_log()):
                    if problem:
                        self.fail(problem)
        finally:
            # stop() removes the server's directory: keep the log open across it, so that
            # the copy has the shutdown lines too.
            with open(self.server.log_path, "rb") as log:
                code = self.server.stop() if self.server.proc.poll() is None else \
                    self.server.proc.returncode
                with open(os.path.join(self.log_dir, "server.log"), "wb") as copy:
                    shutil.copyfileobj(log, copy)
            if code != 0:
                self.fail("beyond-kv exited with %s on SIGTERM" % code)
            problem = self.check_log(os.path.join(self.log_dir, "server.log"))
            if problem and not self.failures:
                self.fail(problem)
        return self.report(workers)

    def report(self, workers):
        errors = collections.Counter()
        for w in workers:
            errors.update(w.errors)
        summary = ["%d commands in %d bursts on %d connections; %d reconnects; "
                   "%d anomalies" % (self.sent, sum(w.bursts for w in workers), len(workers),
                                     sum(w.reconnects for w in workers), len(self.anomalies)),
                   "most frequent errors:"] + [
                       "  %6d  %s" % (n, e) for e, n in errors.most_common(25)]
        for a in self.anomalies[:20]:
            summary.append("anomaly: " + a)
        self.log("\n".join(summary))
        print("\n".join(summary), flush=True)
        if not self.failures:
            print("PASS (seed %s)" % self.seed)
            return 0
        out = ["", "FAILED: seed %s (rerun: --seed %s --connections %d)"
               % (self.seed, self.seed, self.n_conns)]
        out += ["failure: " + f for f in self.failures]
        for w in workers:
            out.append("---- last %d commands on connection %d (%s) ----"
                       % (len(w.history), w.index, w.error or "no error"))
            out += ["  " + h for h in w.history]
        text = "\n".join(out)
        with open(os.path.join(self.log_dir, "reproducer.txt"), "w") as f:
            f.write(text + "\n")
        self.log(text)
        print(text)
        print("logs: %s (fuzz.log, server.log, reproducer.txt)" % self.log_dir)
        return 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--seed", default=None, help="default: random, printed")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--binary", default=None,
                   help="beyond-kv binary (default: the Bazel runfile)")
    p.add_argument("--log-dir", default=None)
    p.add_argument("--skip", default="", help="commands not to send, e.g. watch,pwatch "
                   "(to bisect a failure; the seed's sequences change)")
    p.add_argument("--stall-seconds", type=float, default=30,
                   help="a connection with no reply for this long fails the run")
    args = p.parse_args()
    if args.seed is None:
        args.seed = str(random.SystemRandom().randrange(1 << 31))
    if args.binary is None:
        args.binary = runfile("services/beyond-kv/beyond-kv")
    args.binary = os.path.abspath(args.binary)
    return Fuzz(args).run()


if __name__ == "__main__":
    sys.exit(main())
