"""redis-py idioms that rely on MULTI/EXEC, run side by side against beyond-kv and a real
redis-server; every result must be identical (and correct). Exits non-zero on the first
mismatch. Usage: /usr/bin/python3 redis_py_idioms.py BEYOND_KV_PORT REDIS_PORT"""
import sys
import threading

import redis


def idioms(port):
    r = redis.Redis(host="127.0.0.1", port=port, db=7, decode_responses=True)
    r.flushdb()
    out = {}

    # pipeline() is transactional by default: MULTI ... EXEC.
    with r.pipeline() as p:
        p.set("tx:a", "1").incr("tx:a").get("tx:a").mget(["tx:a", "tx:none"]).delete("tx:a")
        out["pipeline"] = p.execute()
    # An error inside EXEC is that command's reply; the others still run.
    with r.pipeline() as p:
        p.set("tx:s", "text").incr("tx:s").set("tx:t", "after")
        out["pipeline_error"] = [repr(x) if isinstance(x, Exception) else x
                                 for x in p.execute(raise_on_error=False)]
    out["after_error"] = r.get("tx:t")

    # transaction(fn, key): WATCH + MULTI retried on conflict, from 4 threads x 50.
    def increment(pipe):
        n = int(pipe.get("tx:counter") or 0)
        pipe.multi()
        pipe.set("tx:counter", n + 1)

    def worker():
        c = redis.Redis(host="127.0.0.1", port=port, db=7, decode_responses=True)
        for _ in range(50):
            c.transaction(increment, "tx:counter")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["counter"] = r.get("tx:counter")

    # A WATCHed key changed by another client aborts EXEC.
    other = redis.Redis(host="127.0.0.1", port=port, db=7, decode_responses=True)
    with r.pipeline() as p:
        p.watch("tx:w")
        other.set("tx:w", "changed")
        p.multi()
        p.set("tx:w", "mine")
        try:
            p.execute()
            out["watch_abort"] = "executed"
        except redis.WatchError:
            out["watch_abort"] = "WatchError"
    out["watched_value"] = r.get("tx:w")

    # The rate limiter: MULTI; INCR; EXPIRE; EXEC.
    hits = []
    for _ in range(5):
        with r.pipeline() as p:
            p.incr("tx:rate").expire("tx:rate", 60)
            hits.append(p.execute())
    out["rate"] = hits
    out["rate_ttl_ok"] = 55 <= r.ttl("tx:rate") <= 60

    # Non-transactional pipeline stays a plain pipeline.
    with r.pipeline(transaction=False) as p:
        p.set("tx:n", "1").get("tx:n")
        out["plain"] = p.execute()
    return out


def main():
    ours, theirs = idioms(int(sys.argv[1])), idioms(int(sys.argv[2]))
    for key in theirs:
        if ours[key] != theirs[key]:
            print("MISMATCH %s: beyond-kv %r, redis %r" % (key, ours[key], theirs[key]))
            sys.exit(1)
    assert ours["counter"] == "200", ours["counter"]
    assert ours["watch_abort"] == "WatchError"
    assert ours["rate"][-1] == [5, True]
    print("redis-py idioms identical to redis-server: %s" % ", ".join(sorted(theirs)))


main()
