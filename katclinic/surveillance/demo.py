"""Demo surveillance: one treated patient with an earlier review decision, a positive
bladder screen now (and its open review task), and the exposure of their dosing sessions."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from katclinic.demo.generator import DemoWorld
from katclinic.dosing.models import DosingSession
from katclinic.measures.models import Course, Response
from katclinic.measures.services import submit_response
from katclinic.patients.models import Patient
from katclinic.surveillance.models import TreatmentDecision
from katclinic.surveillance.services import record_decision

NEGATIVE = {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0}
POSITIVE = {"q1": 1, "q2": 0, "q3": 1, "q4": 0, "q5": 1}


def _demo_patient(world: DemoWorld) -> Patient | None:
    """A patient of the first clinic with an open course, one with dosing sessions first."""
    clinic = world.clinics[0]
    open_courses = Course.objects.open().filter(clinic=clinic)
    dosed = set(DosingSession.objects.filter(clinic=clinic).values_list("patient_id", flat=True))
    course = (
        open_courses.filter(patient_id__in=dosed).order_by("pk").first()
        or open_courses.order_by("pk").first()
    )
    return course.patient if course is not None else None


def build(world: DemoWorld) -> None:
    """Runs after the measures and dosing builders (app order), whose rows it reads."""
    patient = _demo_patient(world)
    if patient is None:
        return
    by = world.staff["prescriber"]
    now = timezone.now()
    earlier = submit_response(
        patient=patient,
        instrument_key="bladder_screen",
        answers=NEGATIVE,
        source="portal",
        submitted_by=None,
        request=None,
    )
    Response.objects.filter(pk=earlier.pk).update(submitted_at=now - timedelta(days=29))
    decision = record_decision(
        patient=patient,
        decision="continue",
        by=by,
        request=None,
        course=patient.courses.filter(ended_on__isnull=True).first(),
        reason="Month-one review: bladder and misuse screens negative, no serious side effects, "
        "PHQ-9 falling. Continue the current plan; review again after the next screens.",
    )
    TreatmentDecision.objects.filter(pk=decision.pk).update(decided_at=now - timedelta(days=28))
    # Storing the positive screen opens its review task (measures calls surveillance).
    submit_response(
        patient=patient,
        instrument_key="bladder_screen",
        answers=POSITIVE,
        source="portal",
        submitted_by=None,
        request=None,
        comment="Going to the toilet a lot more, and it stings.",
    )
