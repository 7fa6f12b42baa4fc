"""The soak's database side: seed what the clients need, and afterwards count what was stored.

Run by run.py in a subprocess with the server's environment:

    python bench/soak/data.py seed --patients 1000 --clients 16   # prints one JSON object
    python bench/soak/data.py verify --marks marks.json --accepted accepted.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))

import dataset  # noqa: E402  (sets Django up)
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from katclinic.audit.models import AuditEvent  # noqa: E402
from katclinic.demo import generator  # noqa: E402
from katclinic.demo.seed import build_demo  # noqa: E402
from katclinic.dosing.models import Checkpoint, DosingSession  # noqa: E402
from katclinic.dosing.statemachine import SessionState  # noqa: E402
from katclinic.measures.models import Response  # noqa: E402
from katclinic.protocols.models import Plan  # noqa: E402

# What each kind of write stores, by model label.
STORED = {"submission": Response, "vitals": Checkpoint}


@transaction.atomic
def monitoring_sessions(world: generator.DemoWorld, count: int) -> list[int]:
    """Dosing sessions in the monitoring state, so readings can be recorded against them.

    Written directly (as the demo writes its past sessions): the soak measures recording
    readings, not the steps that lead up to dosing.
    """
    nurse = world.staff["nurse"]
    plans = list(
        Plan.objects.filter(clinic=world.clinics[0], status="active")
        .exclude(dosing_sessions__state=SessionState.MONITORING)
        .select_related("protocol_version")[:count]
    )
    now = timezone.now()
    made = []
    for plan in plans:
        session = DosingSession.objects.create(
            clinic_id=plan.clinic_id,
            patient_id=plan.patient_id,
            plan=plan,
            chair="Chair 1",
            route=plan.protocol_version.route,
            scheduled_for=now - timedelta(minutes=30),
            state=SessionState.MONITORING,
            escort_confirmed=True,
            no_driving_agreed=True,
            pregnancy_status="not_applicable",
            questionnaires_confirmed=True,
            meds_reviewed_by=nurse,
            meds_reviewed_at=now - timedelta(minutes=25),
            dose_started_at=now - timedelta(minutes=15),
            created_by=nurse,
            last_food_at=now - timedelta(hours=4),
            last_liquid_at=now - timedelta(hours=1),
        )
        made.append(session.pk)
    return made


def marks() -> dict[str, int]:
    """The highest id of each stored kind before the load: rows above it are the soak's."""
    out = {
        kind: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        for kind, model in STORED.items()
    }
    out["audit"] = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return out


def seed(patients: int, clients: int) -> dict[str, Any]:
    world = build_demo(patients_per_clinic=dataset.DEMO_PATIENTS_PER_CLINIC)
    dataset.bulk_patients(world, patients)
    context = dataset.context_for(world)
    nurse = world.staff["nurse"]
    context["sessions"] = [dataset.signed_in_cookie(nurse) for _ in range(clients)]
    context["dosing_sessions"] = monitoring_sessions(world, clients)
    demo = [p.pk for p in world.patients if p.clinic_id == world.clinics[0].pk]
    context["chart_patients"] = demo[: dataset.DEMO_PATIENTS_PER_CLINIC]
    context["submit_patients"] = demo[: dataset.DEMO_PATIENTS_PER_CLINIC]
    context["marks"] = marks()
    return context


def verify(before: dict[str, int], accepted: dict[str, Any]) -> dict[str, Any]:
    """Stored rows against accepted requests, and an audit event for each stored row."""
    out: dict[str, Any] = {}
    for kind, model in STORED.items():
        label = model._meta.label_lower
        rows = set(model.objects.filter(pk__gt=before[kind]).values_list("pk", flat=True))
        audited = {
            int(i)
            for i in AuditEvent.objects.filter(
                object_type=label, action="create", pk__gt=before["audit"]
            ).values_list("object_id", flat=True)
        }
        ids = set(accepted.get("ids", {}).get(kind, []))
        out[kind] = {
            "accepted": accepted["counts"].get(kind, 0),
            "stored": len(rows),
            "accepted_ids_missing": len(ids - rows),
            "stored_without_audit_event": len(rows - audited),
        }
    reads = AuditEvent.objects.filter(
        pk__gt=before["audit"], action="view", object_type="patients.patient"
    ).count()
    out["chart"] = {"accepted": accepted["counts"].get("chart", 0), "read_audit_events": reads}
    try:
        call_command("verify_audit", verbosity=0)
        out["verify_audit_ok"] = True
    except Exception as exc:  # reported, not raised: the soak prints every figure
        out["verify_audit_ok"] = False
        out["verify_audit_error"] = str(exc)[:500]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=["seed", "verify"])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--marks", type=Path)
    parser.add_argument("--accepted", type=Path)
    args = parser.parse_args()
    if args.role == "seed":
        result = seed(args.patients, args.clients)
    else:
        result = verify(json.loads(args.marks.read_text()), json.loads(args.accepted.read_text()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
