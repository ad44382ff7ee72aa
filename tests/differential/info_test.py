"""RESP INFO against a real beyond-kv: its figures move when commands run, and they are the
figures GET /metrics reports (per namespace, per shard), as issue 7 asks."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402
from differential_test import free_port, wait_ready  # noqa: E402
from sse_test import Server  # noqa: E402


def parse_info(text):
    """{section: {field: value}}, a value "a=1,b=2" as a dict, numbers as int or float."""
    def number(v):
        for cast in (int, float):
            try:
                return cast(v)
            except ValueError:
                pass
        return v

    sections, current = {}, None
    for line in text.split("\r\n"):
        if line.startswith("# "):
            current = sections.setdefault(line[2:].lower(), {})
        elif ":" in line:
            key, value = line.split(":", 1)
            if "=" in value:
                value = {k: number(v) for k, v in (item.rsplit("=", 1) for item in value.split(","))}
            else:
                value = number(value)
            current[key] = value
    return sections


def parse_metrics(text):
    """{(name, (("label", "value"), ...)): value} of the samples of a Prometheus text page."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        labels = ()
        if "{" in series:
            name, rest = series.split("{", 1)
            labels = tuple(tuple(p.split("=", 1)) for p in rest.rstrip("}").split(","))
            labels = tuple((k, v.strip('"')) for k, v in labels)
        else:
            name = series
        samples[(name, labels)] = float(value)
    return samples


class InfoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.c = resp.Connection(cls.server.resp_port)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        assert cls.server.stop() == 0

    def info(self, *sections):
        t, text = self.c.call("INFO", *sections)
        self.assertEqual(t, "$")
        return parse_info(text.decode())

    def test_sections(self):
        default = self.info()
        for name in ("server", "clients", "memory", "persistence", "stats", "keyspace",
                     "namespaces", "shards"):
            self.assertIn(name, default)
        self.assertNotIn("commandstats", default)
        self.assertNotIn("latencystats", default)
        everything = self.info("everything")
        self.assertIn("commandstats", everything)
        self.assertIn("latencystats", everything)
        self.assertEqual(set(self.info("all")), set(everything))
        self.assertEqual(set(self.info("commandstats", "shards")), {"commandstats", "shards"})
        self.assertEqual(default["server"]["shards_up"], 3)
        self.assertEqual(sorted(default["shards"]), ["shard0", "shard1", "shard2"])

    def test_section_selection_as_redis(self):
        """INFO's section arguments select what they select on redis-server 7.0: several
        sections, any case, default/all/everything, unknown names adding nothing. Our own
        sections (namespaces, shards) come last, as a module's would, and only where selected;
        the sections in between appear in Redis's order."""
        tmp = tempfile.mkdtemp(prefix="bkv-info-", dir="/tmp")
        port = free_port()
        redis_server = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_ready(port, redis_server, os.devnull)
            redis = resp.Connection(port)
            ours_only = ("# Namespaces", "# Shards")

            def headers(conn, args):
                t, text = conn.call("INFO", *args)
                self.assertEqual(t, "$", args)
                return [l for l in text.decode().split("\r\n") if l.startswith("# ")]

            cases = [(), ("server",), ("SERVER",), ("Server", "clients"), ("clients", "server"),
                     ("nosuch",), ("nosuch", "keyspace"), ("keyspace", "KEYSPACE"),
                     ("default",), ("DEFAULT",), ("all",), ("ALL",), ("everything",),
                     ("default", "commandstats"), ("default", "all"), ("all", "nosuch"),
                     ("commandstats", "latencystats", "errorstats"), ("cpu",), ("replication",),
                     ("modules",), ("module_list",), ("cluster",), ("memory", "persistence", "stats"),
                     ("everything", "server"), ("default", "default")]
            for args in cases:
                want = headers(redis, args)
                got = headers(self.c, args)
                self.assertEqual([h for h in got if h not in ours_only], want, args)
                ours = [h for h in got if h in ours_only]
                self.assertEqual(got[len(got) - len(ours):], ours, args)  # ours come last
                lowered = {a.lower() for a in args}
                selected = not args or lowered & {"default", "all", "everything"}
                self.assertEqual(bool(ours), bool(selected), args)
            self.assertEqual(headers(self.c, ("namespaces", "Shards")), list(ours_only))
            self.assertEqual(self.c.call("INFO", "nosuch"), redis.call("INFO", "nosuch"))
            for field in ("role:master", "connected_slaves:0", "cluster_enabled:0"):
                self.assertIn(field, self.c.call("INFO")[1].decode().split("\r\n"))
            cpu = self.info("cpu")["cpu"]
            self.assertGreater(cpu["used_cpu_sys"] + cpu["used_cpu_user"], 0)
            redis.close()
        finally:
            redis_server.terminate()
            redis_server.wait(timeout=30)
            shutil.rmtree(tmp, ignore_errors=True)

    def test_figures_move_with_commands(self):
        before = self.info("everything")
        c = self.c
        c.call("SELECT", "3")
        for i in range(30):
            self.assertEqual(c.call("SET", "info:%d" % i, "v" * 100), ("+", "OK"))
        for i in range(30):
            c.call("GET", "info:%d" % i)
        c.call("SET", "info:x")  # wrong arity: rejected
        c.call("INCR", "info:0")  # not an integer: failed
        c.call("SELECT", "0")
        after = self.info("everything")

        cmd_b, cmd_a = before["commandstats"], after["commandstats"]
        set_b = cmd_b.get("cmdstat_set", {"calls": 0, "usec": 0, "rejected_calls": 0})
        set_a = cmd_a["cmdstat_set"]
        self.assertEqual(set_a["calls"] - set_b["calls"], 30)
        self.assertGreater(set_a["usec"], set_b["usec"])
        self.assertEqual(set_a["rejected_calls"] - set_b["rejected_calls"], 1)
        self.assertGreater(set_a["usec_per_call"], 0)
        self.assertGreaterEqual(cmd_a["cmdstat_get"]["calls"], 30)
        incr_b = cmd_b.get("cmdstat_incr", {"failed_calls": 0})
        self.assertEqual(cmd_a["cmdstat_incr"]["failed_calls"] - incr_b["failed_calls"], 1)
        lat = after["latencystats"]["latency_percentiles_usec_set"]
        self.assertTrue(0 < lat["p50"] <= lat["p99"] <= lat["p99.9"])

        self.assertEqual(after["keyspace"]["db3"]["keys"], 30)
        ns3 = after["namespaces"]["ns3"]
        self.assertEqual(ns3["keys"], 30)
        self.assertGreaterEqual(ns3["live_bytes"], 30 * 100)
        self.assertGreaterEqual(ns3["log_bytes"], ns3["live_bytes"])
        shards = after["shards"]
        self.assertEqual(sum(s["keys"] for s in shards.values()),
                         sum(ns["keys"] for ns in after["namespaces"].values()))
        self.assertTrue(all(s["up"] == 1 for s in shards.values()))
        ops = lambda info: sum(s["ops"] for s in info["shards"].values())
        self.assertGreaterEqual(ops(after) - ops(before), 61)
        hits = lambda info: sum(s["cache_hits"] + s["cache_misses"] for s in info["shards"].values())
        self.assertGreaterEqual(hits(after) - hits(before), 30)
        self.assertEqual(after["stats"]["cache_hits"],
                         sum(s["cache_hits"] for s in shards.values()))
        self.assertGreater(after["stats"]["total_commands_processed"],
                           before["stats"]["total_commands_processed"] + 60)
        self.assertGreaterEqual(after["persistence"]["log_bytes"], ns3["log_bytes"])

        # BGREWRITEAOF (reclaim) moves reclaim_runs, in total and per shard.
        runs = lambda info: info["persistence"]["reclaim_runs"]
        self.assertEqual(c.call("BGREWRITEAOF")[0], "+")
        deadline = time.time() + 30
        while runs(self.info("persistence")) == runs(before) and time.time() < deadline:
            time.sleep(0.05)
        now = self.info("persistence", "shards")
        self.assertGreater(runs(now), runs(before))
        self.assertEqual(runs(now), sum(s["reclaim_runs"] for s in now["shards"].values()))

    def test_same_figures_as_metrics(self):
        c = resp.Connection(self.server.resp_port)
        c.call("SELECT", "5")
        for i in range(20):
            expiry = ("PX", "600000") if i % 2 else ()
            self.assertEqual(c.call("SET", "same:%d" % i, "x" * i, *expiry), ("+", "OK"))
        c.close()
        # Nothing else writes now: a scrape and an INFO read the same state.
        _, _, page = self.server.request("GET", "/metrics")
        m = parse_metrics(page.decode())
        info = self.info("namespaces", "shards", "clients")
        for shard, s in info["shards"].items():
            sid = shard[len("shard"):]
            per_ns = lambda name: sum(v for (n, labels), v in m.items()
                                      if n == name and ("shard", sid) in labels)
            self.assertEqual(m[("beyondkv_shard_up", (("shard", sid),))], s["up"])
            self.assertEqual(per_ns("beyondkv_keys"), s["keys"])
            self.assertEqual(per_ns("beyondkv_keys_with_expiry"), s["expires"])
            self.assertEqual(per_ns("beyondkv_live_bytes"), s["live_bytes"])
            self.assertEqual(per_ns("beyondkv_log_bytes"), s["log_bytes"])
            self.assertEqual(per_ns("beyondkv_sealed_segments"), s["sealed_segments"])
            one = lambda name: m[(name, (("shard", sid),))]
            self.assertEqual(one("beyondkv_cache_hits_total"), s["cache_hits"])
            self.assertEqual(one("beyondkv_cache_misses_total"), s["cache_misses"])
            self.assertEqual(one("beyondkv_cache_bytes"), s["cache_bytes"])
            self.assertEqual(one("beyondkv_cache_budget_bytes"), s["cache_budget_bytes"])
            self.assertEqual(one("beyondkv_index_bytes"), s["index_bytes"])
            self.assertEqual(one("beyondkv_reclaim_runs_total"), s["reclaim_runs"])
            self.assertEqual(one("beyondkv_expired_keys_total"), s["expired_keys"])
            self.assertEqual(one("beyondkv_corrupt_records_total"), s["corrupt_records"])
        ns5 = info["namespaces"]["ns5"]
        for name, field in (("beyondkv_keys", "keys"), ("beyondkv_keys_with_expiry", "expires"),
                            ("beyondkv_live_bytes", "live_bytes"),
                            ("beyondkv_log_bytes", "log_bytes")):
            self.assertEqual(sum(v for (n, labels), v in m.items()
                                 if n == name and ("ns", "5") in labels), ns5[field], name)
        self.assertEqual((ns5["keys"], ns5["expires"]), (20, 10))


if __name__ == "__main__":
    unittest.main(verbosity=2)
