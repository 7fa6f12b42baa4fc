"""gunicorn settings for KAT Clinic: sync workers behind a TLS proxy.

Sync workers, not threads: with SQLite, threaded servers made p99 latency about 20 times
worse (see the project's quality checks); with PostgreSQL they are simply the
well-understood choice. Each worker holds one persistent database connection.
gthread workers were measured side by side with these (bench/README.md, "The serving
stack, side by side"): keep-alive alone (threads=1) saved no CPU per request and made p99
worse on SQLite, and four threads, ahead on PostgreSQL, won no clear CPU per request and
p99 on SQLite, so sync stays. `bench/run.py --serving sync,gthread1,gthread4` measures it again.
"""

import multiprocessing
import os
import tempfile
from pathlib import Path

# Listen on localhost only; the TLS proxy (nginx, Caddy) in front is the public face.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "sync"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that slow leaks cannot build up (jitter avoids all
# workers restarting at once). /metrics still counts a recycled worker's requests: see below.
max_requests = 5000
max_requests_jitter = 500
# The app logs one JSON line per request (route pattern, status, duration, request id) and
# never the concrete path or query string; gunicorn's access log would print both.
accesslog = None
errorlog = "-"
loglevel = "info"
# The proxy sets X-Forwarded-Proto; trust it only from the local proxy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


# /metrics adds up every worker's request counters (prometheus_client's multiprocess mode):
# the workers inherit a directory for their values, emptied when the server starts, and a
# worker that exits is marked dead so that its gauges go while its counters stay counted.
def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    path = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="katclinic-metrics-")
    )
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # only prometheus_client's own files, from a past run
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    # Imported here, after on_starting: prometheus_client reads the directory's name when it
    # is first imported, and workers forked from this process inherit that choice.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
