"""Typical redis-py calls against beyond-kv (Debian's python3-redis); exits non-zero on the
first mismatch. Usage: /usr/bin/python3 redis_py_client.py PORT"""
import sys

import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, db=5, decode_responses=True)
assert r.ping() is True
assert r.set("py:greeting", "hello") is True
assert r.get("py:greeting") == "hello"
assert r.set("py:greeting", "x", nx=True) is None
assert r.set("py:ttl", "v", ex=100) is True
assert 98 <= r.ttl("py:ttl") <= 100
assert r.mset({"py:a": "1", "py:b": "2", "py:c": "3"}) is True
assert r.mget(["py:a", "py:missing", "py:c"]) == ["1", None, "3"]
assert r.incr("py:counter") == 1
assert r.incrby("py:counter", 41) == 42
assert r.incrbyfloat("py:float", 1.5) == 1.5
assert r.exists("py:a", "py:b", "py:missing") == 2
assert r.expire("py:a", 50) is True
assert r.persist("py:a") is True
assert r.type("py:a") == "string"
assert r.append("py:a", "23") == 3
assert r.strlen("py:a") == 3
assert r.getrange("py:a", 0, 1) == "12"
assert r.rename("py:a", "py:renamed") is True
assert sorted(r.scan_iter(match="py:*", count=2)) == sorted(
    ["py:greeting", "py:ttl", "py:renamed", "py:b", "py:c", "py:counter", "py:float"])
assert sorted(r.keys("py:?")) == ["py:b", "py:c"]
pipe = r.pipeline(transaction=False)
for i in range(100):
    pipe.set("py:pipe:%d" % i, i)
pipe.get("py:pipe:99")
assert pipe.execute()[-1] == "99"
assert r.delete("py:b", "py:c", "py:missing") == 2
assert r.dbsize() == 105
info = r.info()
assert info["redis_version"] == "7.0.15" and info["db5"]["keys"] == 105, info.get("db5")
r2 = redis.Redis(host="127.0.0.1", port=port, db=6, decode_responses=True)
assert r2.get("py:greeting") is None
assert r2.set("py:greeting", "db2") is True
assert r.get("py:greeting") == "hello"
assert r2.flushdb() is True
assert r.get("py:greeting") == "hello"
r.client_setname("py-test")
assert r.client_getname() == "py-test"
assert r.getdel("py:greeting") == "hello"
assert r.get("py:greeting") is None
try:
    r.execute_command("NOSUCHCOMMAND")
    raise AssertionError("unknown command must fail")
except redis.ResponseError as e:
    assert str(e).startswith("unknown command 'NOSUCHCOMMAND'"), str(e)
r.close()
r2.close()
print("redis-py: all calls matched")
