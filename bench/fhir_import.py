"""Bulk FHIR import throughput: Patients posted as transaction Bundles to the real endpoint.

Builds a fresh SQLite (or DATABASE_URL) database, serves the app with gunicorn sync
workers on 127.0.0.1, and posts ``--patients`` generated Patients in Bundles of
``--batch`` from ``--clients`` concurrent clients. Every resource goes through token
auth, structural validation (the fhir.resources R4B Patient model), the pure mapping, a
multi-row insert and its own audit event on the clinic's hash chain.

On a shared machine the wall-clock figure depends on what else runs; ``--in-process``
also reports CPU seconds, which do not.

    python bench/fhir_import.py --patients 20000 --batch 1000 --clients 2 --workers 2
    python bench/fhir_import.py --patients 5000 --in-process --profile 30   # no server; cProfile
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import gunicorn_command, manage, new_secret_key, production_env, serve  # noqa: E402

SETUP = """
from katclinic.api.models import ApiToken, Scope
from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic, Organization, StaffMembership
org = Organization.objects.create(name="Bench")
clinic = Clinic.objects.create(organization=org, name="Bench", slug="bench")
user = User.objects.create_user(email="bench@example.org", password=None, full_name="Bench", kind="staff")
StaffMembership.objects.create(user=user, clinic=clinic, role="front_desk")
print(ApiToken.issue(user=user, clinic=clinic, name="bench", scopes=[Scope.FHIR_WRITE.value])[1])
"""
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]


def patient(rng: random.Random) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": rng.choice(LAST), "given": [rng.choice(FIRST)]}],
        "gender": rng.choice(["female", "male", "other", "unknown"]),
        "birthDate": f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "telecom": [
            {"system": "phone", "value": f"555-{rng.randint(0, 9999):04d}"},
            {"system": "email", "value": f"p{rng.randint(0, 10**6)}@example.org"},
        ],
        "address": [{"text": f"{rng.randint(1, 999)} Main Street"}],
    }


def bundles(total: int, batch: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for start in range(0, total, batch):
        entries = [
            {"resource": patient(rng), "request": {"method": "POST", "url": "Patient"}}
            for _ in range(min(batch, total - start))
        ]
        out.append(
            json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}).encode()
        )
    return out


def post_all(base: str, token: str, bodies: list[bytes], clients: int) -> float:
    host, port = base.removeprefix("http://").split(":")

    def send(body: bytes) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        connection.request(
            "POST",
            "/fhir/R4/",
            body,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        )
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise SystemExit(f"import failed with {response.status}: {answer[:500]!r}")
        connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, bodies))
    return time.perf_counter() - started


def in_process(env: dict[str, str], token: str, bodies: list[bytes], top: int) -> None:
    """Post the Bundles in this process (no server), timing wall and CPU; under cProfile if ``top``."""
    import cProfile
    import pstats

    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "katclinic.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")

    def send_all() -> None:
        for body in bodies:
            answer = client.post("/fhir/R4/", body, content_type="application/fhir+json")
            if answer.status_code != 200:
                raise SystemExit(
                    f"import failed with {answer.status_code}: {answer.content[:500]!r}"
                )

    client.get("/fhir/R4/metadata")  # load the URLconf before timing
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profiler.runcall(send_all) if top else send_all()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    count = sum(len(json.loads(body)["entry"]) for body in bodies)
    print(
        f"{count} resources in {seconds:.2f} s wall, {cpu:.2f} s CPU"
        f"{' under the profiler' if top else ''}: {count / seconds:.0f}/s wall, {count / cpu:.0f}/s per CPU second"
    )
    if top:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="post from this process without a server, timing wall and CPU seconds",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="with --in-process: run under cProfile and print the N costliest calls",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = production_env(Path(tmp), os.environ.get("DATABASE_URL"), new_secret_key())
        manage(env, "migrate", "--noinput")
        token = manage(env, "shell", "-c", SETUP).strip().splitlines()[-1]
        bodies = bundles(args.patients, args.batch)
        if args.in_process:
            in_process(env, token, bodies, args.profile)
            return
        with serve(
            gunicorn_command(args.workers), env, "/fhir/R4/metadata", Path(tmp) / "server.log"
        ) as base:
            post_all(base, token, bundles(args.batch, args.batch, seed=1), 1)  # warm the workers
            seconds = post_all(base, token, bodies, args.clients)
    print(
        json.dumps(
            {
                "scenario": "FHIR transaction import of Patients (validation + multi-row insert + audit event per resource)",
                "patients": args.patients,
                "batch": args.batch,
                "clients": args.clients,
                "gunicorn_workers": args.workers,
                "seconds": round(seconds, 2),
                "resources_per_second": round(args.patients / seconds),
                "database": "postgresql" if os.environ.get("DATABASE_URL") else "sqlite",
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
