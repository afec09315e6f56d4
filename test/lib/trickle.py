#!/usr/bin/env python3
"""trickle.py - a hostile peer for stream-recv --listen: connects to
127.0.0.1:PORT (retrying until it listens) and sends one byte every GAP
seconds, the start of an LZ4 frame (never the whole of it), until the
receiver hangs up.  Writes "ready" to READY (a file) once started, so that a test
can start the listener after python's own start-up.

usage: trickle.py PORT GAP READY
"""
import socket
import struct
import sys
import time


def main():
    port, gap, ready = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    with open(ready, 'w') as f:
        f.write('ready\n')
    deadline = time.time() + 30
    while True:
        try:
            s = socket.create_connection(('127.0.0.1', port))
            break
        except OSError:
            if time.time() > deadline:
                sys.exit('trickle.py: nobody listens on port %d' % port)
            time.sleep(0.02)
    t0 = time.time()
    try:
        # a frame header, then one 64 KiB block: never a whole frame
        for b in (b'\x04\x22\x4d\x18\x64\x40\x00' +
                  struct.pack('<I', 65536) + bytes(65536)):
            s.sendall(bytes([b]))
            time.sleep(gap)
    except OSError as e:
        print('trickle.py: %s after %.1f s' % (e.strerror, time.time() - t0),
              file=sys.stderr)


if __name__ == '__main__':
    main()
