"""What a hostile neighbour on a shared login node does to a daemon's TCP port: giant
bodies without the token, and request heads trickled a byte at a time
(docs/security.md#limits). The standard library only, so that another user's Python
(`setpriv` to `nobody`) can run it as a script:

    python3 neighbours.py trickle HOST PORT COUNT SECONDS INTERVAL
    python3 neighbours.py giants HOST PORT COUNT MIB [TOKEN]

Each prints one JSON line of what it saw; `trickle` first prints `opened N` once its
sockets are open.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import Counter

CHUNK = 1024 * 1024


def giant(host: str, port: int, size: int, token: str = "") -> str:
    """POST a body of `size` bytes; the status line the daemon answered, or what broke."""
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {size}\r\n"
        + (f"Authorization: Bearer {token}\r\n" if token else "")
        + "\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=120) as sock:
        sock.sendall(head)
        sent, block = 0, b"x" * CHUNK
        try:
            while sent < size:
                sent += sock.send(block[: min(CHUNK, size - sent)])
        except OSError:
            pass  # refused: the daemon stopped reading and closed
        try:
            answer = sock.recv(64)
        except OSError as exc:
            return type(exc).__name__
    return answer.split(b"\r\n", 1)[0].decode("latin-1") or "closed"


def giants(host: str, port: int, count: int, size: int, token: str = "") -> dict[str, int]:
    """`count` giants at once; how many got each answer."""
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(giant(host, port, size, token)))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return dict(Counter(results))


def trickle(host: str, port: int, count: int, seconds: float, interval: float) -> dict[str, int]:
    """Open `count` connections that each send a request head a byte every `interval`
    seconds, for `seconds` or until the daemon has closed them all; how many were
    opened, refused, and closed by the daemon."""
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
    sockets: list[socket.socket] = []
    refused = 0
    for _ in range(count):
        try:
            sock = socket.create_connection((host, port), timeout=5)
            sock.setblocking(False)
            sockets.append(sock)
        except OSError:
            refused += 1
    print(f"opened {len(sockets)}", flush=True)
    closed: set[int] = set()
    position = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(closed) < len(sockets):
        for number, sock in enumerate(sockets):
            if number in closed:
                continue
            try:
                sock.send(head[position % len(head) : position % len(head) + 1])
                if sock.recv(1024) == b"":
                    closed.add(number)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(number)
        position += 1
        time.sleep(interval)
    for sock in sockets:
        sock.close()
    return {"opened": len(sockets), "refused": refused, "closed_by_daemon": len(closed)}


def main(argv: list[str]) -> None:
    kind, host, port, count = argv[0], argv[1], int(argv[2]), int(argv[3])
    if kind == "trickle":
        out = trickle(host, port, count, float(argv[4]), float(argv[5]))
    else:
        out = giants(host, port, count, int(argv[4]) * CHUNK, argv[5] if len(argv) > 5 else "")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
