"""Do audited reads scale with workers on PostgreSQL? (a measurement, not a test)

Serves the app under gunicorn (sync workers, production settings) on a scratch PostgreSQL
database with the demo clinic network plus `--patients` patients, and loads one audited read,
a patient's chart (each view writes one audit event into the clinic's chain), at 1, 2 and 4
workers. Prints req/s per worker count and the speed-up over one worker, then seals and
verifies the chain the run wrote. With every event appended without the chain lock, the
figures should rise with the workers until the machine's cores are used up.

    .venv/bin/python bench/audit_scaling.py --postgres postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import Request, probe  # noqa: E402
from run import build_dataset, postgres_database  # noqa: E402
from servers import gunicorn_command, manage, new_secret_key, production_env, serve  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", required=True, help="URL of a PostgreSQL server to use")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--connections", type=int, default=8, help="client processes")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument(
        "--database-name", default="katclinic_bench_audit", help="scratch database (dropped)"
    )
    return parser.parse_args()


def chart_read(context: dict[str, Any]) -> Request:
    cookie = f"{context['session_cookie_name']}={context['session']}"
    return Request("GET", f"/patients/{context['patient_id']}/", {"Cookie": cookie})


@dataclass
class Result:
    requests: int
    rps: float
    p99_ms: float
    errors: int


def _client(base: str, request: Request, seconds: float) -> tuple[list[float], int]:
    """One client process: the request again and again for `seconds`; latencies, errors."""
    where = urllib.parse.urlparse(base)
    latencies, errors = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=10)
        try:
            conn.request(request.method, request.path, headers=request.headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            ok = False
        finally:
            conn.close()
        if ok:
            latencies.append(time.monotonic() - started)
        else:
            errors += 1
    return latencies, errors


def load(base: str, request: Request, seconds: float, clients: int) -> Result:
    """`clients` processes (not threads: no shared interpreter lock) for `seconds`."""
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        started = time.monotonic()
        parts = pool.starmap(_client, [(base, request, seconds)] * clients)
        elapsed = time.monotonic() - started
    latencies = sorted(t for part, _ in parts for t in part)
    errors = sum(e for _, e in parts)
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    return Result(len(latencies), round(len(latencies) / elapsed, 1), round(p99, 1), errors)


def measure(
    args: argparse.Namespace, tmp: Path, env: dict[str, str], request: Request, workers: int
) -> Result:
    log = tmp / f"gunicorn-{workers}.log"
    with serve(gunicorn_command(workers), env, "/healthz", log) as base:
        status, _ = probe(base, request)
        if status != 200:
            sys.exit(f"the chart answered {status}, not 200; see {log}")
        load(base, request, args.warmup, args.connections)
        return load(base, request, args.duration, args.connections)


def report(results: dict[int, Result]) -> None:
    print(f"{'workers':>8} {'req/s':>9} {'speed-up':>9} {'p99 ms':>8} {'errors':>7}")
    first = next(iter(results.values())).rps or 1
    for workers, result in results.items():
        print(
            f"{workers:>8} {result.rps:>9.1f} {result.rps / first:>8.2f}x "
            f"{result.p99_ms:>8.1f} {result.errors:>7}"
        )


def main() -> None:
    args = parse_args()
    counts = [int(part) for part in args.workers.split(",")]
    with (
        tempfile.TemporaryDirectory(prefix="kc-audit-scaling-") as folder,
        postgres_database(args.postgres, args.database_name) as url,
    ):
        tmp = Path(folder)
        env = production_env(tmp / "data", url, new_secret_key())
        env["AUDIT_HMAC_KEY"] = new_secret_key()
        # No mail server here: invitations that would be emailed are dropped.
        env["MAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
        context = build_dataset(env, args.patients, 0)
        request = chart_read(context)
        results = {}
        for workers in counts:
            print(f"  {workers} worker(s) ...", flush=True)
            results[workers] = measure(args, tmp, env, request, workers)
        report(results)
        print(manage(env, "verify_audit").strip())


if __name__ == "__main__":
    main()
