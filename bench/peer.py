"""Side by side with GNU Health, the Python hospital system a clinic would otherwise run.

    make bench-peer
    .venv/bin/python bench/peer.py --peer-venv ~/.cache/katclinic-peer   # reuse between runs
    .venv/bin/python bench/peer.py --duration 10 --patients 1000

Installs GNU Health 5.0.6 (the `gnuhealth` server package on trytond 7.0) into its own
virtual environment, never into the app's; sets up its database with `trytond-admin` and
the `health` module, seeds patients with evaluations, serves it under gunicorn with sync
workers and drives it through Tryton's JSON-RPC. KAT Clinic is served with its production
gunicorn config (deploy/gunicorn.conf.py, the same number of workers) on the same
PostgreSQL server, and on SQLite. Each scenario runs peer, app on PostgreSQL, app on
SQLite, then the same in reverse (A B C C B A), in one window. Where the peer cannot be
installed or set up, one line starting "peer skipped:" says why and the exit status is 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cpu import load_average  # noqa: E402
from loadgen import Request, probe, run_wrk  # noqa: E402
from peer_cpu import cpu_between, cpu_by_process  # noqa: E402
from peer_setup import (  # noqa: E402
    PeerSkip,
    gunicorn_command,
    install,
    login,
    peer_env,
    rpc,
    serve,
    trytond_config,
)
from peer_store import admin_connection, peer_database, stored_evaluations  # noqa: E402
from run import RESULTS, build_dataset, machine, postgres_database, scenario_request  # noqa: E402
from scenarios import SCENARIOS, Scenario  # noqa: E402
from servers import ROOT, Served, manage, new_secret_key, production_env  # noqa: E402
from servers import gunicorn_command as app_gunicorn_command  # noqa: E402

TARGET = 8.0  # issue 20: 8x GNU Health on PostgreSQL and on SQLite
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Pair:
    """One thing a clinic does, as the app's scenario and as the peer's JSON-RPC call."""

    name: str
    app_scenario: str  # a name in scenarios.SCENARIOS
    method: str  # the peer's JSON-RPC method
    params: tuple[Any, ...]  # its parameters before the context


def tryton_datetime(year: int, month: int, day: int, hour: int) -> dict[str, Any]:
    fields = {"year": year, "month": month, "day": day, "hour": hour, "minute": 0}
    return {"__class__": "datetime", **fields, "second": 0, "microsecond": 0}


def pairs(patient: int, healthprof: int) -> list[Pair]:
    vitals = {"systolic": 124, "diastolic": 78, "bpm": 72, "respiratory_rate": 14, "osat": 98}
    evaluation = vitals | {"temperature": 36.8, "patient": patient, "healthprof": healthprof}
    evaluation["evaluation_start"] = tryton_datetime(2026, 1, 15, 10)
    readings = ["evaluation_start", *vitals, "temperature"]
    chart = [
        "rec_name",
        "puid",
        "gender",
        "age",
        "dob",
        "critical_summary",
        "diseases",
        "medications",
    ]
    return [
        Pair(
            "record six vital signs",
            "vitals checkpoint POST",
            "model.gnuhealth.patient.evaluation.create",
            ([evaluation],),
        ),
        Pair(
            "read recent readings",
            "api session readings",
            "model.gnuhealth.patient.evaluation.search_read",
            ([["patient", "=", patient]], 0, 20, [["evaluation_start", "DESC"]], readings),
        ),
        Pair(
            "patient chart",
            "chart: overview",
            "model.gnuhealth.patient.read",
            ([patient], chart),
        ),
    ]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--postgres", metavar="URL", default=DEFAULT_POSTGRES, help="server for both")
    p.add_argument("--database", default="bench_gnuhealth", help="the peer's database name")
    p.add_argument("--peer-venv", metavar="DIR", help="reuse the peer's venv and seed here")
    p.add_argument("--install-timeout", type=float, default=900, help="seconds for pip")
    p.add_argument("--setup-timeout", type=float, default=900, help="seconds for trytond-admin")
    p.add_argument("--patients", type=int, default=1000, help="patients on each side")
    p.add_argument("--evaluations", type=int, default=3, help="the peer's per patient")
    p.add_argument("--duration", type=float, default=5, help="seconds of load per run")
    p.add_argument("--warmup", type=float, default=1, help="seconds of load before each run")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (clients)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--ready-within", type=float, default=300, help="seconds to first answer")
    p.add_argument("--workers", type=int, default=4, help="gunicorn sync workers, each side")
    return p.parse_args()


def skip(reason: str) -> None:
    print(f"peer skipped: {reason}")
    sys.exit(0)


def measure(
    args: argparse.Namespace, served: Served, request: Request, tmp: Path, databases: set[str]
) -> dict[str, Any]:
    load = {"connections": args.connections, "threads": args.threads, "workdir": tmp}
    warm = run_wrk(served.base, request, seconds=args.warmup, **load)
    before = cpu_by_process(served.pid, databases)
    result = run_wrk(served.base, request, seconds=args.duration, **load)
    spent = cpu_between(before, cpu_by_process(served.pid, databases))
    return result.as_dict() | {"cpu_s": spent, "sent": warm.requests + result.requests}


def combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Two runs of one side: req/s over both, the worse p99, CPU per request over both."""
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    return {
        "rps": requests / seconds if seconds else 0.0,
        "p99_ms": max(r["p99_ms"] for r in runs),
        "cpu_ms": 1000 * sum(r["cpu_s"] for r in runs) / requests if requests else None,
        "errors": sum(r["errors"] + r["bad_status"] for r in runs),
        "sent": sum(r["sent"] for r in runs),
    }


@dataclass(frozen=True)
class Side:
    label: str
    served: Served
    request: Request
    databases: set[str]
    expect: int = 200  # the status a correct answer has (the checkpoint form redirects)


def checked(side: Side) -> None:
    status, text = probe(side.served.base, side.request)
    if status != side.expect or '"error"' in text:
        raise PeerSkip(f"{side.label} answered {status} to its probe: {text[:160]!r}")


def run_pair(
    args: argparse.Namespace, pair: Pair, sides: list[Side], tmp: Path, peer_db: str
) -> dict[str, Any]:
    """A B C C B A: each side twice, in one window, mirrored so drift hits all alike."""
    print(f"  {pair.name}:", flush=True)
    before = stored_evaluations(args.postgres, peer_db)
    runs: dict[str, list[dict[str, Any]]] = {side.label: [] for side in sides}
    for side in [*sides, *reversed(sides)]:
        print(f"    {side.label} ...", flush=True)
        runs[side.label].append(measure(args, side.served, side.request, tmp, side.databases))
    stored = stored_evaluations(args.postgres, peer_db) - before
    return {
        "pair": pair.name,
        "app_scenario": pair.app_scenario,
        "sides": {label: combined(r) for label, r in runs.items()},
        "peer_stored": stored,
    }


def peer_request(database: str, auth: str, pair: Pair, context: dict[str, Any]) -> Request:
    headers = {"Content-Type": "application/json", "Authorization": auth}
    body = {"id": 1, "method": pair.method, "params": [*pair.params, context]}
    return Request("POST", f"/{database}/", headers, json.dumps(body))


def app_scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def app_request(name: str, context: dict[str, Any]) -> Request:
    return scenario_request(app_scenario(name), context)


def serve_peer(
    args: argparse.Namespace, stack: ExitStack, python: Path, tmp: Path
) -> tuple[Side, dict[str, Any], list[Pair]]:
    """The peer seeded and served; its side of the first pair, its context and the pairs."""
    database, seed = stack.enter_context(peer_database(args, python, tmp))
    env = peer_env(tmp / "trytond.conf", tmp, database)
    command = gunicorn_command(python, args.workers)
    log = tmp / "peer.log"
    served = stack.enter_context(serve(command, env, "/", log, args.ready_within))
    auth = login(served.base, database)
    context = rpc(served.base, database, "model.res.user.get_preferences", [True, {}], auth)
    context = {"company": context["company"]}
    todo = pairs(seed["patients"][0], seed["healthprof"])
    side = Side("GNU Health, PostgreSQL", served, Request("GET", "/", {}), {database})
    return side, {"database": database, "auth": auth, "context": context}, todo


def serve_app(
    args: argparse.Namespace, stack: ExitStack, tmp: Path, url: str | None
) -> tuple[Served, dict[str, Any]]:
    backend = "postgresql" if url else "sqlite"
    print(f"  KAT Clinic on {backend}:", flush=True)
    env = production_env(tmp / f"app-{backend}", url, new_secret_key())
    context = build_dataset(env, args.patients, 0)
    context["taken_at"] = clinic_now(env, context["session_id"])
    log = tmp / f"app-{backend}.log"
    served = stack.enter_context(
        serve(app_gunicorn_command(args.workers), env, "/healthz", log, args.ready_within)
    )
    return served, context


# The checkpoint form reads its time as the clinic's wall clock (the clinic's time zone is
# active while a request is handled), so the reading's time is given in that zone.
CLINIC_NOW = (
    "from zoneinfo import ZoneInfo; from django.utils import timezone; "
    "from katclinic.dosing.models import DosingSession; "
    "s = DosingSession.objects.select_related('clinic').get(pk={pk}); "
    "print(timezone.localtime(timezone=ZoneInfo(s.clinic.timezone)).strftime('%Y-%m-%dT%H:%M'))"
)


def clinic_now(env: dict[str, str], session_id: int) -> str:
    return manage(env, "shell", "-c", CLINIC_NOW.format(pk=session_id)).strip().splitlines()[-1]


def run_all(args: argparse.Namespace, tmp: Path, python: Path) -> list[dict[str, Any]]:
    trytond_config(tmp, args.postgres)
    with ExitStack() as stack:
        peer, peer_ctx, todo = serve_peer(args, stack, python, tmp)
        app_db = "katclinic_bench_peer"
        url = stack.enter_context(postgres_database(args.postgres, app_db))
        app_pg, pg_ctx = serve_app(args, stack, tmp, url)
        app_lite, lite_ctx = serve_app(args, stack, tmp, None)
        app_pg_side = Side("KAT Clinic, PostgreSQL", app_pg, Request("GET", "/", {}), {app_db})
        app_lite_side = Side("KAT Clinic, SQLite", app_lite, Request("GET", "/", {}), set())
        plan = [
            (
                pair,
                [
                    replace(peer, request=peer_request(**peer_ctx, pair=pair)),
                    replace(
                        app_pg_side, request=app_request(pair.app_scenario, pg_ctx), expect=expect
                    ),
                    replace(
                        app_lite_side,
                        request=app_request(pair.app_scenario, lite_ctx),
                        expect=expect,
                    ),
                ],
            )
            for pair in todo
            for expect in [app_scenario(pair.app_scenario).expect_status]
        ]
        for _, sides in plan:  # every request answers as it should before any load
            for side in sides:
                checked(side)
        rows = [run_pair(args, pair, sides, tmp, peer_ctx["database"]) for pair, sides in plan]
        return rows


def report(rows: list[dict[str, Any]]) -> list[str]:
    head = f"{'scenario':<26}{'side':<25}{'req/s':>8}{'p99 ms':>9}{'CPU ms':>8}{'errors':>7}"
    lines = [head, "-" * len(head)]
    for row in rows:
        for label, r in row["sides"].items():
            cpu = f"{r['cpu_ms']:.2f}" if r["cpu_ms"] is not None else "-"
            lines.append(
                f"{row['pair']:<26}{label:<25}{r['rps']:>8.1f}{r['p99_ms']:>9.1f}{cpu:>8}"
                f"{r['errors']:>7}"
            )
        if row["pair"].startswith("record"):
            peer = row["sides"]["GNU Health, PostgreSQL"]
            lines.append(
                f"{'':<26}GNU Health stored {row['peer_stored']:,} evaluations "
                f"for {peer['sent']:,} answered requests (the probe and requests cut off when a run "
                "ends are stored but not counted as answered)"
            )
    return lines + target_lines(rows)


def target_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        peer = row["sides"]["GNU Health, PostgreSQL"]
        for label in ("KAT Clinic, PostgreSQL", "KAT Clinic, SQLite"):
            app = row["sides"][label]
            ratio = app["rps"] / peer["rps"] if peer["rps"] else 0.0
            cpu = (
                f"{peer['cpu_ms'] / app['cpu_ms']:.2f}x"
                if peer["cpu_ms"] and app["cpu_ms"]
                else "-"
            )
            verdict = "met" if ratio >= TARGET else "MISSED"
            lines.append(
                f"target {TARGET:g}x GNU Health, {row['pair']} ({label} against GNU Health "
                f"on PostgreSQL): {ratio:.2f}x req/s (GNU Health's CPU per request {cpu} the app's): "
                f"{verdict}"
            )
    return lines


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        skip("wrk is not installed (apt-get install wrk); both sides are driven by it")
    info = machine()
    load_start = load_average()
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}, {info['memory_gb']} GB; load average "
        f"{load_start}; {args.workers} workers each side (GNU Health sync, KAT Clinic "
        f"deploy/gunicorn.conf.py), wrk -t{args.threads} "
        f"-c{args.connections}, {args.warmup:g} s + {args.duration:g} s per run, A B C C B A",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="katclinic-bench-peer-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            admin_connection(args.postgres).close()  # before minutes of installing
            python = install(Path(args.peer_venv or tmp / "venv"), args.install_timeout)
            rows = run_all(args, tmp, python)
        except PeerSkip as exc:
            skip(str(exc))
    load_end = load_average()
    print()
    print(f"load average (1, 5, 15 min) at start {load_start}, at end {load_end}")
    print("\n".join(report(rows)))
    print(
        "CPU ms: gunicorn and its workers plus the PostgreSQL processes serving that side's "
        "database, per request. GNU Health is measured on PostgreSQL only: it is not meant "
        "to run on SQLite, so the SQLite lines compare against its PostgreSQL figures."
    )
    save(info | {"load_average_start": load_start, "load_average_end": load_end}, args, rows)


def save(info: dict[str, Any], args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"peer-{stamp}.json"
    path.write_text(json.dumps({"at": stamp, "machine": info, "args": vars(args), "rows": rows}))
    print(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
