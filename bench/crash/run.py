"""Crash safety: writers are SIGKILLed again and again; no acknowledged write may be lost.

    .venv/bin/python bench/crash/run.py --seconds 60 --writers 4            # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/crash/run.py --seconds 60                     # PostgreSQL

Each writer records patient data through the app's own service functions (weights,
allergies, new patients; questionnaire responses too once measures.services.submit_response
exists), and after each service call returns (its transaction committed) appends the new
row's id to its own log. The parent kills a random writer with SIGKILL at random intervals
and starts a new one. At the end every logged id must be in the database with its audit
event, SQLite's integrity_check must say ok (PostgreSQL: pg_amcheck finds nothing), and
`manage.py verify_audit` must pass. This is a process-crash test: with
synchronous=NORMAL, SQLite in WAL mode keeps every commit across a process crash (a power
cut may lose the last commits, which this does not simulate).

With `--serving STACK` (production, sync, gthreadN) the writes go over HTTP instead, to
gunicorn serving the app with that stack and production settings: bench/soak/run.py runs
with `--sigkill-workers`, so a random gunicorn worker is SIGKILLed every `--min-gap` to
`--max-gap` seconds while clients submit questionnaires, record vital signs and read
charts. Every acknowledged submission (by id) and reading must be stored with its audit
event and `verify_audit` must pass; requests cut off by a kill get no answer, which is
what a crash does to the requests a worker holds (one with sync workers, up to its threads
with gthread).

Not part of the test run; it prints a JSON summary and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("weight", "allergy", "patient", "response")


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "katclinic.settings")
    import django

    django.setup()


def seed() -> None:
    from datetime import date

    from katclinic.accounts.models import User
    from katclinic.clinics.models import Clinic, Organization
    from katclinic.patients import services

    org = Organization.objects.create(name="Crash Test Health")
    clinic = Clinic.objects.create(organization=org, name="North", slug="north")
    nurse = User.objects.create_user(email="nurse@crash.invalid", full_name="N", kind="staff")
    for n in range(20):
        services.register_patient(
            clinic=clinic,
            by=nurse,
            data={
                "first_name": f"P{n}",
                "last_name": "Crash",
                "date_of_birth": date(1980, 1, 1 + n),
                "phone": "555-0100",
            },
        )


def write_one(kind: str, patients: list[Any], nurse: Any, rng: random.Random) -> tuple[str, int]:
    from datetime import date
    from decimal import Decimal

    from katclinic.patients import services

    patient = rng.choice(patients)
    if kind == "weight":
        kg = Decimal(rng.randint(450, 1200)) / 10
        row = services.record_weight(
            patient=patient,
            weight_kg=kg,
            entered_value=kg,
            entered_unit="kg",
            measured_on=date(2026, 1, 5),
            by=nurse,
        )
    elif kind == "allergy":
        row = services.add_allergy(
            patient=patient, by=nurse, data={"substance": f"test-{rng.randint(1, 10**9)}"}
        )
    else:
        row = services.register_patient(
            clinic=patient.clinic,
            by=nurse,
            data={
                "first_name": "New",
                "last_name": "Crash",
                "date_of_birth": date(1990, 2, 3),
                "phone": "555-0100",
            },
        )
    return row._meta.label_lower, row.pk


def writer(log_path: Path, seed_value: int) -> None:
    """Write forever; the parent ends this process with SIGKILL."""
    from katclinic.accounts.models import User
    from katclinic.patients.models import Patient

    rng = random.Random(seed_value)
    nurse = User.objects.get(email="nurse@crash.invalid")
    patients = list(Patient.objects.select_related("clinic")[:20])
    submit = questionnaire_writer()
    # Line-buffered: each acknowledgement reaches the kernel with one write() at once,
    # so a SIGKILL after it cannot lose it.
    with open(log_path, "a", buffering=1) as log:
        while True:
            kind = rng.choices(KINDS, weights=(6, 2, 1, 3 if submit else 0))[0]
            label, pk = (
                submit(rng, patients, nurse)
                if kind == "response" and submit
                else (write_one(kind, patients, nurse, rng))
            )
            log.write(f"{label} {pk}\n")


def questionnaire_writer() -> Any:
    """A GAD-7 submission through measures.services.submit_response, when that exists."""
    try:
        from katclinic.measures import services as measures
    except ImportError:
        return None
    if not hasattr(measures, "submit_response"):
        return None

    def submit(rng: random.Random, patients: list[Any], nurse: Any) -> tuple[str, int]:
        row = measures.submit_response(
            patient=rng.choice(patients),
            instrument_key="gad7",
            source="staff",
            answers={f"q{i}": rng.randint(0, 3) for i in range(1, 8)},
            submitted_by=nurse,
            request=None,
        )
        return row._meta.label_lower, row.pk

    return submit


def verify(logs: list[Path]) -> dict[str, Any]:
    from django.apps import apps
    from django.core.management import call_command

    from katclinic.audit.models import AuditEvent

    acked: dict[str, set[int]] = {}
    for log in logs:
        for line in (log.read_text() if log.exists() else "").splitlines():
            parts = line.split()
            if len(parts) == 2:  # a torn last line cannot be an acknowledgement
                acked.setdefault(parts[0], set()).add(int(parts[1]))
    lost, unaudited = 0, 0
    for label, ids in acked.items():
        model = apps.get_model(label)
        found = set(model._default_manager.filter(pk__in=ids).values_list("pk", flat=True))
        lost += len(ids - found)
        audited = set(
            AuditEvent.objects.filter(object_type=label, action="create").values_list(
                "object_id", flat=True
            )
        )
        unaudited += len({str(i) for i in ids} - audited)
    try:
        call_command("verify_audit")
        audit_ok = True
    except Exception as exc:  # report, don't crash the bench
        print(f"verify_audit: {exc}", file=sys.stderr)
        audit_ok = False
    return {
        "acknowledged": sum(map(len, acked.values())),
        "lost": lost,
        "acknowledged_without_audit_event": unaudited,
        "verify_audit_ok": audit_ok,
        "by_kind": {k: len(v) for k, v in acked.items()},
    }


def storage_check(env: dict[str, str]) -> dict[str, Any]:
    if "DATABASE_URL" not in env:
        with sqlite3.connect(env["SQLITE_PATH"]) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return {"sqlite_integrity_check": result, "ok": result == "ok"}
    tool = shutil.which("pg_amcheck") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_amcheck"), reverse=True)), None
    )
    if tool is None:
        return {"pg_amcheck": "skipped: pg_amcheck not installed", "ok": True}
    import dj_database_url

    db = dj_database_url.parse(env["DATABASE_URL"])
    pg = {
        "PGHOST": db["HOST"],
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": db["USER"],
        "PGPASSWORD": db["PASSWORD"] or "",
    }
    create = subprocess.run(
        ["psql", "-d", db["NAME"], "-c", "CREATE EXTENSION IF NOT EXISTS amcheck"],
        env={**os.environ, **pg},
        capture_output=True,
        text=True,
    )
    if create.returncode != 0:
        return {"pg_amcheck": f"skipped: {create.stderr.strip()}", "ok": True}
    run = subprocess.run(
        [tool, "--heapallindexed", "--install-missing", db["NAME"]],
        env={**os.environ, **pg},
        capture_output=True,
        text=True,
    )
    return {
        "pg_amcheck": "clean" if run.returncode == 0 else run.stdout[-2000:] + run.stderr,
        "ok": run.returncode == 0,
    }


def child(role: str, env: dict[str, str], extra: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--role", role, *extra], env={**os.environ, **env}, cwd=ROOT
    )


def database_env(work: Path) -> dict[str, str]:
    env = {"KATCLINIC_TESTING": "1", "DATA_DIR": str(work), "LOG_LEVEL": "ERROR"}
    url = os.environ.get("DATABASE_URL")
    if not url:
        return {**env, "SQLITE_PATH": str(work / "crash.sqlite3")}
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(url)
    name = f"kc_crash_{os.getpid()}"
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    return {**env, "DATABASE_URL": url.rsplit("/", 1)[0] + "/" + name}


def drop_database(env: dict[str, str]) -> None:
    """Remove the PostgreSQL database this run created (SQLite's went with the directory)."""
    if "DATABASE_URL" not in env:
        return
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(env["DATABASE_URL"])
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')


def parent(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="kc-crash-"))
    env = database_env(work)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
    )
    child("seed", env, []).wait()
    rng = random.Random(args.seed)
    logs = [work / f"writer-{i}.log" for i in range(args.writers)]
    procs = [
        child("writer", env, ["--log", str(log), "--seed", str(rng.randrange(2**31))])
        for log in logs
    ]
    kills, started, deadline = 0, time.monotonic(), time.monotonic() + args.seconds
    # A writer may be killed once it has acknowledged a write since it started: killing
    # one still busy starting Django would test nothing.
    sizes = [0] * args.writers
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(args.min_gap, args.max_gap))
        busy = [i for i, log in enumerate(logs) if log.exists() and log.stat().st_size > sizes[i]]
        if not busy:
            continue
        i = rng.choice(busy)
        procs[i].send_signal(signal.SIGKILL)
        procs[i].wait()
        kills += 1
        sizes[i] = logs[i].stat().st_size
        procs[i] = child(
            "writer", env, ["--log", str(logs[i]), "--seed", str(rng.randrange(2**31))]
        )
    for proc in procs:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    elapsed = time.monotonic() - started
    result_file = work / "verify.json"
    child("verify", env, ["--out", str(result_file), *[f"--logs={p}" for p in logs]]).wait()
    summary: dict[str, Any] = {
        "database": "postgresql" if "DATABASE_URL" in env else "sqlite",
        "seconds": round(elapsed, 1),
        "writers": args.writers,
        "sigkills_mid_write": kills,
        **json.loads(result_file.read_text()),
        **storage_check(env),
    }
    summary["acknowledged_per_second"] = round(summary["acknowledged"] / elapsed, 1)
    ok = summary["lost"] == 0 and summary["verify_audit_ok"] and summary["ok"]
    summary["ok"] = ok and summary["acknowledged_without_audit_event"] == 0
    print(json.dumps(summary, indent=2))
    if summary["ok"] and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
        drop_database(env)
    return 0 if summary["ok"] else 1


def over_http(args: argparse.Namespace) -> int:
    """The crash test through a serving stack: the soak with workers SIGKILLed."""
    command = [
        sys.executable,
        str(ROOT / "bench" / "soak" / "run.py"),
        "--serving",
        args.serving,
        "--duration",
        str(args.seconds),
        "--clients",
        str(args.clients),
        "--patients",
        "200",
        "--seed",
        str(args.seed),
        "--sigkill-workers",
        str(args.min_gap),
        str(args.max_gap),
    ]
    if args.keep_alive:
        command.append("--keep-alive")
    if url := os.environ.get("DATABASE_URL"):
        command += ["--postgres", url]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--min-gap", type=float, default=0.2, help="shortest pause between kills")
    parser.add_argument("--max-gap", type=float, default=1.5, help="longest pause between kills")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--serving",
        help="write over HTTP through this serving stack (production, sync, gthreadN), "
        "SIGKILLing gunicorn workers instead of writer processes",
    )
    parser.add_argument("--clients", type=int, default=8, help="HTTP clients (with --serving)")
    parser.add_argument(
        "--keep-alive", action="store_true", help="clients keep connections open (--serving)"
    )
    parser.add_argument("--role", default="parent", choices=["parent", "seed", "writer", "verify"])
    parser.add_argument("--log", type=Path)
    parser.add_argument("--logs", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.role == "parent":
        return over_http(args) if args.serving else parent(args)
    setup_django({})
    if args.role == "seed":
        seed()
    elif args.role == "writer":
        writer(args.log, args.seed)
    else:
        args.out.write_text(json.dumps(verify(args.logs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
