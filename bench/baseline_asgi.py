"""The same-run baseline: a bare ASGI callable doing one SQLite INSERT per request.

No framework, no middleware, no templates: what the machine, Python, the ASGI server
and SQLite cost together. The app's scenarios are reported as a share of this figure,
so results from different machines can be compared.

Served by uvicorn workers sharing one listening socket that this file opens itself:
`uvicorn --workers N` opens its socket without naming the TCP protocol, so asyncio
leaves Nagle's algorithm on and every keep-alive response waits ~40 ms for a delayed
ACK (about 360 requests/s instead of thousands).

    python bench/baseline_asgi.py --port 8001 --workers 2
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import sys
import time
from typing import Any

DB_PATH = os.environ.get("BASELINE_DB", "baseline.sqlite3")
_connection: sqlite3.Connection | None = None


def connection() -> sqlite3.Connection:
    """One connection per worker process, opened with the app's own PRAGMAs."""
    global _connection
    if _connection is None:
        conn = sqlite3.connect(DB_PATH, isolation_level=None, check_same_thread=False)
        # busy_timeout before WAL, as in katclinic/settings.py.
        conn.execute("PRAGMA busy_timeout=20000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hit (id INTEGER PRIMARY KEY, at REAL NOT NULL, path TEXT)"
        )
        _connection = conn
    return _connection


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                connection()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    connection().execute("INSERT INTO hit (at, path) VALUES (?, ?)", (time.time(), scope["path"]))
    body = b'{"ok": true}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve(host: str, port: int, workers: int) -> None:
    """Fork `workers` uvicorn servers accepting on one TCP socket; wait for them."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="on")
            uvicorn.Server(config).run(sockets=[sock])
            os._exit(0)
        children.append(pid)
    # Stop the workers too when run.py terminates this launcher.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for pid in children:
            os.waitpid(pid, 0)
    except KeyboardInterrupt:
        pass
    finally:
        for pid in children:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="bare ASGI baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.exit(serve(args.host, args.port, args.workers))
