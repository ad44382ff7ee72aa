"""End-to-end tests run once per gateway-to-shard transport (architecture §3): the target
itself on the shard link (the default), and `<name>_grpc` with KV_SHARD_TRANSPORT=grpc, which
beyond-kv and both gateways read, so both paths stay correct.

The `_grpc` twin also sets KV_SOCKET_IO=syscalls: the RESP gateway then reads and writes its
clients with a read() and a write() per connection instead of batched io_uring submissions
(gateway --socket-io), so that path, the fallback where io_uring is unavailable, is tested
end to end as well."""

def _both(rule, name, **kwargs):
    rule(name = name, **kwargs)
    env = dict(kwargs.pop("env", {}))
    env["KV_SHARD_TRANSPORT"] = "grpc"
    env["KV_SOCKET_IO"] = "syscalls"
    rule(name = name + "_grpc", env = env, **kwargs)

def cc_test_both_transports(name, **kwargs):
    _both(native.cc_test, name, **kwargs)

def py_test_both_transports(name, **kwargs):
    _both(native.py_test, name, **kwargs)
