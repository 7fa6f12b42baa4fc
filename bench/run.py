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
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cpu import load_average, rss_mb  # noqa: E402
from loadgen import Request, probe, require_wrk, run_wrk  # noqa: E402
from peer_cpu import cpu_between, cpu_by_process  # noqa: E402
from scenarios import SCENARIOS, Scenario  # noqa: E402
from servers import (  # noqa: E402
    BENCH,
    ROOT,
    Served,
    Stack,
    gunicorn_command,
    manage,
    new_secret_key,
    production_env,
    serve_process,
    stacks,
    uvicorn_command,
)
from targets import target_lines  # noqa: E402

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
        "proportional share)",
    )
    p.add_argument("--duration", type=float, default=10, help="seconds of load per scenario")
    p.add_argument("--warmup", type=float, default=2, help="seconds of load before measuring")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=cores, help="gunicorn/uvicorn workers")
    p.add_argument(
        "--serving",
        default="production",
        help="comma-separated serving stacks measured side by side, each scenario in the "
        "order A B .. B A: production (deploy/gunicorn.conf.py), sync, gthreadN (N threads), "
        "e.g. sync,gthread1,gthread4",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="times each scenario runs A B .. B A over the stacks (each stack 2x this)",
    )
    p.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure on PostgreSQL (a scratch "
        "database is created next to the one in URL and dropped afterwards)",
    )
    p.add_argument(
        "--skip-sqlite",
        action="store_true",
        help="with --postgres, measure PostgreSQL only",
    )
    p.add_argument(
        "--ready-within",
        type=float,
        default=300,
        help="seconds to wait for a server's first answer (a loaded machine needs minutes)",
    )
    p.add_argument("--port", type=int, default=0, help="the app's port (default: a free one)")
    p.add_argument(
        "--baseline-port", type=int, default=0, help="the baseline's port (default: a free one)"
    )
    p.add_argument(
        "--page-requests",
        type=int,
        default=200,
        help="requests per page in the in-process CPU measurement (0 skips it)",
    )
    p.add_argument(
        "--only",
        default="",
        help="run only scenarios whose name contains this (or one of these, comma-separated)",
    )
    p.add_argument(
        "--import-patients",
        type=int,
        default=10_000,
        help="Patients in the bulk FHIR import measurement (0 skips it)",
    )
    args = p.parse_args()
    try:
        args.stacks = stacks(args.serving)
    except ValueError as exc:
        p.error(str(exc))
    return args


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


def measured(
    args: argparse.Namespace,
    served: Served,
    request: Request,
    tmp: Path,
    *,
    database: str | None = None,
) -> dict[str, Any]:
    """Warm up, then measure one request kind; req/s and latency from wrk, CPU from /proc
    (the server's processes and, given a PostgreSQL `database`, the postgres processes
    working for that database: peer_cpu.py), each process's own difference, so one that
    exits during the run (an autovacuum worker) cannot make the sum fall."""
    load = {"connections": args.connections, "threads": args.threads, "workdir": tmp}
    databases = {database} if database else set()
    run_wrk(served.base, request, seconds=args.warmup, **load)
    before = cpu_by_process(served.pid, databases)
    result = run_wrk(served.base, request, seconds=args.duration, **load)
    cpu = cpu_between(before, cpu_by_process(served.pid, databases))
    cpu_ms = round(1000 * cpu / result.requests, 2) if result.requests else None
    return result.as_dict() | {"cpu_ms": cpu_ms, "cpu_seconds": round(cpu, 3)}


def side_by_side(order: list[Stack], runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each stack's runs of one scenario put together: req/s over all its requests and
    seconds, CPU per request over all of them, the worst p99 and the median of the p50s."""
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(s.name for s in order):
        mine = [r for s, r in zip(order, runs, strict=True) if s.name == name]
        requests = sum(r["requests"] for r in mine)
        seconds = sum(r["seconds"] for r in mine)
        cpu = sum(r["cpu_seconds"] for r in mine)
        p50s = sorted(r["p50_ms"] for r in mine)
        out[name] = {
            "requests": requests,
            "seconds": round(seconds, 2),
            "rps": round(requests / seconds, 1) if seconds else 0.0,
            "cpu_ms": round(1000 * cpu / requests, 2) if requests else None,
            "p50_ms": p50s[len(p50s) // 2],
            "p99_ms": max(r["p99_ms"] for r in mine),
            "max_ms": max(r["max_ms"] for r in mine),
            "errors": sum(r["errors"] for r in mine),
            "bad_status": sum(r["bad_status"] for r in mine),
            "runs": mine,
        }
    return out


def measure_baseline(args: argparse.Namespace, tmp: Path) -> dict[str, dict[str, Any]]:
    """The bare baseline twice: with keep-alive, and closing every connection as gunicorn's
    sync workers do, so the app is compared like for like."""
    env = dict(os.environ, BASELINE_DB=str(tmp / "baseline.sqlite3"))
    command = uvicorn_command(args.workers)
    log = tmp / "uvicorn.log"
    with serve_process(command, env, "/ready", log, args.baseline_port) as base:
        return {
            "keep-alive": measured(args, base, Request("GET", "/insert", {}), tmp),
            "closing": measured(
                args, base, Request("GET", "/insert", {"Connection": "close"}), tmp
            ),
        }


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


def scenario_request(scenario: Scenario, context: dict[str, Any]) -> Request:
    return Request(
        scenario.method,
        scenario.url_path(context),
        scenario.headers(context),
        scenario.request_body(context),
        scenario.request_bodies(context),
    )


def measure_app(
    args: argparse.Namespace,
    tmp: Path,
    backend: str,
    env: dict[str, str],
    context: dict[str, Any],
    scenarios: list[Scenario],
) -> list[dict[str, Any]]:
    """Every scenario on every serving stack, the stacks running side by side and taking
    turns A B .. B A (`--rounds` times), so that a change in the machine's load falls on
    each stack alike."""
    rows = []
    database = None
    if backend == "postgresql":
        database = urllib.parse.urlparse(env["DATABASE_URL"]).path.lstrip("/")
    order = [*args.stacks, *reversed(args.stacks)] * args.rounds
    with ExitStack() as running:
        servers: dict[str, Served] = {}
        for n, serving in enumerate(args.stacks):
            log = tmp / f"gunicorn-{backend}-{serving.name}.log"
            command = gunicorn_command(args.workers, serving)
            port = args.port + n if args.port else 0
            servers[serving.name] = running.enter_context(
                serve_process(
                    command, serving.env(env, tmp), "/healthz", log, port, args.ready_within
                )
            )
        for scenario in scenarios:
            base: dict[str, Any] = {
                "scenario": scenario.name,
                "backend": backend,
                "patients": context["dataset"]["patients_in_clinic"],
                "responses": context["dataset"]["responses"],
            }
            mine = [base | {"serving": s.name} for s in args.stacks]
            rows += mine
            if missing := scenario.missing(context):
                for row in mine:
                    row["error"] = missing
                continue
            request = scenario_request(scenario, context)
            wrong = []
            for name, app in servers.items():
                status, text = probe(app.base, request)
                if status != scenario.expect_status:
                    wrong.append(
                        f"{name}: probe answered {status}, expected {scenario.expect_status}: "
                        f"{text[:200]!r}"
                    )
            if wrong:
                for row in mine:
                    row["error"] = "; ".join(wrong)
                print(f"  {scenario.name}: {'; '.join(wrong)}", flush=True)
                continue
            print(f"  {scenario.name} ({' '.join(s.name for s in order)}) ...", flush=True)
            runs = [measured(args, servers[s.name], request, tmp, database=database) for s in order]
            combined = side_by_side(order, runs)
            for row in mine:
                row |= combined[row["serving"]]
        for row in rows:
            row["worker_rss_mb"] = rss_mb(servers[row["serving"]].pid)
    return rows


def measure_pages(
    args: argparse.Namespace,
    tmp: Path,
    env: dict[str, str],
    context: dict[str, Any],
    part: str,
) -> list[dict[str, Any]]:
    """CPU per page or per write in-process (`inprocess.py --part`) on the dataset."""
    print(f"  in-process CPU per request ({part}) ...", flush=True)
    context_file = tmp / "context.json"
    context_file.write_text(json.dumps(context))
    command = [sys.executable, str(BENCH / "inprocess.py"), "--context", str(context_file)]
    command += ["--requests", str(args.page_requests), "--part", part]
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"  in-process measurement failed:\n{out.stderr[-2000:]}")
        return []
    rows: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
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
    measured_tabs = {s.path for s in SCENARIOS}
    unmeasured = [k for k in context.get("tab_keys", []) if "{tab_" + k + "}" not in measured_tabs]
    if unmeasured:
        print(f"  chart tabs with no scenario yet: {', '.join(unmeasured)}", flush=True)
    # Pages in-process first, on the dataset as built: the HTTP scenarios and the in-process
    # writes add rows (vitals into the measured session, questionnaire responses), and a page
    # measured after them would measure what the load added, not the 20 readings the target
    # names. The in-process writes come last.
    in_process = bool(args.page_requests and backend == "sqlite" and not args.only)
    pages = measure_pages(args, tmp, env, context, "pages") if in_process else []
    rows = measure_app(args, tmp, backend, env, context, scenarios) + pages
    if in_process:
        rows += measure_pages(args, tmp, env, context, "writes")
    for row in rows:
        row["dataset_seconds"] = context["dataset"]["seconds"]
    return rows


def table(baseline: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<34}{'db':<11}{'serving':<11}{'patients':>8}{'req/s':>8}{'CPU ms':>8}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'errors':>7}{'% base':>7}"
    )
    lines = [head, "-" * len(head)]
    keep = baseline["keep-alive"]["rps"]
    for kind, b in baseline.items():
        lines.append(
            f"{'bare ASGI 1 INSERT, ' + kind:<34}{'sqlite':<11}{'uvicorn':<11}{'-':>8}{b['rps']:>8.0f}"
            f"{b['cpu_ms'] or 0:>8.2f}{b['p50_ms']:>8.1f}{b['p99_ms']:>8.1f}"
            f"{b['errors'] + b['bad_status']:>7}{100 * b['rps'] / keep:>6.0f}%"
        )
    closing = baseline["closing"]["rps"]
    for r in rows:
        start = (
            f"{r['scenario']:<34}{r['backend']:<11}{r.get('serving', '-'):<11}{r['patients']:>8}"
        )
        if "error" in r:
            lines.append(f"{start}  not measured: {r['error'][:60]}")
        elif "inprocess_cpu_ms" in r:
            lines.append(f"{start}{'-':>8}{r['inprocess_cpu_ms']:>8.2f}  {r['queries']} SQL")
        elif "rps" in r:
            lines.append(
                f"{start}{r['rps']:>8.0f}{r['cpu_ms'] or 0:>8.2f}{r['p50_ms']:>8.1f}"
                f"{r['p99_ms']:>8.1f}{r['errors'] + r['bad_status']:>7}"
                f"{100 * r['rps'] / closing:>6.0f}%"
            )
    return "\n".join(lines)


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
    wanted = [w.strip().lower() for w in args.only.split(",")]
    scenarios = [s for s in SCENARIOS if any(w in s.name.lower() for w in wanted)]
    info = machine()
    load_start = load_average()
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}, {info['memory_gb']} GB; "
        f"load average {load_start}; {args.workers} workers, serving {args.serving} "
        f"(A B .. B A x{args.rounds}), wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="katclinic-bench-") as tmp_name:
        tmp = Path(tmp_name)
        print("baseline: bare ASGI, one SQLite INSERT per request (uvicorn) ...", flush=True)
        baseline = measure_baseline(args, tmp)
        for patients in scales:
            responses = args.responses * patients // scales[-1]
            if not (args.skip_sqlite and args.postgres):
                print(f"sqlite, {patients:,} patients:", flush=True)
                rows += run_backend(args, tmp, "sqlite", None, patients, responses, scenarios)
            if args.postgres:
                print(f"postgresql, {patients:,} patients:", flush=True)
                # A name of this run's own: the server may hold another run's scratch database.
                name = f"katclinic_bench_{patients}_{secrets.token_hex(3)}"
                with postgres_database(args.postgres, name) as url:
                    rows += run_backend(
                        args, tmp, "postgresql", url, patients, responses, scenarios
                    )
    imported = measure_import(args) if args.import_patients and not args.only else None
    load_end = load_average()
    info |= {"load_average_start": load_start, "load_average_end": load_end}
    print()
    print(
        f"load average (1, 5, 15 min) at start {load_start}, at end {load_end} "
        f"(above 0.5 on {info['nproc']} cores means something else shared them)"
    )
    print(table(baseline, rows))
    print(
        "CPU ms: server (all workers) and, on PostgreSQL, the CPU of the postgres processes "
        "serving its database, per request. % base: share of the closing-connection "
        "baseline (gunicorn's sync workers close each connection). With several stacks: "
        "req/s and CPU ms over all of a stack's runs, p99 the worst run, p50 the median."
    )
    for line in target_lines(rows):
        print(line)
    if imported:
        print(
            f"bulk FHIR import over HTTP ({imported['database']}, {imported['clients']} clients, "
            f"batches of {imported['batch']}): {imported['resources_per_second']:,} resources/s "
            f"({imported['patients']:,} Patients, validation and one audit event each)"
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "at": stamp,
                "machine": info,
                "args": vars(args) | {"stacks": [s.name for s in args.stacks]},
                "baseline": baseline,
                "rows": rows,
                "import": imported,
            },
            indent=1,
        )
    )
    print(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
