#!/usr/bin/env python3
"""tap.py - a man in the middle for stream-send/stream-recv: listens on
127.0.0.1 (a free port, written to PORTFILE), takes one connection, connects
to 127.0.0.1:TO, and copies both ways, writing every byte that crosses,
either way, to CAPTURE.  With --cut N it forwards only the first N bytes
from the sender, then closes both connections with a plain TCP FIN: a cut
link, or an end forged on the wire.

usage: tap.py TO PORTFILE CAPTURE [--cut N]
"""
import os
import selectors
import socket
import sys


def main():
    to, portfile, capture = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    cut = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == '--cut' else None
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(1)
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % ls.getsockname()[1])
    os.rename(portfile + '.tmp', portfile)
    ls.settimeout(30)
    a, _ = ls.accept()
    b = socket.create_connection(('127.0.0.1', to), timeout=30)
    out = open(capture, 'wb')
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    forwarded = 0
    open_ends = 2
    while open_ends:
        events = sel.select(timeout=30)
        if not events:
            break
        for key, _ in events:
            src, dst = key.fileobj, key.data
            try:
                data = src.recv(1 << 16)
            except OSError:
                data = b''
            if not data:
                sel.unregister(src)
                open_ends -= 1
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            if src is a and cut is not None:
                data = data[:max(0, cut - forwarded)]
                forwarded += len(data)
            out.write(data)
            if data:
                dst.sendall(data)
            if src is a and cut is not None and forwarded >= cut:
                for s in (a, b):
                    s.shutdown(socket.SHUT_RDWR)
                open_ends = 0
                break
    out.close()


main()
