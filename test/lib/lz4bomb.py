#!/usr/bin/env python3
"""lz4bomb.py - an LZ4 bomb for stream-recv: frames that each decode to
SIZE zero bytes (a few KiB on the wire each), then stream-send's end
marker, so that a receiver that takes them all ends with success.

usage: lz4bomb.py SIZE FRAMES [--no-content-size] [--block 64K|256K|1M|4M]
                  [--declare N] > bomb

The frames are real LZ4 frames made by the lz4 command (content
checksum, independent 4 MiB blocks, --content-size unless told
otherwise), the same frame repeated FRAMES times.  --declare N rewrites
the content size the header declares (and its checksum): a frame with
more blocks than it says.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

END_MAGIC = 0x184D2A5E
BLOCK_ID = {64 << 10: 4, 256 << 10: 5, 1 << 20: 6, 4 << 20: 7}


def size_arg(s):
    mult = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
    if s and s[-1].upper() in mult:
        return int(s[:-1]) * mult[s[-1].upper()]
    return int(s)


def xxh32(data, seed=0):
    """XXH32, for the header checksum of a rewritten frame descriptor."""
    p1, p2, p3, p4, p5 = (2654435761, 2246822519, 3266489917, 668265263,
                          374761393)
    m = 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & m

    n, i = len(data), 0
    if n >= 16:
        v = [(seed + p1 + p2) & m, (seed + p2) & m, seed, (seed - p1) & m]
        while i + 16 <= n:
            for k in range(4):
                (w,) = struct.unpack_from('<I', data, i + 4 * k)
                v[k] = (rotl((v[k] + w * p2) & m, 13) * p1) & m
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) +
             rotl(v[3], 18)) & m
    else:
        h = (seed + p5) & m
    h = (h + n) & m
    while i + 4 <= n:
        (w,) = struct.unpack_from('<I', data, i)
        h = (rotl((h + w * p3) & m, 17) * p4) & m
        i += 4
    while i < n:
        h = (rotl((h + data[i] * p5) & m, 11) * p1) & m
        i += 1
    h ^= h >> 15
    h = (h * p2) & m
    h ^= h >> 13
    h = (h * p3) & m
    h ^= h >> 16
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('size', type=size_arg)
    ap.add_argument('frames', type=int)
    ap.add_argument('--no-content-size', action='store_true')
    ap.add_argument('--block', type=size_arg, default=4 << 20,
                    choices=sorted(BLOCK_ID))
    ap.add_argument('--declare', type=size_arg)
    a = ap.parse_args()
    cmd = ['lz4', '-1', '-q', '-B%d' % BLOCK_ID[a.block]]
    with tempfile.TemporaryDirectory() as d:
        zero = os.path.join(d, 'zero')
        with open(zero, 'wb') as f:
            f.truncate(a.size)
        if a.no_content_size:
            # from stdin the lz4 command cannot know, so it says nothing
            with open(zero, 'rb') as f:
                frame = subprocess.run(cmd + ['-c'], stdin=f, check=True,
                                       stdout=subprocess.PIPE).stdout
        else:
            frame = subprocess.run(cmd + ['--content-size', '-c', zero],
                                   check=True, stdout=subprocess.PIPE).stdout
    if a.declare is not None:
        if not frame[4] & 0x08:
            sys.exit('lz4bomb.py: --declare needs a content size')
        desc = frame[4:6] + struct.pack('<Q', a.declare)
        frame = (frame[:4] + desc + bytes([(xxh32(desc) >> 8) & 0xFF]) +
                 frame[15:])
    out = sys.stdout.buffer
    for _ in range(a.frames):
        out.write(frame)
    out.write(struct.pack('<II', END_MAGIC, 24) + b'xenpipe\0' +
              struct.pack('<QQ', a.size * a.frames, a.frames))
    out.flush()


if __name__ == '__main__':
    main()
