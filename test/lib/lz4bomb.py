#!/usr/bin/env python3
"""lz4bomb.py - an LZ4 bomb for stream-recv: frames that each decode to
SIZE zero bytes (a few KiB on the wire each), then stream-send's end
marker, so that a receiver that takes them all ends with success.

usage: lz4bomb.py SIZE FRAMES [--no-content-size] > bomb

The frames are real LZ4 frames made by the lz4 command (content
checksum, 4 MiB blocks, --content-size unless told otherwise), the same
frame repeated FRAMES times.
"""
import os
import struct
import subprocess
import sys
import tempfile

END_MAGIC = 0x184D2A5E


def size_arg(s):
    mult = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
    if s and s[-1].upper() in mult:
        return int(s[:-1]) * mult[s[-1].upper()]
    return int(s)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    flags = [a for a in sys.argv[1:] if a.startswith('--')]
    if len(args) != 2 or any(f != '--no-content-size' for f in flags):
        sys.exit('usage: lz4bomb.py SIZE FRAMES [--no-content-size]')
    size, frames = size_arg(args[0]), int(args[1])
    with tempfile.TemporaryDirectory() as d:
        zero = os.path.join(d, 'zero')
        with open(zero, 'wb') as f:
            f.truncate(size)
        cmd = ['lz4', '-1', '-q', '-B7']
        if '--no-content-size' in flags:
            # from stdin the lz4 command cannot know, so it says nothing
            with open(zero, 'rb') as f:
                frame = subprocess.run(cmd + ['-c'], stdin=f, check=True,
                                       stdout=subprocess.PIPE).stdout
        else:
            frame = subprocess.run(cmd + ['--content-size', '-c', zero],
                                   check=True, stdout=subprocess.PIPE).stdout
    out = sys.stdout.buffer
    for _ in range(frames):
        out.write(frame)
    out.write(struct.pack('<II', END_MAGIC, 24) + b'xenpipe\0' +
              struct.pack('<QQ', size * frames, frames))
    out.flush()


if __name__ == '__main__':
    main()
