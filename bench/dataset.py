"""Build a benchmark dataset in the configured database and print what the load needs.

Run by run.py in a subprocess with the same environment as the app server (the session
cookie is signed with its SECRET_KEY). Prints one JSON object: the session cookie of a
signed-in staff user, an API token, and ids for the scenarios' URLs and bodies.

    python bench/dataset.py --patients 10000 --responses 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "katclinic.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.middleware.csrf import CSRF_ALLOWED_CHARS  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from katclinic.accounts import services as account_services  # noqa: E402
from katclinic.accounts.models import UserSession  # noqa: E402
from katclinic.api.models import ApiToken, Scope  # noqa: E402
from katclinic.demo import generator  # noqa: E402
from katclinic.demo.seed import build_demo  # noqa: E402
from katclinic.dosing import monitoring_services as mon  # noqa: E402
from katclinic.dosing.models import DosingSession  # noqa: E402
from katclinic.dosing.statemachine import SessionState  # noqa: E402
from katclinic.lib import rows  # noqa: E402
from katclinic.measures.demo import generate_responses  # noqa: E402
from katclinic.outcomes.demo import generate_course_outcomes  # noqa: E402
from katclinic.patients.models import Patient  # noqa: E402
from katclinic.patients.tabs import TABS  # noqa: E402

# The demo's own patients (with every app's history) come first; the rest are bulk rows.
DEMO_PATIENTS_PER_CLINIC = 20
# Readings on the session the nurse keeps open (issue 20: the page is judged with 20).
READINGS = 20
# Questionnaire submissions come from this many of the clinic's patients.
SUBMITTING_PATIENTS = 20


@transaction.atomic
def bulk_patients(world: generator.DemoWorld, total: int) -> list[Any]:
    """Top the first clinic up to `total` patients with demographics and clinical rows."""
    clinic = world.clinics[0]
    extra = max(0, total - DEMO_PATIENTS_PER_CLINIC)
    made: list[Any] = []
    for start in range(0, extra, 5000):
        count = min(5000, extra - start)
        rows = generator._patient_rows(world, clinic, count, DEMO_PATIENTS_PER_CLINIC + 1 + start)
        generator._clinical_rows(world, rows)
        made += rows
    world.patients += made
    return made


def bulk_responses(world: generator.DemoWorld, count: int) -> tuple[int, str]:
    """About `count` questionnaire responses spread over the first clinic's patients."""
    if count <= 0:
        return 0, "none requested"
    patients = [p for p in world.patients if p.clinic_id == world.clinics[0].pk]
    made = generate_responses(patients, max(1, count // len(patients)), world.rng)
    return made, "katclinic.measures.demo.generate_responses"


def generate_outcomes(world: generator.DemoWorld) -> int:
    """A rolled-up course per bulk patient, so the outcomes dashboard covers the whole clinic."""
    patients = [p for p in world.patients if p.clinic_id == world.clinics[0].pk]
    return generate_course_outcomes(patients, world.staff["prescriber"])


def signed_in_cookie(user: Any) -> str:
    """A session with both factors passed, as ClinicTestCase.login makes it."""
    client = Client()
    client.force_login(user)
    session = client.session
    now = timezone.now().timestamp()
    session[account_services.OTP_OK] = True
    session[account_services.STARTED_AT] = now
    session[account_services.LAST_SEEN] = now
    session.save()
    UserSession.objects.create(user=user, session_key=session.session_key or "")
    return session.session_key or ""


def monitored_session(world: generator.DemoWorld) -> DosingSession:
    """The demo's session in monitoring now, topped up to READINGS normal readings."""
    session = DosingSession.objects.get(clinic=world.clinics[0], state=SessionState.MONITORING)
    nurse, now = world.staff["nurse"], timezone.now()
    for n in range(READINGS - session.checkpoints.count()):
        mon.record_checkpoint(
            session=session,
            label="extra reading",
            taken_at=now - timedelta(minutes=45) + timedelta(minutes=2 * n),
            by=nurse,
            values={"systolic": 126, "diastolic": 80, "heart_rate": 74, "spo2": 98, "moaas": 5},
        )
    return session


def tab_paths(patient: Any) -> dict[str, str]:
    """Every chart tab of the chart patient, as `tab_<key>` paths for the scenarios."""
    return {f"tab_{t.key}": reverse(t.url_name, args=[patient.pk]) for t in TABS}


def context_for(world: generator.DemoWorld) -> dict[str, Any]:
    """What scenarios fill into their paths and bodies. Add keys here for new scenarios."""
    staff = world.staff["nurse"]
    _, token = ApiToken.issue(
        user=staff,
        clinic=world.clinics[0],
        name="bench",
        scopes=[
            Scope.PATIENTS_READ.value,
            Scope.MEASURES_WRITE.value,
            Scope.MEASURES_READ.value,
            Scope.SESSIONS_READ.value,
        ],
    )
    chart_patient = world.patients[2]  # a demo patient of the first clinic, with full history
    session = monitored_session(world)
    return tab_paths(chart_patient) | {
        "session_cookie_name": settings.SESSION_COOKIE_NAME,
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        "session": signed_in_cookie(staff),
        # Outcome pages need a role with VIEW_OUTCOMES at one clinic (the nurse has none).
        "outcomes_session": signed_in_cookie(world.staff["admin"]),
        "admin_session": signed_in_cookie(world.staff["admin"]),
        # A CSRF secret sent as cookie and form field, as a browser's form post does.
        "csrf": get_random_string(32, allowed_chars=CSRF_ALLOWED_CHARS),
        "session_id": session.pk,
        "session_readings": session.checkpoints.count(),
        # The checkpoint form reads its time as the clinic's wall clock.
        "taken_at": timezone.localtime(timezone=ZoneInfo(session.clinic.timezone)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "tab_keys": [t.key for t in TABS],
        "token": token,
        "patient_id": chart_patient.pk,
        "submit_patient_ids": list(
            Patient.objects.filter(clinic=world.clinics[0])
            .order_by("pk")
            .values_list("pk", flat=True)[:SUBMITTING_PATIENTS]
        ),
        "search": "Patel",
    }


def analyze() -> None:
    """What autovacuum would do soon after a bulk load on PostgreSQL: statistics for the
    planner (without them a search cannot tell its trigram indexes from a scan) and the GIN
    indexes' pending lists merged (until then every search reads them through, which made
    the trigram indexes slower than a scan). SQLite's planner is left as a fresh database
    has it (no ANALYZE has run there)."""
    if connection.vendor == "postgresql":
        rows.execute(Patient, "VACUUM ANALYZE", [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--responses", type=int, default=0)
    args = parser.parse_args()
    started = time.monotonic()
    world = build_demo(patients_per_clinic=DEMO_PATIENTS_PER_CLINIC)
    bulk_patients(world, args.patients)
    patients_seconds = time.monotonic() - started
    responses, source = bulk_responses(world, args.responses)
    outcomes = generate_outcomes(world)
    context = context_for(world)
    analyze()
    context["dataset"] = {
        "patients_in_clinic": max(args.patients, DEMO_PATIENTS_PER_CLINIC),
        "patients_seconds": round(patients_seconds, 1),
        "responses": responses,
        "responses_source": source,
        "course_outcomes": outcomes,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(context))


if __name__ == "__main__":
    main()
