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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from scenarios import checkpoint_body, phq9_bodies  # noqa: E402

SUBMIT = "/api/measures/responses"

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


@dataclass(frozen=True)
class Write:
    """A POST measured like a page: the nurse's vitals form, or a questionnaire submission
    through the API with a bearer token. Bodies are sent in turn (a mix repeats). A GET
    (the API read of a session's readings) has no bodies and runs among them, since the
    readings the vitals POST adds are what it reads."""

    name: str
    path: str
    auth: str  # a session key of the context, or "token"
    bodies: Callable[[dict[str, Any]], list[str]]
    content_type: str
    expect_status: int
    method: str = "POST"


def _alerting(context: dict[str, Any]) -> list[str]:
    return [b for b in phq9_bodies(context) if '"q9": 0' not in b]


def _not_alerting(context: dict[str, Any]) -> list[str]:
    return [b for b in phq9_bodies(context) if '"q9": 0' in b][:1]


def _gad7(context: dict[str, Any]) -> list[str]:
    """GAD-7 submissions (no safety item), as the soak sends them."""
    patients = context.get("submit_patient_ids") or [context["patient_id"]]
    answers = {f"q{i}": i % 4 for i in range(1, 8)}
    return [
        json.dumps({"patient_id": p, "instrument": "gad7", "answers": answers}) for p in patients
    ]


# After the pages, which they would change (every reading lands on the session page).
WRITES = (
    Write(
        "vitals checkpoint POST",
        "/dosing/{session_id}/checkpoint/",
        "session",
        lambda c: [checkpoint_body(c)],
        "application/x-www-form-urlencoded",
        302,
    ),
    Write(
        "api session readings",
        "/api/sessions/{session_id}?recent=20",
        "token",
        lambda c: [""],
        "",
        200,
        method="GET",
    ),
    Write("questionnaire submit (mix)", SUBMIT, "token", phq9_bodies, "application/json", 201),
    Write("questionnaire submit", SUBMIT, "token", _not_alerting, "application/json", 201),
    Write("questionnaire submit (alerting)", SUBMIT, "token", _alerting, "application/json", 201),
    Write("questionnaire submit (GAD-7)", SUBMIT, "token", _gad7, "application/json", 201),
)


def pages(context: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    tabs = [
        (f"chart: {key}", "{tab_" + key + "}", "admin_session" if key in ADMIN_TABS else "session")
        for key in context.get("tab_keys", [])
    ]
    return [*PAGES[:1], *((n, p, s, False) for n, p, s in tabs), *PAGES[1:]]


def statements_of(send: Callable[[], Any]) -> int:
    """SQL statements one request runs."""
    from django.db import connection

    seen: list[str] = []

    def count(execute: Any, sql: str, *rest: Any) -> Any:
        seen.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(count):
        send()
    return len(seen)


def measure_page(client: Any, url: str, requests: int, cold: bool) -> dict[str, Any]:
    from django.core.cache import cache

    return measure_requests(lambda: client.get(url), requests, cache.clear if cold else None)


def measure_requests(
    send: Callable[[], Any], requests: int, before: Callable[[], None] | None = None
) -> dict[str, Any]:
    for _ in range(5):
        send()
    queries = statements_of(send)
    started = time.process_time()
    for _ in range(requests):
        if before is not None:
            before()
        send()
    spent = time.process_time() - started
    return {"inprocess_cpu_ms": round(1000 * spent / requests, 2), "queries": queries}


def write_sender(context: dict[str, Any], write: Write) -> Callable[[], Any]:
    """Sends the write's bodies in turn; a response other than the expected one stops the run."""
    if write.auth == "token":
        client = page_client(context, "")
        extra = {"HTTP_AUTHORIZATION": f"Bearer {context['token']}"}
    else:
        client = page_client(context, write.auth)
        extra = {}
    url, bodies, sent = write.path.format(**context), write.bodies(context), [0]

    def send() -> Any:
        body = bodies[sent[0] % len(bodies)]
        sent[0] += 1
        if write.method == "GET":
            response = client.get(url, **extra)
        else:
            response = client.post(url, body, content_type=write.content_type, **extra)
        # As under wrk, no cookie the answer set (the confirmation message) is sent back.
        for name in set(client.cookies) - {context["session_cookie_name"]}:
            del client.cookies[name]
        if response.status_code != write.expect_status:
            sys.exit(f"{write.name} answered {response.status_code}: {response.content[:300]!r}")
        # A lapsed session (the staff idle timeout) answers 302 too, to the sign-in page.
        if "/accounts/login/" in response.get("Location", ""):
            sys.exit(f"{write.name} was sent to sign in: the dataset's session has lapsed")
        return response

    return send


def page_client(context: dict[str, Any], session_key: str) -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "katclinic.settings")
    import django

    django.setup()
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    if session_key:
        client.cookies[context["session_cookie_name"]] = context[session_key]
    return client


def sender(context: dict[str, Any], wanted: str) -> Callable[[], Any]:
    """One request of the page or write named `wanted`, ready to send again and again."""
    for name, path, session_key, _ in pages(context):
        if name == wanted:
            client, url = page_client(context, session_key), path.format(**context)
            return lambda: client.get(url)
    for write in WRITES:
        if write.name == wanted:
            return write_sender(context, write)
    names = [p[0] for p in pages(context)] + [w.name for w in WRITES]
    sys.exit(f"no page named {wanted!r}; pages: {', '.join(names)}")


def profile(context: dict[str, Any], requests: int, wanted: str) -> None:
    """cProfile one page over `requests` requests after the warm-up; prints the top entries."""
    import cProfile
    import pstats

    send = sender(context, wanted)
    for _ in range(5):
        send()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        send()
    profiler.disable()
    if os.environ.get("BENCH_PROFILE_OUT"):
        profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(30)


def measure(
    context: dict[str, Any], requests: int, only: str = "", part: str = "all"
) -> list[dict[str, Any]]:
    rows = []
    for name, path, session_key, cold in pages(context) if part != "writes" else ():
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
    for write in WRITES if part != "pages" else ():
        if only and only != write.name:
            continue
        row = {"scenario": f"in-process: {write.name}", "backend": "sqlite", "write": True}
        row["patients"] = context["dataset"]["patients_in_clinic"]
        rows.append(row | measure_requests(write_sender(context, write), requests))
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
    command += ["--part", args.part]
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
    p.add_argument(
        "--part",
        choices=("all", "pages", "writes"),
        default="all",
        help="pages only, writes only (they add rows the pages would then show), or both",
    )
    args = p.parse_args()
    if args.context:
        context = json.loads(Path(args.context).read_text())
        if args.profile:
            profile(context, args.requests, args.profile.removeprefix("in-process: "))
        else:
            only = (args.only or "").removeprefix("in-process: ")
            print(json.dumps(measure(context, args.requests, only, args.part)))
    else:
        build_and_measure(args)


if __name__ == "__main__":
    main()
