#!/usr/bin/env python3
"""Latency from a write's acknowledgement to its WATCH push frame, against a running beyond-kv.

Usage: tools/bench/watch_latency.py PORT [samples]
One writer connection SETs keys under a prefix one at a time; one RESP3 connection PWATCHes
the prefix. For each write: t_ack = when the SET reply arrived, t_push = when its push frame
arrived; latency = max(0, t_push - t_ack) (the push may even arrive first). Prints p50, p90,
p99 and max in ms. Both connections run in this process, so the figure includes one Python
socket read.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "differential"))
import resp  # noqa: E402


def main():
    port = int(sys.argv[1])
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    watcher = resp.Connection(port)
    watcher.call("HELLO", "3")
    watcher.send_raw(resp.Connection.encode(("PWATCH", "lat:")))
    assert watcher.read_reply()[1][1][1] == b"ready"
    writer = resp.Connection(port)
    lat = []
    for i in range(samples):
        key = "lat:%d" % (i % 100)
        writer.send_raw(resp.Connection.encode(("SET", key, str(i))))
        assert writer.read_reply() == ("+", "OK")
        t_ack = time.perf_counter()
        frame = watcher.read_reply()
        t_push = time.perf_counter()
        assert frame[1][3][1] == str(i).encode(), frame
        lat.append(max(0.0, t_push - t_ack) * 1000)
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))]
    print("samples %d: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms"
          % (len(lat), pct(50), pct(90), pct(99), lat[-1]))


if __name__ == "__main__":
    main()
