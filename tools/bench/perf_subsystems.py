#!/usr/bin/env python3
"""Summarises `perf script` output (samples with call chains) by process and subsystem.

Usage: perf script -i perf.data -F comm,pid,tid,period,ip,sym,dso --no-inline |
           tools/bench/perf_subsystems.py [--top N] [--process-map PID=NAME ...]

For each process (by pid; --process-map names them, else the comm), prints Markdown tables:
  - subsystems: self % (the sample's leaf frame is in the subsystem) and children % (some
    frame of the sample is), both as % of that process's samples;
  - the top functions by self % and by children % (a function counted once per sample).
Percentages are of the process's own samples (on-CPU time; perf samples only running threads).
Used by tools/bench/profile.sh.
"""
import argparse
import collections
import re
import sys

# (subsystem, predicate on (symbol, dso)). First match wins: order matters.
KERNEL_RULES = [
    # Socket-layer frames shared by TCP and unix sockets (sock_*, skb_*, __sys_sendto, ...) are
    # left generic: they take the subsystem of the nearest named caller.
    ("kernel: TCP/IP, loopback", re.compile(
        r"^(tcp_|__tcp_|inet_|ip_|__ip_|ipv4_|ip_local|ip_rcv|ip_finish|__netif|netif_|"
        r"__napi|napi_|net_rx|process_backlog|__dev_queue|dev_hard|loopback_|tcp)")),
    ("kernel: unix socket", re.compile(r"^(unix_|__unix|maybe_add_creds|scm_)")),
    ("kernel: futex, scheduler, wake-ups", re.compile(
        r"^(futex_|__futex|do_futex|__x64_sys_futex|schedule|__schedule|try_to_wake_up|"
        r"wake_up|__wake_up|ttwu_|pick_next|enqueue_|dequeue_|finish_task_switch|"
        r"context_switch|switch_mm|__switch_to|update_curr|psi_|select_task_rq|"
        r"__sched|sched_|hrtimer_|do_nanosleep|__x64_sys_nanosleep|native_queued_spin|"
        r"_raw_spin|raw_spin|queued_spin)")),
    ("kernel: epoll/poll", re.compile(r"^(ep_|do_epoll|__x64_sys_epoll|__sys_epoll|do_sys_poll|"
                                      r"__x64_sys_poll|__x64_sys_ppoll|do_poll|eventfd|"
                                      r"__x64_sys_eventfd)")),
    ("kernel: file I/O (pread/pwrite, ext4, page cache)", re.compile(
        r"^(__x64_sys_pread|__x64_sys_pwrite|ksys_pread|ksys_pwrite|ext4_|filemap_|"
        r"generic_file|generic_perform_write|iomap_|jbd2|__x64_sys_fdatasync|do_fsync|"
        r"file_write_and_wait|__filemap|folio_|page_cache_)")),
    ("kernel: syscall entry/exit", re.compile(
        r"^(entry_SYSCALL|do_syscall|syscall_exit|syscall_enter|exit_to_user|"
        r"irqentry_exit_to_user|__x64_sys_|x64_sys_call|syscall_trace)")),
]


KERNEL_GENERIC = "kernel: generic"  # a kernel frame no rule names; counted under its nearest caller's subsystem

# Frames every thread has (thread start, main): left out of the children sums.
THREAD_START = re.compile(r"^(_start|__libc_start_main|__libc_start_call_main|main|start_thread|"
                          r"clone|clone3|__clone|__clone3|std::execute_native_thread_routine|"
                          r"ret_from_fork|ret_from_fork_asm)$")


def classify(sym, dso):
    """Returns the subsystem of one frame (KERNEL_GENERIC for kernel frames no rule names)."""
    d = dso.rsplit("/", 1)[-1]
    if d.startswith("[kernel"):
        for name, rx in KERNEL_RULES:
            if rx.match(sym):
                return name
        return KERNEL_GENERIC
    if "libgrpc" in d or "libgpr" in d or "libaddress_sorting" in d or "libupb" in d:
        return "gRPC (libgrpc, libgrpc++, libgpr, templates in our binaries)"
    if "libprotobuf" in d:
        return "protobuf (library, generated code)"
    if "libabsl" in d:
        return "Abseil (mutex, strings, time)"
    if d.startswith("libc.so") or d.startswith("libc-") or d.startswith("libpthread") or d.startswith("ld-linux"):
        if re.match(r"^(malloc|free|cfree|_int_malloc|_int_free|_int_realloc|realloc|calloc|"
                    r"tcache|malloc_consolidate|__libc_malloc|__libc_free|__libc_calloc|"
                    r"__libc_realloc|unlink_chunk|_int_memalign|__posix_memalign|"
                    r"aligned_alloc|sysmalloc)", sym):
            return "malloc/free (glibc)"
        if re.match(r"^(__memmove|__memcpy|memcpy|memmove|__memset|memset|__memcmp|memcmp|"
                    r"__strlen|strlen|__memchr|memchr|__strchr)", sym):
            return "memcpy/memcmp/strlen (glibc)"
        if re.match(r"^(pthread_|__pthread|__lll_|lll_|___pthread|__GI___pthread|futex|"
                    r"__futex)", sym):
            return "pthread mutex/condvar (glibc)"
        return "glibc: other (syscall wrappers, ...)"
    if "libstdc++" in d:
        if re.match(r"^(operator new|operator delete|_Znwm|_ZdlPv)", sym):
            return "malloc/free (glibc)"
        return "libstdc++"
    if "libglog" in d or "libgflags" in d:
        return "glog"
    if d in ("kv-shard", "kv-resp-gateway", "beyond-kv", "kv-bench", "kv-http-gateway"):
        if re.search(r"v1::|\.pb\.|protobuf", sym):
            return "protobuf (library, generated code)"
        if re.search(r"grpc", sym):
            return "gRPC (libgrpc, libgrpc++, libgpr, templates in our binaries)"
        if re.search(r"S3Fifo|cache_internal|Cache", sym):
            return "beyond-kv: engine (index, log, value cache)"
        if re.search(r"LogEngine|engine::|Segment|Index|btree|Record", sym):
            return "beyond-kv: engine (index, log, value cache)"
        if re.search(r"Resp|resp|Parser|Reply|Command|gateway", sym, re.I):
            return "beyond-kv: gateway (RESP, commands)"
        if re.search(r"EngineWorker|Shard|shard", sym):
            return "beyond-kv: shard service"
        return "beyond-kv: other own code"
    if d == "[unknown]" or sym == "[unknown]":
        return "unknown frames"
    return "other library: " + d


def parse(stream):
    """Yields (comm, pid, period, [(sym, dso), ...] leaf first) per sample."""
    header = re.compile(r"^(\S.*?)\s+(\d+)(?:/(\d+))?\s+(\d+)\s*(?::\s*)?$")
    frame = re.compile(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")
    comm = pid = None
    period = 1
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                yield comm, pid, period, frames
            comm, frames = None, []
            continue
        if line[0] not in " \t":
            if comm is not None:
                yield comm, pid, period, frames
            m = header.match(line)
            if m:
                comm, pid, period = m.group(1), int(m.group(2)), int(m.group(4))
            else:
                comm, pid, period = line.split()[0], 0, 1
            frames = []
            continue
        m = frame.match(line)
        if m:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
            frames.append((sym, m.group(2)))
    if comm is not None:
        yield comm, pid, period, frames


def short(sym, width=90):
    sym = re.sub(r"\(.*\)", "()", sym) if len(sym) > width else sym
    return sym if len(sym) <= width else sym[: width - 3] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--process-map", nargs="*", default=[])
    args = ap.parse_args()
    names = dict(kv.split("=", 1) for kv in args.process_map)
    per = collections.defaultdict(lambda: {
        "total": 0, "self_sub": collections.Counter(), "child_sub": collections.Counter(),
        "self_fn": collections.Counter(), "child_fn": collections.Counter(),
        "threads": collections.Counter()})
    for comm, pid, period, frames in parse(sys.stdin):
        key = names.get(str(pid), None)
        if key is None:
            if names:
                continue  # not a process we were asked about
            key = comm
        p = per[key]
        p["total"] += period
        p["threads"][comm] += period
        if not frames:
            frames = [("[unknown]", "[unknown]")]
        subs = [classify(s, d) for s, d in frames]
        # A kernel frame no rule names (copy_to_user, spin locks, vfs_write, ...) belongs to the
        # nearest named kernel frame among its callers (e.g. tcp_sendmsg, futex_wait).
        for i, sub in enumerate(subs):
            if sub == KERNEL_GENERIC:
                subs[i] = next((x for x in subs[i + 1:] if x.startswith("kernel: ") and
                                x != KERNEL_GENERIC), "kernel: other")
        kept = [x for (s, _), x in zip(frames, subs) if not THREAD_START.match(s)]
        p["self_sub"][subs[0]] += period
        for s in set(kept):
            p["child_sub"][s] += period
        p["self_fn"][(frames[0][0], frames[0][1].rsplit("/", 1)[-1])] += period
        for f in set((s, d.rsplit("/", 1)[-1]) for s, d in frames):
            p["child_fn"][f] += period
    grand = sum(p["total"] for p in per.values()) or 1
    for key in sorted(per, key=lambda k: -per[k]["total"]):
        p = per[key]
        t = p["total"]
        print(f"\n### {key}: {t * 100 / grand:.1f}% of the profiled processes' samples\n")
        threads = ", ".join(f"`{c}` {v * 100 / t:.0f}%" for c, v in p["threads"].most_common(6))
        print(f"Samples by thread name: {threads}.\n")
        print("| subsystem | self % | children % |\n|---|---|---|")
        for sub, v in sorted(p["child_sub"].items(), key=lambda kv: -p["self_sub"][kv[0]] - kv[1] / 1000):
            if v * 100 / t < 1 and p["self_sub"][sub] * 100 / t < 1:
                continue
            print(f"| {sub} | {p['self_sub'][sub] * 100 / t:.1f} | {v * 100 / t:.1f} |")
        print(f"\nTop functions by self % ({key}):\n")
        print("| function | dso | self % | children % |\n|---|---|---|---|")
        for (sym, dso), v in p["self_fn"].most_common(args.top):
            print(f"| `{short(sym)}` | {dso} | {v * 100 / t:.1f} | {p['child_fn'][(sym, dso)] * 100 / t:.1f} |")
        print(f"\nTop functions by children % ({key}; entry points and thread starts excluded):\n")
        print("| function | dso | children % | self % |\n|---|---|---|---|")
        shown = 0
        for (sym, dso), v in p["child_fn"].most_common():
            if re.match(r"^(_start|__libc_start|main$|start_thread|clone|__clone|\[unknown\]|"
                        r"entry_SYSCALL|do_syscall_64|std::execute_native_thread_routine)", sym):
                continue
            print(f"| `{short(sym)}` | {dso} | {v * 100 / t:.1f} | {p['self_fn'][(sym, dso)] * 100 / t:.1f} |")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
