#!/usr/bin/env python3
"""Hostile TCP peers for the scanner's tests, each on its own loopback port.

    peers.py READY NAME=KIND[:ARG...] ...

Binds every peer on 127.0.0.1 (a free port each), writes "NAME PORT" lines
to READY (renamed into place when all listen) and serves until killed.

Kinds (what a port that is not a healthy SSH server can do to a client):
  prebanner      endless text lines, fast, never an "SSH-" line (RFC 4253
                 allows lines before the banner; think HTTP or a greeting);
                 the lines hold terminal escapes and invalid UTF-8
  endless-line   one line that never ends (no newline, fast)
  slow-banner    a real-looking banner at one byte per second
  silent         accepts, reads, never says anything
  garbage        a valid banner, then endless random bytes
  ignore-flood   a valid banner, then endless well-formed SSH_MSG_IGNORE
                 packets (unencrypted, as before the first key exchange)
  backlog        listens with a full accept queue and never accepts: the
                 client's SYN is dropped and connect() hangs
  proxy:PORT[:DIR:OFFSET[:LOG]]
                 forwards to 127.0.0.1:PORT; with DIR (s2c or c2s; none never
                 stalls) and
                 OFFSET it forwards exactly OFFSET bytes in that direction,
                 then stalls the whole connection (a host that hangs at that
                 point of the protocol); with LOG it appends the cumulative
                 byte offset of every chunk it forwarded, "DIR OFFSET"
"""
import os
import random
import socket
import struct
import sys
import threading
import time


def listener(backlog=64):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(backlog)
    return s


def drain(c):
    """Reads and drops what the client sends, so it never blocks on us."""
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass


def forever(c, chunk):
    threading.Thread(target=drain, args=(c,), daemon=True).start()
    try:
        while True:
            c.sendall(chunk())
    except OSError:
        pass


LINE = (b"220 mail.example.org ESMTP \x1b]0;owned\x07\x1b[2J<script>alert(1)</script> "
        b"\xff\xfe caf\xc3 " + b"." * 40 + b"\r\n")


def prebanner(c, args):
    blob = LINE * 200
    forever(c, lambda: blob)


def endless_line(c, args):
    blob = b"A" * 65536
    forever(c, lambda: blob)


def slow_banner(c, args):
    threading.Thread(target=drain, args=(c,), daemon=True).start()
    try:
        for b in b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n":
            c.sendall(bytes([b]))
            time.sleep(1)
        time.sleep(3600)
    except OSError:
        pass


def silent(c, args):
    drain(c)


def garbage(c, args):
    c.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
    rnd = random.Random(13)
    forever(c, lambda: rnd.randbytes(65536))


def ignore_packet(size):
    payload = bytes([2]) + struct.pack(">I", size) + b"\0" * size
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + b"\0" * pad


def ignore_flood(c, args):
    c.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
    blob = ignore_packet(1000) * 64
    forever(c, lambda: blob)


class Proxy:
    def __init__(self, args):
        self.port = int(args[0])
        self.stall_dir = args[1] if len(args) > 1 else None
        self.stall_at = int(args[2]) if len(args) > 2 else None
        self.log = args[3] if len(args) > 3 else None
        self.lock = threading.Lock()

    def pump(self, src, dst, direction, done):
        sent = 0
        limit = self.stall_at if direction == self.stall_dir else None
        try:
            while True:
                if limit is not None and sent >= limit:
                    done.wait()  # stalled: hold both sockets open, forward nothing
                    return
                data = src.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    data = data[: limit - sent]
                dst.sendall(data)
                sent += len(data)
                if self.log:
                    with self.lock, open(self.log, "a") as f:
                        f.write("%s %d\n" % (direction, sent))
        except OSError:
            pass
        done.set()

    def __call__(self, c, args):
        up = socket.create_connection(("127.0.0.1", self.port))
        done = threading.Event()
        t = threading.Thread(target=self.pump, args=(up, c, "s2c", done), daemon=True)
        t.start()
        self.pump(c, up, "c2s", done)
        t.join()
        for s in (c, up):
            try:
                s.close()
            except OSError:
                pass


def backlog_listener():
    """A listener whose accept queue is full: connects to itself until a
    connect no longer completes, and never accepts."""
    s = listener(backlog=0)
    port = s.getsockname()[1]
    held = []
    for _ in range(4):
        k = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        k.setblocking(False)
        try:
            k.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        held.append(k)
    time.sleep(0.2)
    return s, held


KINDS = {
    "prebanner": prebanner,
    "endless-line": endless_line,
    "slow-banner": slow_banner,
    "silent": silent,
    "garbage": garbage,
    "ignore-flood": ignore_flood,
}


def serve(sock, handler, args):
    while True:
        c, _ = sock.accept()
        threading.Thread(target=handler, args=(c, args), daemon=True).start()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ready = sys.argv[1]
    lines, keep = [], []
    for spec in sys.argv[2:]:
        name, _, rest = spec.partition("=")
        kind, *args = rest.split(":")
        if kind == "backlog":
            s, held = backlog_listener()
            keep.append((s, held))
        elif kind == "proxy":
            s = listener()
            threading.Thread(target=serve, args=(s, Proxy(args), args), daemon=True).start()
        elif kind in KINDS:
            s = listener()
            threading.Thread(target=serve, args=(s, KINDS[kind], args), daemon=True).start()
        else:
            sys.exit("peers.py: unknown kind %r in %r" % (kind, spec))
        lines.append("%s %d\n" % (name, s.getsockname()[1]))
    with open(ready + ".tmp", "w") as f:
        f.writelines(lines)
    os.rename(ready + ".tmp", ready)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
