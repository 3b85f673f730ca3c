#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, fuzz/corpus/<target>/.

Usage: fuzz/make-seeds.py [OUTDIR]   (default: the corpus/ beside this file)

Every seed is built here from the FastCGI specification's wire format, so
the corpora can be regenerated and reviewed.  Each target's input starts
with a few control bytes (see the comment at the top of each
fuzz_<target>.cpp); the helpers below prepend them.  Files are named after
what they hold; rerunning the script rewrites them byte for byte.

With --known-bugs DIR it also writes, under DIR/<target>/, the minimal
inputs that reproduce bugs found by fuzzing (not part of the corpora while
the bugs are open, since the replay test would fail on them).
"""

import os
import struct
import sys

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES, \
    VALUES_RESULT, UNKNOWN = range(1, 12)
RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
KEEP = 1


def record(rtype, rid, content=b"", padding=None, version=1, length=None):
    """One record; padding defaults to rounding up to 8, length to the
    content's (a different length makes a hostile header)."""
    if padding is None:
        padding = (8 - len(content) % 8) % 8
    if length is None:
        length = len(content)
    return struct.pack(">BBHHBB", version, rtype, rid, length, padding, 0) + \
        content + b"\0" * padding


def nv_len(n, force_long=False):
    if n < 128 and not force_long:
        return bytes([n])
    return struct.pack(">I", n | 0x80000000)


def pair(name, value, force_long=False):
    return nv_len(len(name), force_long) + nv_len(len(value), force_long) + \
        name + value


def begin(rid, role=RESPONDER, flags=0):
    return record(BEGIN, rid, struct.pack(">HB5x", role, flags))


def stream(rtype, rid, data, chunk=65535, eos=True):
    out = b""
    for i in range(0, len(data), chunk):
        out += record(rtype, rid, data[i:i + chunk])
    if eos:
        out += record(rtype, rid)
    return out


CGI_PARAMS = [
    (b"SCRIPT_NAME", b"/hello"), (b"REQUEST_METHOD", b"POST"),
    (b"QUERY_STRING", b"a=1&b=2"), (b"CONTENT_LENGTH", b"11"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"HTTP_HOST", b"localhost"),
    (b"EMPTY", b""),
]


def params_bytes(pairs=CGI_PARAMS):
    return b"".join(pair(n, v) for n, v in pairs)


def request(rid=1, flags=0, body=b"hello world", role=RESPONDER, chunk=65535,
            pairs=CGI_PARAMS):
    return begin(rid, role, flags) + \
        stream(PARAMS, rid, params_bytes(pairs), chunk) + \
        stream(STDIN, rid, body, chunk)


def get_values(names, rid=0):
    return record(GET_VALUES, rid, b"".join(pair(n, b"") for n in names))


NAMES = [b"FCGI_MAX_CONNS", b"FCGI_MAX_REQS", b"FCGI_MPXS_CONNS"]


def record_seeds():
    s = {}
    s["request"] = request()
    s["request-split-records"] = request(chunk=3)
    s["get-values"] = get_values(NAMES)
    s["empty-records"] = record(STDIN, 1) + record(PARAMS, 1, padding=0)
    s["big-padding"] = record(STDOUT, 1, b"x", padding=255) + record(STDIN, 1)
    s["max-length-partial"] = record(STDIN, 1, b"y" * 100, length=0xffff)
    s["long-whole"] = record(STDIN, 1, b"z" * 3000)
    s["half-header"] = record(STDIN, 2, b"abc")[:5]
    s["bad-version"] = record(STDIN, 1, b"abc", version=0) + record(STDIN, 1, version=255)
    s["padding-partial"] = record(STDIN, 1, b"abcdefghi")[:-3]
    return {k: b"\x01\x00" + v for k, v in s.items()}, \
        {k + "-reseeded": b"\x05\x07" + v for k, v in s.items() if len(v) < 300}


def nvpair_seeds():
    big = b"\xff"   # limits byte: largest limits
    small = b"\x5b"  # max_single 64, max_total 8192, max_count 5
    tiny = b"\x11"   # max_single 1, max_total 2, max_count 1
    s = {}
    s["cgi"] = big + b"\x02\x00" + params_bytes()
    s["cgi-small-limits"] = small + b"\x03\x00" + params_bytes()
    s["cgi-tiny-limits"] = tiny + b"\x04\x00" + params_bytes()
    s["long-lengths"] = big + b"\x05\x00" + pair(b"NAME", b"value", True) + \
        pair(b"N" * 200, b"v" * 300)
    s["empty-name-value"] = big + b"\x06\x00" + pair(b"", b"") + pair(b"", b"x") + \
        pair(b"x", b"")
    s["truncated-length"] = big + b"\x07\x00" + pair(b"A", b"B") + b"\x80\x00"
    s["truncated-value"] = big + b"\x08\x00" + pair(b"NAME", b"VALUE")[:-2]
    s["huge-declared"] = big + b"\x09\x00" + nv_len(0x7fffffff) + nv_len(0x7fffffff) + b"abc"
    s["huge-name-small-limits"] = small + b"\x0a\x00" + nv_len(1000) + nv_len(1) + b"x" * 50
    s["many-pairs"] = small + b"\x0b\x00" + b"".join(pair(b"K%d" % i, b"V") for i in range(10))
    return s


def server_conn_seeds():
    # Control byte: capacity (bits 0-4) and when the modelled application
    # ends its request (bits 5-6: 0 after stdin, 1 after params, 2 never,
    # 3 only on abort).
    s = {}
    s["request"] = request()
    s["request-keep-two"] = request(1, KEEP) + request(1, KEEP, b"second")
    s["request-split-records"] = request(chunk=1)
    s["get-values-alone"] = get_values(NAMES)
    s["get-values-duplicates"] = get_values(NAMES * 4 + [b"UNKNOWN_NAME"])
    s["get-values-then-request"] = get_values(NAMES) + request(7)
    s["get-values-bad-pairs"] = record(GET_VALUES, 0, nv_len(0x7fffffff) + b"x")
    s["unknown-management-type"] = record(200, 0, b"abcd") + record(BEGIN, 0, b"\0" * 8)
    s["unknown-role"] = begin(1, 9) + request(2)
    s["unknown-role-keep"] = begin(1, 0, KEEP) + request(2)
    s["cant-mpx"] = begin(1) + begin(2) + stream(PARAMS, 1, params_bytes()) + \
        stream(STDIN, 1, b"body")
    s["begin-same-id-twice"] = begin(3) + begin(3)
    s["stdin-before-params-end"] = begin(1) + record(STDIN, 1, b"early")
    s["bad-version"] = request()[:16] + record(PARAMS, 1, b"x", version=2)
    s["abort-during-params"] = begin(1, flags=KEEP) + record(PARAMS, 1, pair(b"A", b"B")) + \
        record(ABORT, 1) + request(2)
    s["abort-during-stdin"] = begin(1) + stream(PARAMS, 1, params_bytes()) + \
        record(STDIN, 1, b"part") + record(ABORT, 1)
    s["filter-data"] = request(1, role=FILTER, body=b"in") + stream(DATA, 1, b"file data")
    s["other-ids-skipped"] = begin(1) + record(PARAMS, 5, b"zz") + \
        stream(PARAMS, 1, params_bytes()) + record(STDIN, 9, b"other") + stream(STDIN, 1, b"x")
    s["short-begin"] = record(BEGIN, 1, b"\0\1") + request(2)
    s["long-begin"] = record(BEGIN, 1, b"\0\1\1" + b"\0" * 20) + \
        stream(PARAMS, 1, b"") + stream(STDIN, 1, b"")
    s["hostile-length"] = begin(1) + record(PARAMS, 1, b"abc", length=0xffff)
    s["leftover-stdin-next-request"] = request(1, KEEP, b"A" * 9000, chunk=8184) + \
        request(1, KEEP, b"B")
    s["params-after-end"] = begin(1) + stream(PARAMS, 1, params_bytes()) + \
        record(PARAMS, 1, b"late") + stream(STDIN, 1, b"")
    out = {}
    for k, v in s.items():
        out[k] = b"\x01\x00\x00" + v
    out["request-params-end-policy"] = b"\x02\x00\x25" + request(1, KEEP) + request(2)
    out["request-never-end-policy"] = b"\x03\x00\x4f" + request(1) + request(2)
    out["abort-only-policy"] = b"\x04\x00\x6a" + s["abort-during-stdin"] + request(4)
    out["get-values-big-capacity"] = b"\x05\x00\x1f" + get_values(NAMES)
    return out


def printf_seeds():
    # Header: buffer-size index, type index, request id (2 bytes); then
    # operations (see fuzz_printf.cpp).  The formats each seed makes are
    # noted beside it (FUZZ_TRACE=1 prints them).
    s = {}
    conv_int = bytes([5, 3]) + b"ab " + bytes([0, 0, 0, 0, 0]) + b"\0" * 4 + \
        struct.pack(">q", -12345) + b"\0"
    s["int"] = b"\x0b\x00\x01\x00" + conv_int                 # "ab %d"
    conv_dbl = bytes([6, 0, 1, 0, 1, 1 | (3 << 2), 40, 0]) + b"\0\0" + \
        struct.pack("<h", 3) + struct.pack(">q", 31415926) + bytes([4]) + \
        struct.pack(">q", 31415926) + bytes([100])
    s["double"] = b"\x0b\x00\x02\x00" + conv_dbl               # "%-10.*f"
    conv_str = bytes([7, 0, 2, 1, 2, 0]) + struct.pack("<h", -30) + b"\0\0" + \
        b"\0" * 8 + b"\0" + bytes([0x85]) + b"S" * 200
    s["string-star-width"] = b"\x07\x00\x03\x00" + conv_str    # "%-*s"
    # Raw bytes, two characters, a flush, then four int conversions.
    ops = bytes([0, 10]) + b"0123456789" + bytes([1, 65, 1, 0xe9, 2]) + \
        bytes([3, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]) + b"\x07\0\0\0" * 8
    s["mixed-ops"] = b"\x04\x00\x04\x00" + ops
    # "%11840d": past the formatter's 1024-byte scratch space and past
    # the writer's buffer, small and large.
    wide = bytes([5, 0, 0, 0, 0, 1, 3 | (60 << 2), 0]) + b"\0" * 4 + \
        struct.pack(">q", 7) + b"\0"
    s["wide-int-small-buffer"] = b"\x02\x00\x05\x00" + wide
    s["wide-int-big-buffer"] = b"\x0f\x00\x05\x00" + wide + wide
    s["stderr-empty"] = b"\x0b\x01\x06\x00"
    s["stderr-text"] = b"\x0b\x01\x06\x00" + bytes([0, 5]) + b"oops\n"
    s["percent"] = b"\x08\x02\x07\x00" + bytes([5, 0, 4, 0, 0]) + b"\0" * 14  # "%%"
    return s


def known_bugs():
    return {
        # Name "\0", empty value: strings() holds "\0=\0", two NULs for
        # one pair, so envp (built by walking NUL-terminated strings)
        # goes out of step with the pairs.
        "nvpair": {"nul-in-name": b"\xff\x00\x00" + pair(b"\0", b"")},
        # FCGX_PutChar((signed char)0xff) returns -1 (EOF) although the
        # byte was written; the reference returns 255.
        "printf": {"putchar-signed-ff": b"\x0b\x00\x01\x00" + bytes([9, 0xff])},
    }


def write_all(base, corpora):
    for target, seeds in corpora.items():
        d = os.path.join(base, target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    args = list(argv[1:])
    bugs_dir = None
    if "--known-bugs" in args:
        i = args.index("--known-bugs")
        bugs_dir = args[i + 1]
        del args[i:i + 2]
    out = args[0] if args else os.path.join(here, "corpus")
    rec, rec_bytewise = record_seeds()
    rec.update(rec_bytewise)
    write_all(out, {
        "record": rec,
        "nvpair": nvpair_seeds(),
        "server_conn": server_conn_seeds(),
        "printf": printf_seeds(),
    })
    if bugs_dir:
        write_all(bugs_dir, known_bugs())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
