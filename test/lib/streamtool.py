#!/usr/bin/env python3
"""Take a Migration v2 stream apart and damage it, for the bad-input tests.

streamtool.py records FILE            offset, layer, type, length of each record
streamtool.py boundaries FILE         every offset at which a part ends
streamtool.py mutate FILE KIND OUT    write a damaged copy; KIND is one of
    flip-magic bad-version len-2g count-big pfn-past-end unknown-mandatory
    unknown-optional missing-end corrupt-pfn=N
streamtool.py config FILE OUT         the xl header's JSON config, as it travels
streamtool.py reconfig FILE JSON OUT  a copy of an xl stream with JSON's config
streamtool.py pv-sample OUT           a small valid libxc stream of a 64-bit PV
    domain (records as Xen 4.17 writes them, made up contents): fuzz seeds
An independent parser (it shares no code with the C reader) on purpose.
"""
import struct
import sys

XL_MAGIC = b"Xen saved domain, xl format\n \0 \r"


def parse(data):
    """Return (parts, records): parts are (name, offset, end)."""
    parts, recs = [], []
    off = 0
    layer = "xc"
    if data[:32] == XL_MAGIC:
        optlen = struct.unpack_from("<I", data, 44)[0]
        parts.append(("xl-header", 0, 48 + optlen))
        off = 48 + optlen
    if data[off:off + 8] == b"LibxlFmt":
        parts.append(("libxl-header", off, off + 16))
        off += 16
        parts.append(("libxl-LIBXC_CONTEXT", off, off + 8))
        off += 8
    parts.append(("image-header", off, off + 24))
    parts.append(("domain-header", off + 24, off + 40))
    off += 40
    while off + 8 <= len(data):
        rtype, length = struct.unpack_from("<II", data, off)
        end = off + 8 + ((length + 7) & ~7)
        recs.append((layer, rtype, length, off))
        parts.append(("%s-record-0x%x" % (layer, rtype), off, end))
        off = end
        if rtype == 0:
            if layer == "xl":
                break
            layer = "xl"
    return parts, recs


def first(recs, rtype, layer="xc"):
    for r in recs:
        if r[0] == layer and r[1] == rtype:
            return r
    raise SystemExit("no record of type 0x%x" % rtype)


def mutate(data, kind):
    d = bytearray(data)
    parts, recs = parse(data)
    ihdr = [p for p in parts if p[0] == "image-header"][0][1]
    if kind == "flip-magic":
        d[ihdr] ^= 0x01 if data[:32] != XL_MAGIC else 0
        if data[:32] == XL_MAGIC:
            d[0] ^= 0x20
    elif kind == "bad-version":
        struct.pack_into(">I", d, ihdr + 12, 7)
    elif kind == "len-2g":
        r = first(recs, 1)
        struct.pack_into("<I", d, r[3] + 4, 1 << 31)
    elif kind == "count-big":
        r = first(recs, 1)
        struct.pack_into("<I", d, r[3] + 8, r[2])  # count = body length
    elif kind == "pfn-past-end":
        r = first(recs, 1)
        struct.pack_into("<Q", d, r[3] + 16, (1 << 40) + 5)
    elif kind in ("unknown-mandatory", "unknown-optional"):
        end = first(recs, 0)
        rtype = 0x13 if kind == "unknown-mandatory" else 0x80000013
        rec = struct.pack("<II", rtype, 5) + b"hello\0\0\0"
        d[end[3]:end[3]] = rec
    elif kind == "missing-end":
        end = first(recs, 0)
        del d[end[3]:]
    elif kind.startswith("corrupt-pfn="):
        want = int(kind.split("=")[1], 0)
        for layer, rtype, length, off in recs:
            if layer != "xc" or rtype != 1:
                continue
            count = struct.unpack_from("<I", data, off + 8)[0]
            words = struct.unpack_from("<%dQ" % count, data, off + 16)
            page = off + 16 + 8 * count
            for w in words:
                t = w >> 60
                if t < 0xd:
                    if w & ((1 << 52) - 1) == want:
                        d[page + 100] ^= 0xff
                        return bytes(d)
                    page += 4096
        raise SystemExit("pfn 0x%x is not sent with data" % want)
    elif kind.startswith("repeat-pages="):
        # every PAGE_DATA record N times over: a stream that grows
        n = int(kind.split("=")[1])
        out = bytearray()
        for name, off, end in parts:
            out += data[off:end]
            if name == "xc-record-0x1":
                out += data[off:end] * (n - 1)
        return bytes(out)
    else:
        raise SystemExit("unknown mutation " + kind)
    return bytes(d)


def xl_config(data):
    """(offset, end) of the xl header's config bytes (with their NUL)."""
    if data[:32] != XL_MAGIC:
        raise SystemExit("not an xl stream")
    optlen = struct.unpack_from("<I", data, 44)[0]
    clen = struct.unpack_from("<I", data, 48)[0] if optlen >= 4 else 0
    return 52, 52 + clen


def reconfig(data, json):
    """The xl stream data with json (bytes) as its config."""
    start, end = xl_config(data)
    conf = json.rstrip(b"\0") + b"\0"
    d = bytearray(data[:44]) + struct.pack("<II", 4 + len(conf), len(conf))
    return bytes(d) + conf + data[end:]


def rec(rtype, body):
    pad = (8 - len(body) % 8) % 8
    return struct.pack("<II", rtype, len(body)) + body + b"\0" * pad


def pv_sample():
    """A libxc v3 stream of a 64-bit PV domain of 8 pages."""
    ihdr = struct.pack(">QIIHHI", (1 << 64) - 1, 0x58454E46, 3, 0, 0, 0)
    dhdr = struct.pack("<IHHII", 1, 12, 0, 4, 17)
    page = lambda n: bytes([n]) * 4096
    out = ihdr + dhdr
    out += rec(0x02, struct.pack("<BBHI", 8, 4, 0, 0))          # X86_PV_INFO
    out += rec(0x03, struct.pack("<IIQ", 0, 7, 6))              # P2M_FRAMES
    out += rec(0x11, b"\1" * 24 * 2)                            # CPUID_POLICY
    out += rec(0x12, b"\2" * 16)                                # MSR_POLICY
    out += rec(0x07, page(3))                                   # SHARED_INFO
    out += rec(0x08, struct.pack("<IIQII", 0, 2000000, 1, 1, 0))  # TSC_INFO
    out += rec(0x10, b"")                                       # STATIC_DATA_END
    words = [0 | 4 << 60, 1 | 3 << 60, 2 | 0xe << 60, 5 | 0xf << 60, 6]
    out += rec(0x01, struct.pack("<II", len(words), 0) +
               struct.pack("<%dQ" % len(words), *words) +
               page(4) + page(5) + page(6))                     # PAGE_DATA
    out += rec(0x04, struct.pack("<II", 0, 0) + b"\7" * 64)     # VCPU_BASIC
    out += rec(0x05, struct.pack("<II", 0, 0) + b"\7" * 16)     # VCPU_EXTENDED
    out += rec(0x0c, b"")                                       # VCPU_MSRS (errata: empty)
    out += rec(0x00, b"")                                       # END
    return out


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "pv-sample":
        open(path, "wb").write(pv_sample())
        return
    data = open(path, "rb").read()
    parts, recs = parse(data)
    if cmd == "records":
        for layer, rtype, length, off in recs:
            print(off, layer, "0x%x" % rtype, length)
    elif cmd == "boundaries":
        for p in parts:
            print(p[2], p[0])
    elif cmd == "mutate":
        open(sys.argv[4], "wb").write(mutate(data, sys.argv[3]))
    elif cmd == "config":
        start, end = xl_config(data)
        open(sys.argv[3], "wb").write(data[start:end].rstrip(b"\0"))
    elif cmd == "reconfig":
        json = open(sys.argv[3], "rb").read()
        open(sys.argv[4], "wb").write(reconfig(data, json))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
