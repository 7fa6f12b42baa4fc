"""In-process CPU per page: the Django test client against production settings, no HTTP.

Measures what one request costs the app itself (time.process_time over N requests, after a
warm-up), without the server, the socket or the load generator sharing the cores, so the
figure holds on a busy machine. Also counts the SQL statements each page runs.

    make bench-pages                                  # builds a dataset, then measures
    .venv/bin/python bench/inprocess.py --patients 1000 --requests 100
    .venv/bin/python bench/inprocess.py --data-dir /tmp/pages   # keep (and reuse) the dataset
    .venv/bin/python bench/inprocess.py --data-dir /tmp/pages --profile "dosing session page"

run.py calls it with `--context` on the SQLite dataset it has already built.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

# (name, context key of the path or a literal path, session key, clear the cache first)
PAGES: tuple[tuple[str, str, str, bool], ...] = (
    ("dosing session page", "/dosing/{session_id}/", "session", False),
    ("patient list", "/patients/", "session", False),
    ("patient search", "/patients/?q={search}", "session", False),
    ("floor board", "/dosing/board/", "session", False),
    ("outcomes dashboard (warm)", "/outcomes/", "outcomes_session", False),
    ("outcomes dashboard (cold)", "/outcomes/", "outcomes_session", True),
)
ADMIN_TABS = {"appointments", "insurance", "billing", "portal"}
# Writes measured the same way: (name, path, the scenario whose bodies are sent in turn).
SUBMISSION = "questionnaire submit"


def pages(context: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    tabs = [
        (f"chart: {key}", "{tab_" + key + "}", "admin_session" if key in ADMIN_TABS else "session")
        for key in context.get("tab_keys", [])
    ]
    return [*PAGES[:1], *((n, p, s, False) for n, p, s in tabs), *PAGES[1:]]


def statements_of(client: Any, url: str) -> int:
    """SQL statements one request runs."""
    from django.db import connection

    seen: list[str] = []

    def count(execute: Any, sql: str, *rest: Any) -> Any:
        seen.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(count):
        client.get(url)
    return len(seen)


def measure_page(client: Any, url: str, requests: int, cold: bool) -> dict[str, Any]:
    from django.core.cache import cache

    for _ in range(5):
        client.get(url)
    queries = statements_of(client, url)
    started = time.process_time()
    for _ in range(requests):
        if cold:
            cache.clear()
        client.get(url)
    spent = time.process_time() - started
    return {"inprocess_cpu_ms": round(1000 * spent / requests, 2), "queries": queries}


def submit(client: Any, context: dict[str, Any], body: str) -> int:
    """One PHQ-9 submission through the JSON API with the dataset's token; its status."""
    response = client.post(
        "/api/measures/responses",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {context['token']}"},
    )
    return int(response.status_code)


def measure_submissions(context: dict[str, Any], requests: int) -> dict[str, Any]:
    """CPU per submission over the scenario's mix (one in ten raises a safety alert)."""
    from django.db import connection
    from scenarios import phq9_bodies

    client = page_client(context, "session")
    bodies = phq9_bodies(context)
    statuses = {submit(client, context, bodies[n % len(bodies)]) for n in range(5)}
    seen: list[str] = []
    with connection.execute_wrapper(
        lambda execute, sql, *rest: seen.append(sql) or execute(sql, *rest)
    ):
        submit(client, context, bodies[0])  # the alerting one
    started = time.process_time()
    for n in range(requests):
        statuses.add(submit(client, context, bodies[n % len(bodies)]))
    spent = time.process_time() - started
    row: dict[str, Any] = {"inprocess_cpu_ms": round(1000 * spent / requests, 2)}
    row["queries"] = len(seen)
    if statuses != {201}:
        row["error"] = f"answered {sorted(statuses)}"
    return row


def page_client(context: dict[str, Any], session_key: str) -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "katclinic.settings")
    import django

    django.setup()
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[context["session_cookie_name"]] = context[session_key]
    return client


def profile(context: dict[str, Any], requests: int, wanted: str) -> None:
    """cProfile one page over `requests` requests after the warm-up; prints the top entries."""
    import cProfile
    import pstats

    if wanted == SUBMISSION:
        from scenarios import phq9_bodies

        client, bodies = page_client(context, "session"), phq9_bodies(context)
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(requests):
            submit(client, context, bodies[n % len(bodies)])
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
        return
    chosen = [p for p in pages(context) if p[0] == wanted]
    if not chosen:
        sys.exit(f"no page named {wanted!r}; pages: {', '.join(p[0] for p in pages(context))}")
    _, path, session_key, _ = chosen[0]
    client = page_client(context, session_key)
    url = path.format(**context)
    for _ in range(5):
        client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(url)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(30)


def measure(context: dict[str, Any], requests: int, only: str = "") -> list[dict[str, Any]]:
    rows = []
    for name, path, session_key, cold in pages(context):
        if only and only != name:
            continue
        client = page_client(context, session_key)
        url = path.format(**context)
        status = client.get(url).status_code
        row: dict[str, Any] = {"scenario": f"in-process: {name}", "backend": "sqlite"}
        row["patients"] = context["dataset"]["patients_in_clinic"]
        rows.append(row)
        if status != 200:
            row["error"] = f"answered {status}"
            continue
        row |= measure_page(client, url, requests, cold)
    if not only or only == SUBMISSION:
        row = {"scenario": f"in-process: {SUBMISSION}", "backend": "sqlite"}
        row["patients"] = context["dataset"]["patients_in_clinic"]
        rows.append(row | measure_submissions(context, requests))
    return rows


def run_in(tmp: Path, args: argparse.Namespace) -> subprocess.CompletedProcess[str]:
    """Builds the dataset in `tmp` unless it is there, then measures (or profiles) in a child."""
    from run import build_dataset
    from servers import production_env

    key_file, context_file = tmp / "secret_key", tmp / "context.json"
    if not context_file.exists():
        from servers import new_secret_key

        key_file.write_text(new_secret_key())
        env = production_env(tmp / "data", None, key_file.read_text())
        context_file.write_text(json.dumps(build_dataset(env, args.patients, args.responses)))
    env = production_env(tmp / "data", None, key_file.read_text())
    command = [sys.executable, __file__, "--context", str(context_file)]
    command += ["--requests", str(args.requests)]
    if args.only:
        command += ["--only", args.only]
    if args.profile:
        command += ["--profile", args.profile]
        return subprocess.run(command, env=env, text=True, check=False)
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def build_and_measure(args: argparse.Namespace) -> None:
    if args.data_dir:
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
        out = run_in(Path(args.data_dir), args)
    else:
        with tempfile.TemporaryDirectory(prefix="katclinic-pages-") as tmp:
            out = run_in(Path(tmp), args)
    if out.returncode:
        sys.exit(f"in-process measurement failed:\n{out.stdout}{out.stderr}")
    if args.profile:
        return
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    from targets import page_lines

    for row in rows:
        figure = row.get("error") or f"{row['inprocess_cpu_ms']:.2f} ms CPU, {row['queries']} SQL"
        print(f"{row['scenario']:<40}{figure}")
    for line in page_lines(rows):
        print(line)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--context", help="the JSON dataset.py printed (the database is the env's)")
    p.add_argument("--requests", type=int, default=200, help="measured requests per page")
    p.add_argument("--patients", type=int, default=10_000)
    p.add_argument("--responses", type=int, default=100_000)
    p.add_argument("--data-dir", help="build the dataset here and keep it; reused when present")
    p.add_argument("--profile", metavar="PAGE", help="cProfile one page (its name as printed)")
    p.add_argument("--only", metavar="PAGE", help="measure one page (its name as printed)")
    args = p.parse_args()
    if args.context:
        context = json.loads(Path(args.context).read_text())
        if args.profile:
            profile(context, args.requests, args.profile.removeprefix("in-process: "))
        else:
            only = (args.only or "").removeprefix("in-process: ")
            print(json.dumps(measure(context, args.requests, only)))
    else:
        build_and_measure(args)


if __name__ == "__main__":
    main()
