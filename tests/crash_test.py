"""Crash test of a real beyond-kv (issue 4, "What it must show"): under a concurrent write
load, SIGKILL kv-shard processes; the supervisor restarts them and recovery rebuilds each
index from its log. Then, through a fresh connection:

- `--fsync always`: every write acknowledged before a kill is present with its value and its
  revision (or superseded by a later write of the same key), and no key holds a value that
  was never written;
- `--fsync everysec`: every write acknowledged more than 1.5 s before the kill is present;
  the writes of the last 1.5 s that were lost are counted and printed.

What this does and does not prove. SIGKILL of a shard *process* loses the process (its staged
records, in-flight batches, its memory) but not the kernel's page cache: a write() that
returned survives it even without fdatasync. So this test checks the engine's ordering
(acknowledge only after the append), recovery (the index rebuilt from the log, torn tails of
in-flight batches truncated), the revision clock across restarts and the supervisor's
restart, i.e. process-crash durability. Power-loss durability (what `always` adds over
`everysec`/`never`: data on the platter before the reply) needs the page cache dropped, which
a test cannot do to a running kernel; the engine's fault-injection Env covers it
(engine/test_util.h FaultInjectionEnv: crash_after_ops + DropUnsyncedData cut every file back
to its last fdatasync). See docs/benchmarks/engine.md.

Each writer thread owns its keys (key names carry the writer's number), so per key the
writer's order is the only order: after recovery a key must hold the value of its last
acknowledged SET or of a later attempted one (an attempt answered with an error while its
shard died may or may not have reached the log, as with any store). Most keys are written
once (so a lost acknowledged write cannot hide behind a later one); every 4th write
overwrites one of a few hot keys per writer (so recovery must also pick the latest record).

Run by Bazel (tests/BUILD.bazel): bazel test //tests:crash_test. Takes ~10 s.
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "differential"))
import resp  # noqa: E402
from differential_test import free_port, runfile  # noqa: E402
from hygiene_test import Server  # noqa: E402

WRITERS = 4
HOT_KEYS = 8
VALUE_PAD = 64


class CrashServer(Server):
    """hygiene_test.Server with our own flags (its --fsync never cannot be overridden: the
    flag parser refuses a repeated option), restartable on the same data directory."""

    def __init__(self, *flags, prefix="bkv-crash-"):  # noqa: Server.__init__ not called
        self.tmp = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self.data_dir = os.path.join(self.tmp, "d")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.log = open(self.log_path, "w")
        self.flags = list(flags)
        self.start()

    def start(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [runfile("services/beyond-kv/beyond-kv"), "--data-dir", self.data_dir,
             "--resp-port", str(self.port), "--http-port", "0"] + self.flags,
            stdout=self.log, stderr=subprocess.STDOUT)

    def terminate(self):
        """SIGTERM; returns the exit code and keeps the data directory (start() again)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log_text(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()


def _running(binary, argv_matches):
    """Pids of running (not zombie) processes of `binary` whose argv satisfies
    `argv_matches`."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
            with open("/proc/%s/stat" % name) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if argv and argv[0].endswith(binary) and argv_matches(argv) and state != "Z":
            pids.append(int(name))
    return pids


def shard_pid(data_dir, shard):
    """Pid of the running kv-shard `shard` of `data_dir` (from /proc/*/cmdline), or None."""
    want = ("--shard-id=%d" % shard, "--data-dir=%s" % data_dir)
    pids = _running("kv-shard", lambda argv: all(w in argv for w in want))
    return pids[0] if pids else None


def child_pids(data_dir, binary):
    """Pids of running processes of `binary` (kv-shard, kv-resp-gateway, ...) whose command
    line names `data_dir` (their --data-dir or --socket-dir)."""
    return _running(binary, lambda argv: any(data_dir in a for a in argv))


def alive(pid):
    """Whether `pid` runs (a zombie does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def answers_ping(port):
    try:
        c = resp.Connection(port, timeout=1)
        try:
            return c.call("PING") == ("+", "PONG")
        finally:
            c.close()
    except (OSError, resp.RespError):
        return False


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def all_shards_serve(port):
    """True once a command that touches every shard (DBSIZE) succeeds."""
    try:
        c = resp.Connection(port, timeout=2)
        try:
            return c.call("DBSIZE")[0] == ":"
        finally:
            c.close()
    except (OSError, resp.RespError):
        return False


class Attempt:
    __slots__ = ("key", "value", "acked", "error", "sent", "answered", "revision")

    def __init__(self, key, value, sent):
        self.key, self.value, self.sent = key, value, sent
        self.acked, self.error, self.answered, self.revision = False, None, None, None


class Writer(threading.Thread):
    """SET on its own connection, one at a time; after each OK, REVISION of the key."""

    def __init__(self, port, tag, number, stop):
        super().__init__(daemon=True)
        self.port, self.tag, self.number, self.stop = port, tag, number, stop
        self.attempts = []
        self.failure = None

    def run(self):
        try:
            conn = resp.Connection(self.port)
            n = 0
            while not self.stop.is_set():
                if n % 4 == 3:
                    key = "crash:%s:w%d:hot%d" % (self.tag, self.number, (n // 4) % HOT_KEYS)
                else:
                    key = "crash:%s:w%d:k%d" % (self.tag, self.number, n)
                value = "%s-w%d-n%d-" % (self.tag, self.number, n) + "v" * VALUE_PAD
                a = Attempt(key, value.encode(), time.monotonic())
                self.attempts.append(a)
                try:
                    reply = conn.call("SET", key, value)
                    a.answered = time.monotonic()
                    if reply == ("+", "OK"):
                        a.acked = True
                        rev = conn.call("REVISION", key)
                        if rev[0] == ":":
                            a.revision = rev[1]
                    else:
                        a.error = reply
                except (OSError, resp.RespError) as e:  # the gateway died: outcome unknown
                    a.error = ("conn", str(e))
                    conn.close()
                    conn = None
                    while conn is None and not self.stop.is_set():
                        try:  # the supervisor restarts the gateway within ~100 ms
                            conn = resp.Connection(self.port)
                        except OSError:
                            time.sleep(0.01)
                    if conn is None:
                        return
                n += 1
            conn.close()
        except Exception as e:  # reported by the test
            self.failure = repr(e)


def fetch(port, keys):
    """{key: (value or None, revision)} through a fresh connection, pipelined."""
    out = {}
    c = resp.Connection(port, timeout=30)
    try:
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            replies = c.pipeline([("GET", k) for k in chunk] + [("REVISION", k) for k in chunk])
            for j, k in enumerate(chunk):
                g, r = replies[j], replies[len(chunk) + j]
                assert g[0] == "$" and r[0] == ":", (k, g, r)
                out[k] = (g[1], r[1])
        present = c.call("KEYS", "crash:*")
        assert present[0] == "*", present
        out["__all_keys__"] = {k[1].decode() for k in present[1]}
    finally:
        c.close()
    return out


def check(attempts_by_key, state, old_before=None):
    """Returns (violations, lost) for the final state of every key.

    A key's acceptable final values: the value of its last acknowledged attempt, or of any
    attempt after it (acknowledged later or ambiguous). With `old_before` (a monotonic time),
    a lost acknowledged write answered at or after it goes to `lost` instead of `violations`
    (everysec: the last second may be lost)."""
    violations, lost = [], []
    for key, attempts in attempts_by_key.items():
        value, revision = state[key]
        last_ack = max((i for i, a in enumerate(attempts) if a.acked), default=None)
        written = {a.value: i for i, a in enumerate(attempts)}
        if value is not None and value not in written:
            violations.append("%s holds %r, never written" % (key, value[:40]))
            continue
        at = written.get(value) if value is not None else None
        if last_ack is None:
            continue  # only errors: absent or any attempted value is fine
        if at is not None and at >= last_ack:
            a = attempts[last_ack]
            if at == last_ack and a.revision is not None and revision != a.revision:
                violations.append("%s: revision %d, acknowledged %d" % (key, revision, a.revision))
            if at > last_ack and a.revision is not None and revision <= a.revision:
                violations.append("%s: later value with revision %d <= acknowledged %d"
                                  % (key, revision, a.revision))
            continue
        # The last acknowledged write is gone: which acknowledged writes were lost?
        gone = [a for i, a in enumerate(attempts) if a.acked and (at is None or i > at)]
        for a in gone:
            if old_before is not None and a.answered >= old_before:
                lost.append(a)
            else:
                violations.append("%s: acknowledged %r lost (holds %r)"
                                  % (key, a.value[:40], value[:40] if value else None))
    return violations, lost


# ---- Mixed load: every kind of write, checked against a model of each key -----------------
#
# Each mixed writer owns its keys, so per key its own order is the only order. A key's
# possible states are tracked as a set: an acknowledged command applies to every state its
# reply agrees with (a DEL answering 1 rules out the states where the key was absent); a
# command whose outcome is unknown (the gateway or the shard died under it: `-ERR shard N
# unavailable` or a dropped connection) may or may not have been applied, so both stay
# possible; a GET during the load is an observation that must match some state, and keeps
# only those. At the end, the key's value and whether it has a TTL must match a possible state.

AMBIGUOUS = object()  # an outcome the client cannot know
MAX_STATES = 4096


def _reg_apply(state, op):
    """(new state, expected reply) of `op` on a string key's `state` = (value or None, has_ttl)."""
    value, has_ttl = state
    kind = op[0]
    if kind == "SET":
        return (op[1], False), ("+", "OK")
    if kind == "SETEX":
        return (op[1], True), ("+", "OK")
    if kind == "DEL":
        return (None, False), (":", 1 if value is not None else 0)
    if kind == "GETDEL":
        return (None, False), ("$", value)
    if kind == "EXPIRE":
        if value is None:
            return state, (":", 0)
        return (value, True), (":", 1)
    if kind == "PERSIST":
        if value is None or not has_ttl:
            return state, (":", 0)
        return (value, False), (":", 1)
    if kind == "INCRBY":
        n = int(value or b"0") + op[1]
        return (str(n).encode(), has_ttl), (":", n)
    if kind == "APPEND":
        v = (value or b"") + op[1]
        return (v, has_ttl), (":", len(v))
    raise AssertionError(kind)


class KeyModel:
    """The possible states of one key under one writer's commands."""

    def __init__(self, key):
        self.key = key
        self.states = {(None, False)}
        self.history = []  # (op, reply) for the report
        self.broken = False  # a violation was reported; no further checks of this key

    def apply(self, op, reply):
        self.history.append((op[0], reply))
        if reply is AMBIGUOUS:
            self.states |= {_reg_apply(st, op)[0] for st in self.states}
        else:
            self.states = {new for st in self.states
                           for new, want in [_reg_apply(st, op)] if want == reply}
        if len(self.states) > MAX_STATES:
            raise AssertionError("%s: too many possible states" % self.key)
        return bool(self.states)

    def observe_value(self, value):
        self.history.append(("GET", value))
        self.states = {st for st in self.states if st[0] == value}
        return bool(self.states)


class MixedWriter(threading.Thread):
    """One connection; a random mix of SET, SET EX, DEL, GETDEL, EXPIRE, PERSIST, INCRBY,
    APPEND, MSET over its own string keys, counter keys and append keys, and GETs that check
    what it reads. Violations are collected in self.violations."""

    def __init__(self, port, tag, number, stop, seed):
        super().__init__(daemon=True)
        self.port, self.tag, self.number, self.stop = port, tag, number, stop
        self.rng = random.Random(seed)
        self.models = {}
        # Keys with a write of unknown outcome: read (GET) before written again, as a careful
        # client does, so the possible states stay few.
        self.unsure = set()
        self.violations = []
        self.ops = 0
        self.ambiguous = 0
        self.failure = None

    def key(self, kind, i):
        return "mixed:%s:w%d:%s%d" % (self.tag, self.number, kind, i)

    def model(self, key):
        if key not in self.models:
            self.models[key] = KeyModel(key)
        return self.models[key]

    def call(self, conn, *args):
        """(reply or AMBIGUOUS, connection to use next)."""
        try:
            reply = conn.call(*args)
        except (OSError, resp.RespError):  # the gateway died: outcome unknown
            conn.close()
            conn = None
            while conn is None and not self.stop.is_set():
                try:
                    conn = resp.Connection(self.port)
                except OSError:
                    time.sleep(0.01)
            return AMBIGUOUS, conn
        if reply[0] == "-" and "unavailable" in reply[1]:
            return AMBIGUOUS, conn
        return reply, conn

    def broken(self, key):
        return key in self.models and self.models[key].broken

    def record(self, key, op, reply):
        m = self.model(key)
        if not m.apply(op, reply):
            self.violations.append("%s: %s answered %r, impossible after %r"
                                   % (key, op[0], reply, m.history[-12:-1]))
            m.broken = True

    def run(self):
        try:
            conn = resp.Connection(self.port)
            n = 0
            while not self.stop.is_set() and conn is not None:
                n += 1
                r = self.rng.random()
                value = ("%s-w%d-n%d" % (self.tag, self.number, n)).encode()
                if r < 0.55:
                    key = self.key("s", self.rng.randrange(24))
                    op = self.rng.choice([("SET", value), ("SET", value), ("SETEX", value),
                                          ("DEL",), ("GETDEL",), ("EXPIRE",), ("PERSIST",),
                                          ("GET",)])
                    if op[0] == "SET":
                        args = ("SET", key, value)
                    elif op[0] == "SETEX":
                        args = ("SET", key, value, "EX", "100000")
                    elif op[0] == "EXPIRE":
                        args = ("EXPIRE", key, "100000")
                    else:
                        args = (op[0], key)
                elif r < 0.75:
                    key = self.key("c", self.rng.randrange(6))
                    delta = self.rng.choice([1, 2, 5, -3, 100])
                    op, args = ("INCRBY", delta), ("INCRBY", key, str(delta))
                    if self.rng.random() < 0.3:
                        op, args = ("GET",), ("GET", key)
                elif r < 0.9:
                    key = self.key("a", self.rng.randrange(6))
                    chunk = b"<%d>" % n
                    op, args = ("APPEND", chunk), ("APPEND", key, chunk)
                    if self.rng.random() < 0.3:
                        op, args = ("GET",), ("GET", key)
                else:
                    # MSET across shards: atomic per shard only, so each key is judged alone.
                    keys = sorted({self.key("s", self.rng.randrange(24)) for _ in range(3)})
                    if any(self.broken(k) or k in self.unsure for k in keys):
                        continue
                    reply, conn = self.call(conn, "MSET", *[x for k in keys for x in (k, value)])
                    self.ops += 1
                    if reply is not AMBIGUOUS and reply != ("+", "OK"):
                        self.violations.append("MSET %s answered %r" % (keys, reply))
                    for k in keys:
                        self.record(k, ("SET", value), AMBIGUOUS if reply is AMBIGUOUS
                                    else ("+", "OK"))
                    if reply is AMBIGUOUS:
                        self.ambiguous += 1
                        self.unsure.update(keys)
                    continue
                if self.broken(key):
                    continue
                if key in self.unsure:
                    op, args = ("GET",), ("GET", key)
                reply, conn = self.call(conn, *args)
                self.ops += 1
                if reply is AMBIGUOUS:
                    self.ambiguous += 1
                    if op[0] != "GET":
                        self.record(key, op, AMBIGUOUS)
                        self.unsure.add(key)
                    continue
                if op[0] == "GET":
                    m = self.model(key)
                    self.unsure.discard(key)
                    if reply[0] != "$" or not m.observe_value(reply[1]):
                        self.violations.append("%s: GET answered %r, impossible after %r"
                                               % (key, reply, m.history[-12:-1]))
                        m.broken = True
                    continue
                if reply[0] == "-":
                    self.violations.append("%s: %s answered %r" % (key, op[0], reply))
                    continue
                self.record(key, op, reply)
            if conn is not None:
                conn.close()
        except Exception as e:  # reported by the test
            self.failure = repr(e)


class CrashTest(unittest.TestCase):
    def run_load(self, server, tag, duration, events, served_after=0.0):
        """Writers for `duration` s; `events` = [(at_seconds, fn)] run meanwhile, in order.
        With `served_after`, the writers also go on for that long after every shard serves
        again following the last event (a restart under ASan on a busy machine takes ~1 s,
        so a fixed duration alone may end before it). Returns (attempts by key, writers,
        {event index: monotonic time it ran})."""
        stop = threading.Event()
        writers = [Writer(server.port, tag, w, stop) for w in range(WRITERS)]
        start = time.monotonic()
        for w in writers:
            w.start()
        times = {}
        try:
            for i, (at, fn) in enumerate(events):
                time.sleep(max(0.0, start + at - time.monotonic()))
                times[i] = time.monotonic()
                fn()
            end = start + duration
            if served_after > 0:
                wait_until(lambda: all_shards_serve(server.port), 30, "shards serving")
                end = max(end, time.monotonic() + served_after)
            time.sleep(max(0.0, end - time.monotonic()))
        finally:
            stop.set()
        for w in writers:
            w.join(30)
            self.assertFalse(w.is_alive(), "writer stuck")
            self.assertIsNone(w.failure)
        by_key = {}
        for w in writers:
            for a in w.attempts:
                by_key.setdefault(a.key, []).append(a)
        return by_key, writers, times

    def kill_shards(self, server, shards):
        """SIGKILLs the given shards and waits until the supervisor has restarted them."""
        old = {s: shard_pid(server.data_dir, s) for s in shards}
        for s, pid in old.items():
            self.assertIsNotNone(pid, "shard %d not found" % s)
            os.kill(pid, signal.SIGKILL)
        for s, pid in old.items():
            wait_until(lambda: shard_pid(server.data_dir, s) not in (None, pid), 20,
                       "shard %d restart" % s)

    def summary(self, name, by_key, writers, state):
        attempts = [a for w in writers for a in w.attempts]
        acked = sum(a.acked for a in attempts)
        errors = [a for a in attempts if a.error]
        applied = sum(1 for a in errors if state[a.key][0] == a.value)
        print("%s: %d writes attempted, %d acknowledged, %d answered with errors (e.g. %r; "
              "%d of them reached the log anyway), %d keys"
              % (name, len(attempts), acked, len(errors), errors[0].error if errors else None,
                 applied, len(by_key)))
        return attempts

    def test_fsync_always_keeps_every_acknowledged_write(self):
        s = CrashServer("--threads", "2", "--fsync", "always")
        try:
            s.ready()
            by_key, writers, times = self.run_load(
                s, "always", 4.0,
                [(1.0, lambda: self.kill_shards(s, [0])),
                 (2.5, lambda: self.kill_shards(s, [1]))], served_after=1.0)
            # Writers are stopped: kill both shards once more, then read everything back.
            final_kill = time.monotonic()
            self.kill_shards(s, [0, 1])
            wait_until(lambda: all_shards_serve(s.port), 30, "shards serving")
            state = fetch(s.port, sorted(by_key))
            attempts = self.summary("fsync always", by_key, writers, state)
            # Each mid-load kill was felt (errors naming the shard), and the restarted shard
            # served the load again before the final kill (a revision's low 6 bits are the id of
            # the shard that wrote it).
            for i in (0, 1):
                self.assertTrue(any(a.error and ("shard %d unavailable" % i) in a.error[1]
                                    for a in attempts), "kill of shard %d not felt" % i)
                self.assertTrue(any(a.acked and a.revision and a.revision & 0x3F == i
                                    and a.sent > times[i] and a.answered < final_kill
                                    for a in attempts), "shard %d did not come back" % i)
            violations, _ = check(by_key, state)
            self.assertEqual(violations[:20], [])
            stray = state["__all_keys__"] - set(by_key)
            self.assertEqual(stray, set(), "keys never written")
            # Revisions keep rising across restarts: per key, acknowledged order = revision order.
            for key, attempts_of_key in by_key.items():
                revs = [a.revision for a in attempts_of_key if a.acked and a.revision]
                self.assertEqual(revs, sorted(set(revs)), key)
            self.assertIn("restart", s.log_text())
        finally:
            code = s.stop()
        self.assertEqual(code, 0)

    def test_gateway_and_supervisor_sigkill_keep_every_acknowledged_write(self):
        """SIGKILL of the RESP gateway under load (the supervisor restarts it; clients
        reconnect), then of beyond-kv itself (its children must not outlive it), then a
        restart on the same data directory (no stale socket or lock in the way): with
        --fsync always every acknowledged write is there and nothing unwritten appears."""
        s = CrashServer("--threads", "2", "--fsync", "always")
        restart_s = []

        def kill_gateway():
            [old] = child_pids(s.data_dir, "kv-resp-gateway")
            killed = time.monotonic()
            os.kill(old, signal.SIGKILL)
            wait_until(lambda: child_pids(s.data_dir, "kv-resp-gateway") not in ([], [old])
                       and answers_ping(s.port), 10, "gateway restart")
            restart_s.append(time.monotonic() - killed)

        try:
            s.ready()
            by_key, writers, times = self.run_load(s, "gw", 4.0, [(1.5, kill_gateway)])
            print("RESP gateway back %.3f s after SIGKILL" % restart_s[0])
            self.assertLess(restart_s[0], 2.0)  # ~0.1 s backoff + start; slack for CI load
            attempts = [a for w in writers for a in w.attempts]
            self.assertTrue(any(a.error and a.error[0] == "conn" for a in attempts),
                            "gateway kill not felt")
            self.assertTrue(any(a.acked and a.sent > times[0] for a in attempts),
                            "no write acknowledged after the gateway came back")
            # Now the supervisor itself: every child goes with it (PR_SET_PDEATHSIG).
            children = [p for b in ("kv-shard", "kv-resp-gateway")
                        for p in child_pids(s.data_dir, b)]
            self.assertEqual(len(children), 3)
            s.proc.kill()
            s.proc.wait()
            wait_until(lambda: not any(alive(p) for p in children), 30,
                       "children of a killed beyond-kv to exit")
            s.start()  # same data directory: stale sockets and the lock must not stop it
            s.ready()
            wait_until(lambda: all_shards_serve(s.port), 30, "shards serving")
            state = fetch(s.port, sorted(by_key))
            self.summary("gateway and supervisor SIGKILL", by_key, writers, state)
            violations, _ = check(by_key, state)
            self.assertEqual(violations[:20], [])
            self.assertEqual(state["__all_keys__"] - set(by_key), set(), "keys never written")
        finally:
            code = s.stop()
        self.assertEqual(code, 0)

    def test_mixed_load_sigkill_of_shards_gateway_and_supervisor(self):
        """Issue 14: SET/SET EX/DEL/GETDEL/EXPIRE/PERSIST/INCRBY/APPEND/MSET and checked GETs
        from 4 writers with --fsync always while shard 0, shard 1, the RESP gateway and then
        beyond-kv itself are SIGKILLed. Each shard is back within a second; meanwhile its
        keys fail fast and the other shard keeps serving; after the restart every key is in a
        state its acknowledged commands allow (no acknowledged write lost, nothing unwritten)."""
        s = CrashServer("--threads", "2", "--fsync", "always")
        stop = threading.Event()
        try:
            s.ready()
            probe_keys = {}
            c = resp.Connection(s.port)
            for i in range(64):
                k = "mixed:probe:%d" % i
                c.call("SET", k, "p")
                probe_keys.setdefault(c.call("REVISION", k)[1] & 0x3F, k)
                if len(probe_keys) == 2:
                    break
            c.close()
            self.assertEqual(sorted(probe_keys), [0, 1])
            samples = {0: [], 1: []}  # shard -> [(sent, latency s, ok)]

            def probe(shard):
                conn = resp.Connection(s.port, timeout=5)
                while not stop.is_set():
                    t0 = time.monotonic()
                    try:
                        ok = conn.call("GET", probe_keys[shard]) == ("$", b"p")
                    except (OSError, resp.RespError):
                        ok = False
                        conn.close()
                        while not stop.is_set():
                            try:
                                conn = resp.Connection(s.port, timeout=5)
                                break
                            except OSError:
                                time.sleep(0.01)
                    samples[shard].append((t0, time.monotonic() - t0, ok))
                    time.sleep(0.005)
                conn.close()

            probers = [threading.Thread(target=probe, args=(i,), daemon=True) for i in (0, 1)]
            writers = [MixedWriter(s.port, "mx", w, stop, seed=1000 + w) for w in range(WRITERS)]
            for t in probers + writers:
                t.start()
            kills = {}

            def kill_shard(i):
                pid = shard_pid(s.data_dir, i)
                self.assertIsNotNone(pid)
                kills[i] = time.monotonic()
                os.kill(pid, signal.SIGKILL)

            def kill_gateway():
                [old] = child_pids(s.data_dir, "kv-resp-gateway")
                os.kill(old, signal.SIGKILL)

            start = time.monotonic()
            for at, fn in [(1.0, lambda: kill_shard(0)), (2.5, lambda: kill_shard(1)),
                           (3.6, kill_gateway)]:
                time.sleep(max(0.0, start + at - time.monotonic()))
                fn()
            time.sleep(max(0.0, start + 4.8 - time.monotonic()))
            stop.set()
            for t in probers + writers:
                t.join(30)
                self.assertFalse(t.is_alive(), "client stuck")
            for w in writers:
                self.assertIsNone(w.failure)

            # Each shard back within a second; its keys failed fast meanwhile; the other
            # shard answered every probe until the gateway kill.
            for i in (0, 1):
                after = [x for x in samples[i] if x[0] >= kills[i]]
                back = next((t0 + lat for t0, lat, ok in after if ok), None)
                self.assertIsNotNone(back, "shard %d never served again" % i)
                outage = [x for x in after if x[0] + x[1] <= back]
                slowest = max((lat for _, lat, _ in outage), default=0.0)
                print("shard %d: serving again %.3f s after SIGKILL; %d probes meanwhile, "
                      "slowest answer %.3f s" % (i, back - kills[i], len(outage), slowest))
                # Within a second; an ASan build starts and recovers ~2x slower (one CI run
                # here took 1.007 s), so it gets two.
                bound = 2.0 if "ASAN_OPTIONS" in os.environ else 1.0
                self.assertLess(back - kills[i], bound, "shard %d restart" % i)
                self.assertLess(slowest, 0.5, "requests for a dead shard must fail fast")
                other = 1 - i
                window = [x for x in samples[other]
                          if kills[i] <= x[0] and x[0] + x[1] <= back]
                self.assertTrue(window and all(ok for _, _, ok in window),
                                "shard %d did not keep serving while shard %d was down: %r"
                                % (other, i, [x for x in window if not x[2]][:3]))

            # Then beyond-kv itself: children exit with it; a restart on the same directory.
            children = [p for b in ("kv-shard", "kv-resp-gateway")
                        for p in child_pids(s.data_dir, b)]
            s.proc.kill()
            s.proc.wait()
            wait_until(lambda: not any(alive(p) for p in children), 30,
                       "children of a killed beyond-kv to exit")
            s.start()
            s.ready()
            wait_until(lambda: all_shards_serve(s.port), 30, "shards serving")

            models = {k: m for w in writers for k, m in w.models.items()}
            violations = [v for w in writers for v in w.violations]
            c = resp.Connection(s.port, timeout=30)
            keys = sorted(models)
            replies = c.pipeline([("GET", k) for k in keys] + [("TTL", k) for k in keys])
            for j, k in enumerate(keys):
                value, ttl = replies[j][1], replies[len(keys) + j][1]
                final = (value, value is not None and ttl > 0)
                m = models[k]
                if not m.broken and final not in m.states:
                    violations.append("%s: after restart %r (ttl %r), possible %r; last: %r"
                                      % (k, value, ttl, sorted(m.states, key=repr)[:4],
                                         m.history[-8:]))
            present = {x[1].decode() for x in c.call("KEYS", "mixed:mx:*")[1]}
            c.close()
            ops = sum(w.ops for w in writers)
            ambiguous = sum(w.ambiguous for w in writers)
            print("mixed load: %d commands, %d with unknown outcome (shard or gateway killed "
                  "under them), %d keys checked" % (ops, ambiguous, len(keys)))
            self.assertEqual(violations[:10], [])
            self.assertEqual(present - set(keys), set(), "keys never written")
            self.assertGreater(ambiguous, 0, "the kills were not felt")
        finally:
            stop.set()
            code = s.stop()
        self.assertEqual(code, 0)

    def test_fsync_everysec_loses_at_most_the_last_second(self):
        s = CrashServer("--threads", "2", "--fsync", "everysec")
        try:
            s.ready()
            by_key, writers, times = self.run_load(
                s, "everysec", 4.0, [(3.0, lambda: self.kill_shards(s, [0, 1]))],
                served_after=1.0)
            wait_until(lambda: all_shards_serve(s.port), 30, "shards serving")
            state = fetch(s.port, sorted(by_key))
            attempts = self.summary("fsync everysec", by_key, writers, state)
            kill_at = times[0]
            violations, lost = check(by_key, state, old_before=kill_at - 1.5)
            # Acknowledged after the restart, or more than 1.5 s before the kill: all present.
            self.assertEqual(violations[:20], [])
            self.assertEqual(state["__all_keys__"] - set(by_key), set(), "keys never written")
            recent = [a for a in attempts if a.acked and kill_at - 1.5 <= a.answered < kill_at]
            print("fsync everysec: %d writes acknowledged in the last 1.5 s before the kill, "
                  "%d of them lost (a process kill keeps the page cache: 0 expected)"
                  % (len(recent), len(lost)))
            self.assertGreater(len(recent), 0)
            self.assertGreater(sum(1 for a in attempts if a.acked and a.sent > kill_at + 0.05), 0)
        finally:
            code = s.stop()
        self.assertEqual(code, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
