"""Benchmark the real app under gunicorn against a same-run bare-ASGI baseline.

    .venv/bin/python bench/run.py                      # 10,000 patients, SQLite
    .venv/bin/python bench/run.py --scales 1000,10000  # show how cost grows with data
    .venv/bin/python bench/run.py --postgres postgres://postgres@127.0.0.1:5432/postgres

See bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadgen import Request, Result, probe, require_wrk, run_wrk  # noqa: E402
from scenarios import SCENARIOS, Scenario  # noqa: E402
from servers import (  # noqa: E402
    BENCH,
    ROOT,
    gunicorn_command,
    manage,
    new_secret_key,
    production_env,
    serve,
    uvicorn_command,
)

RESULTS = BENCH / "results"


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 2
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--patients", type=int, default=10_000, help="patients in the measured clinic")
    p.add_argument("--scales", default="", help="comma-separated patient counts, e.g. 1000,10000")
    p.add_argument(
        "--responses",
        type=int,
        default=1_000_000,
        help="questionnaire responses at the largest scale (smaller scales get a "
        "proportional share); needs katclinic.measures generate_responses()",
    )
    p.add_argument("--duration", type=float, default=10, help="seconds of load per scenario")
    p.add_argument("--warmup", type=float, default=2, help="seconds of load before measuring")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=cores, help="gunicorn/uvicorn workers")
    p.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure on PostgreSQL (a scratch "
        "database is created next to the one in URL and dropped afterwards)",
    )
    p.add_argument("--only", default="", help="run only scenarios whose name contains this")
    p.add_argument(
        "--import-patients",
        type=int,
        default=10_000,
        help="Patients in the bulk FHIR import measurement (0 skips it)",
    )
    return p.parse_args()


def machine() -> dict[str, Any]:
    cpu = "unknown"
    memory_gb = 0.0
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = next(
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.splitlines()
            if ln.startswith("model name")
        )
        meminfo = Path("/proc/meminfo").read_text().split()
        memory_gb = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": memory_gb,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


@contextmanager
def postgres_database(url: str, name: str) -> Iterator[str]:
    """A scratch database on the server of `url`, dropped afterwards."""
    import psycopg

    admin = psycopg.connect(url, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlparse(url)._replace(path=f"/{name}").geturl()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def measure_baseline(args: argparse.Namespace, tmp: Path) -> Result:
    env = dict(os.environ, BASELINE_DB=str(tmp / "baseline.sqlite3"))
    with serve(uvicorn_command(args.workers), env, "/ready", tmp / "uvicorn.log") as base:
        request = Request("GET", "/insert", {})
        run_wrk(
            base,
            request,
            seconds=args.warmup,
            connections=args.connections,
            threads=args.threads,
            workdir=tmp,
        )
        return run_wrk(
            base,
            request,
            seconds=args.duration,
            connections=args.connections,
            threads=args.threads,
            workdir=tmp,
        )


def build_dataset(env: dict[str, str], patients: int, responses: int) -> dict[str, Any]:
    print(f"  building {patients:,} patients, {responses:,} responses ...", flush=True)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")  # production serves the hashed manifest
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "dataset.py"),
            "--patients",
            str(patients),
            "--responses",
            str(responses),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"dataset.py failed:\n{out.stdout}{out.stderr}")
    context: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  dataset: {context['dataset']}", flush=True)
    return context


def measure_app(
    args: argparse.Namespace,
    tmp: Path,
    backend: str,
    env: dict[str, str],
    context: dict[str, Any],
    scenarios: list[Scenario],
) -> list[dict[str, Any]]:
    rows = []
    log = tmp / f"gunicorn-{backend}.log"
    with serve(gunicorn_command(args.workers), env, "/healthz", log) as base:
        for scenario in scenarios:
            request = Request(
                scenario.method,
                scenario.url_path(context),
                scenario.headers(context),
                scenario.request_body(context),
            )
            row: dict[str, Any] = {
                "scenario": scenario.name,
                "backend": backend,
                "patients": context["dataset"]["patients_in_clinic"],
                "responses": context["dataset"]["responses"],
            }
            status, text = probe(base, request)
            if status != scenario.expect_status:
                row["error"] = (
                    f"probe answered {status}, expected {scenario.expect_status}: {text[:200]!r}"
                )
                print(f"  {scenario.name}: {row['error']}", flush=True)
                rows.append(row)
                continue
            print(f"  {scenario.name} ...", flush=True)
            run_wrk(
                base,
                request,
                seconds=args.warmup,
                connections=args.connections,
                threads=args.threads,
                workdir=tmp,
            )
            result = run_wrk(
                base,
                request,
                seconds=args.duration,
                connections=args.connections,
                threads=args.threads,
                workdir=tmp,
            )
            rows.append(row | result.as_dict())
    return rows


def run_backend(
    args: argparse.Namespace,
    tmp: Path,
    backend: str,
    database_url: str | None,
    patients: int,
    responses: int,
    scenarios: list[Scenario],
) -> list[dict[str, Any]]:
    data_dir = tmp / f"{backend}-{patients}"
    env = production_env(data_dir, database_url, new_secret_key())
    context = build_dataset(env, patients, responses)
    rows = measure_app(args, tmp, backend, env, context, scenarios)
    for row in rows:
        row["dataset_seconds"] = context["dataset"]["seconds"]
    return rows


def table(baseline: Result | None, rows: list[dict[str, Any]]) -> str:
    head = f"{'scenario':<22}{'db':<10}{'patients':>9}{'req/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>8}{'% base':>8}"
    lines = [head, "-" * len(head)]
    if baseline:
        lines.append(
            f"{'bare ASGI 1 INSERT':<22}{'sqlite':<10}{'-':>9}{baseline.rps:>9.0f}{baseline.p50_ms:>8.1f}"
            f"{baseline.p95_ms:>8.1f}{baseline.p99_ms:>8.1f}{baseline.errors + baseline.bad_status:>8}{100:>7}%"
        )
    for r in rows:
        if "error" in r:
            lines.append(
                f"{r['scenario']:<22}{r['backend']:<10}{r['patients']:>9}  not measured: {r['error'][:60]}"
            )
            continue
        share = f"{100 * r['rps'] / baseline.rps:>7.0f}%" if baseline else f"{'-':>8}"
        lines.append(
            f"{r['scenario']:<22}{r['backend']:<10}{r['patients']:>9}{r['rps']:>9.0f}{r['p50_ms']:>8.1f}"
            f"{r['p95_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['errors'] + r['bad_status']:>8}{share}"
        )
    return "\n".join(lines)


def growth(rows: list[dict[str, Any]]) -> list[str]:
    """p95 at the largest scale over p95 at the smallest, per scenario and database."""
    lines = []
    for key in sorted({(r["scenario"], r["backend"]) for r in rows if "p95_ms" in r}):
        points = sorted(
            (r["patients"], r["p95_ms"])
            for r in rows
            if (r["scenario"], r["backend"]) == key and "p95_ms" in r
        )
        if len(points) > 1 and points[0][1] > 0:
            (small, p_small), (large, p_large) = points[0], points[-1]
            lines.append(
                f"{key[0]} ({key[1]}): {large / small:.0f}x the patients, p95 x{p_large / p_small:.2f}"
            )
    return lines


def measure_import(args: argparse.Namespace) -> dict[str, Any] | None:
    """The bulk FHIR import benchmark (`fhir_import.py`) on SQLite, served like the rest."""
    print(f"bulk FHIR import, {args.import_patients:,} Patients ...", flush=True)
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "fhir_import.py"),
            "--patients",
            str(args.import_patients),
            "--workers",
            str(args.workers),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        print(f"  import benchmark failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
        return None
    result: dict[str, Any] = json.loads(out.stdout[out.stdout.index("{") :])
    return result


def main() -> None:
    args = parse_args()
    require_wrk()
    scales = sorted(int(s) for s in args.scales.split(",") if s.strip()) or [args.patients]
    scenarios = [s for s in SCENARIOS if args.only.lower() in s.name.lower()]
    skipped = [s.name for s in scenarios if not s.available()]
    scenarios = [s for s in scenarios if s.available()]
    info = machine()
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}, {info['memory_gb']} GB; "
        f"load {info['load_average_1m']}; {args.workers} workers, "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="katclinic-bench-") as tmp_name:
        tmp = Path(tmp_name)
        print("baseline: bare ASGI, one SQLite INSERT per request (uvicorn) ...", flush=True)
        baseline = measure_baseline(args, tmp)
        for patients in scales:
            responses = args.responses * patients // scales[-1]
            print(f"sqlite, {patients:,} patients:", flush=True)
            rows += run_backend(args, tmp, "sqlite", None, patients, responses, scenarios)
            if args.postgres:
                print(f"postgresql, {patients:,} patients:", flush=True)
                with postgres_database(args.postgres, f"katclinic_bench_{patients}") as url:
                    rows += run_backend(
                        args, tmp, "postgresql", url, patients, responses, scenarios
                    )
    imported = measure_import(args) if args.import_patients and not args.only else None
    info["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print()
    print(
        f"load average (1 min) before/after: {info['load_average_1m']}/{info['load_average_1m_after']}"
        " (above 0.5 means something else shared the cores)"
    )
    print(table(baseline, rows))
    for line in growth(rows):
        print(line)
    if imported:
        print(
            f"bulk FHIR import over HTTP ({imported['database']}, {imported['clients']} clients, "
            f"batches of {imported['batch']}): {imported['resources_per_second']:,} resources/s "
            f"({imported['patients']:,} Patients, validation and one audit event each)"
        )
    if skipped:
        print(f"skipped (endpoint not present yet): {', '.join(skipped)}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "at": stamp,
                "machine": info,
                "args": vars(args),
                "baseline": baseline.as_dict(),
                "rows": rows,
                "import": imported,
                "skipped": skipped,
            },
            indent=1,
        )
    )
    print(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
