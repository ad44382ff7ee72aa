#!/usr/bin/env python3
"""Writes the seed corpora of tools/fuzz/corpus/<target>/ (small valid inputs). Rerun after a
format change: python3 tools/fuzz/make_corpus.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def record(rtype, key, value=b"", meta=b"", revision=1, expire=0):
    body = struct.pack("<BBHQqIII", rtype, 0, 0, revision, expire, len(key), len(meta), len(value))
    crc = crc32c(body + key + meta + value)
    return struct.pack("<I", crc) + body + key + meta + value


def hint(entries, segment_size, corrupt=0):
    out = struct.pack("<QIIIIQQQ", 0x0A544E4948564B42, 2, 0, 0, corrupt, 1, segment_size,
                      len(entries))
    for rtype, key, revision, expire, offset, meta_len, value_len in entries:
        out += struct.pack("<B3xIQqQII", rtype, len(key), revision, expire, offset, meta_len,
                           value_len) + key
    return out + struct.pack("<I", crc32c(out))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# RESP: the last 4 bytes seed the chunk sizes.
seed = b"\x07\x00\x00\x00"
write("resp_parser_fuzzer", "multibulk", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n" + seed)
write("resp_parser_fuzzer", "inline", b"set k \"a\\x41\\n\" 'it''s'\r\nPING\n" + seed)
write("resp_parser_fuzzer", "pipeline", b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n*0\r\n*-1\r\n" + seed)
write("resp_parser_fuzzer", "bad_count", b"*1\r\n$-5\r\n" + seed)
write("resp_parser_fuzzer", "partial", b"*2\r\n$3\r\nGET\r\n$10\r\nabc" + seed)

# Glob: flags byte, pattern, 0xFF, subject.
write("glob_fuzzer", "star", b"\x00h*llo\xffheeello")
write("glob_fuzzer", "class", b"\x00[a-c]?[^x]\\*\xffbq y*")
write("glob_fuzzer", "nocase", b"\x01*FOO*[Z-a]\xffxxfooyy_")
write("glob_fuzzer", "unterminated", b"\x00a[bc\xffab")
write("glob_fuzzer", "stars", b"\x00*a*b*c*d*e*\xffaaaabbbbccccddddeeeef")

# HTTP: the whole input is each function's text.
write("http_parse_fuzzer", "query", b"limit=10&cursor=1.a2V5&ns=3")
write("http_parse_fuzzer", "escapes", b"a%20b=c+d&%E2%82%AC=%00&flag")
write("http_parse_fuzzer", "base64", b"aGVsbG8gd29ybGQ")
write("http_parse_fuzzer", "cursor", b"1.a2V5MQ")
write("http_parse_fuzzer", "decimal", b"-9223372036854775808")

# Hint files (valid: magic, checksum, entries inside the segment).
SEG = 40
write("hint_file_fuzzer", "empty", hint([], SEG))
write("hint_file_fuzzer", "two", hint([(1, b"a", 1, 0, SEG, 0, 3), (2, b"bb", 2, 0, SEG + 40, 0, 0)],
                                      SEG + 40 + 38 + 10))
write("hint_file_fuzzer", "expire_flush", hint([(3, b"k", 5, 1700000000000, SEG, 0, 0),
                                                (4, b"", 6, 0, SEG + 37, 0, 0)], 200, corrupt=1))

# Record decoding / recovery: mode byte, where byte, then bytes appended or spliced in.
write("record_recovery_fuzzer", "append_put", b"\x00\x00" + record(1, b"new", b"value", revision=7))
write("record_recovery_fuzzer", "splice_sealed", b"\x05\x60" + record(2, b"key1", revision=9))
write("record_recovery_fuzzer", "overwrite", b"\x02\x30" + b"\xff" * 20)
write("record_recovery_fuzzer", "torn", b"\x03\x99")
write("record_recovery_fuzzer", "flush", b"\x04\x00" + record(4, b"", revision=11))
write("record_recovery_fuzzer", "meta", b"\x01\x10" + record(1, b"m", b"v", b"{}", revision=3, expire=5))
