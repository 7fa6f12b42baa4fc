"""The periodic surveillance job: send the screens each patient's protocol asks for, raise
liver-test reminders where the clinic wants them, and check cumulative exposure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.tasks import task
from django.utils import timezone

from katclinic.lib.compiled import CompiledValues
from katclinic.measures import services as measures
from katclinic.measures.models import Channel, Course
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan, PlanStatus, parsed_protocol
from katclinic.protocols.schema import Protocol, SurveillanceItem
from katclinic.surveillance.clinic_settings import LIVER_TEST_REMINDERS
from katclinic.surveillance.models import ReviewKind, SurveillanceDue
from katclinic.surveillance.schedule import SCREEN_INSTRUMENTS, latest_due
from katclinic.surveillance.services import check_exposure, raise_review_task


def _signed_query(patient: int) -> QuerySet[Plan, tuple[Any, ...]]:
    return (
        Plan.objects.filter(
            patient_id=patient, status=PlanStatus.ACTIVE, versions__signed_at__isnull=False
        )
        .order_by("-created_at", "-pk")
        .values_list("protocol_version_id", "protocol_version__data")[:1]
    )


_SIGNED = CompiledValues(Plan, _signed_query, patient=int)


def signed_protocol(patient: Patient) -> Protocol | None:
    """The protocol of the patient's newest active plan that has a signed version."""
    for version_id, data in _SIGNED(patient=patient.pk):
        return parsed_protocol(version_id, data)
    return None


def _local_today(patient: Patient, now: datetime) -> date:
    return now.astimezone(ZoneInfo(patient.clinic.timezone)).date()


def _send(course: Course, item: SurveillanceItem, due_on: date) -> SurveillanceDue | None:
    """Write the occurrence and send its screen or reminder, once; None if done before."""
    patient = course.patient
    if SurveillanceDue.objects.filter(course=course, kind=item.kind, due_on=due_on).exists():
        return None
    try:
        with transaction.atomic():
            due = SurveillanceDue.objects.create(
                clinic_id=patient.clinic_id,
                patient=patient,
                course=course,
                kind=item.kind,
                due_on=due_on,
            )
            if item.kind in SCREEN_INSTRUMENTS:
                due.invitation = measures.invite(
                    patient=patient,
                    instrument_key=SCREEN_INSTRUMENTS[item.kind],
                    by=None,
                    request=None,
                    channel=Channel.EMAIL if patient.email else Channel.PORTAL,
                    purpose=f"Surveillance: {due.get_kind_display().lower()}",
                )
            else:
                due.review_task, _ = raise_review_task(
                    patient=patient,
                    kind=ReviewKind.LIVER_TESTS,
                    reason=f"Liver tests are due ({due_on:%Y-%m-%d}) under the patient's protocol.",
                    source_type="surveillance.SurveillanceDue",
                    source_id=due.pk,
                )
            due.save(update_fields=["invitation", "review_task"])
    except IntegrityError:
        return None  # another run wrote this occurrence at the same moment
    return due


def send_due_screens(now: datetime) -> list[SurveillanceDue]:
    """For each open course whose patient has a signed plan with surveillance items."""
    sent = []
    for course in Course.objects.open().select_related("patient__clinic").order_by("pk"):
        patient = course.patient
        protocol = signed_protocol(patient)
        if protocol is None or not protocol.surveillance:
            continue
        liver_on = LIVER_TEST_REMINDERS.value(patient.clinic)
        today = _local_today(patient, now)
        for item in protocol.surveillance:
            if item.kind not in SCREEN_INSTRUMENTS and not liver_on:
                continue
            due_on = latest_due(
                started_on=course.started_on,
                first_after_days=item.first_after_days,
                every_days=item.every_days,
                today=today,
            )
            if due_on is not None and (due := _send(course, item, due_on)) is not None:
                sent.append(due)
    return sent


def check_open_courses(now: datetime) -> int:
    """Check exposure of every patient with an open course; returns the tasks raised."""
    raised = 0
    for course in Course.objects.open().select_related("patient__clinic").order_by("pk"):
        raised += len(check_exposure(patient=course.patient, now=now))
    return raised


def run_surveillance(now: datetime | None = None) -> dict[str, int]:
    """Idempotent: running again at the same moment sends and raises nothing more."""
    now = now or timezone.now()
    sent = send_due_screens(now)
    return {"sent": len(sent), "exposure_tasks": check_open_courses(now)}


@task()
def run_surveillance_task() -> dict[str, int]:
    return run_surveillance()
