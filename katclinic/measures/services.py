"""Writes of measurement-based care, each one transaction with its audit event(s).

Other apps call: ``submit_response`` (any source), ``schedule_around_session``
(the dosing app, when a session is booked) and ``SafetyAlert.objects.open_alerts``.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from katclinic.accounts.models import User
from katclinic.api.models import hash_token
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.lib import rows
from katclinic.measures import safety
from katclinic.measures.catalogue import current_instrument, definition_of
from katclinic.measures.clinic_settings import LINK_EXPIRY_HOURS, PRE_SESSION_HOURS
from katclinic.measures.models import (
    SESSION_RULES,
    Channel,
    Course,
    Instrument,
    Invitation,
    MeasurementSchedule,
    Response,
    Rule,
)
from katclinic.measures.scoring import Answer, AnswerError, assess
from katclinic.patients.language import clock, in_language_of, long_date
from katclinic.patients.models import Patient
from katclinic.protocols.schema import Measurement
from katclinic.surveillance.services import is_positive_screen, raise_for_positive_screen

logger = logging.getLogger(__name__)

KIOSK_MINUTES = 60  # a tablet hand-over, not a clinical figure
COMMENT_MAX = 2000


class SubmissionError(ValueError):
    """Answers that cannot be stored; ``errors`` has one entry per item or field."""

    def __init__(self, errors: list[AnswerError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.link_id}: {e.message}" for e in errors))


class InvitationUnusable(ValueError):
    """The invitation was used already or has expired."""


def _problem(field: str, message: str) -> SubmissionError:
    return SubmissionError([AnswerError(field, "invalid_answer", message)])


def _instrument(patient: Patient, key: str) -> Instrument:
    instrument = current_instrument(key, patient.clinic_id)
    if instrument is None:
        raise _problem("instrument", f"unknown instrument {key!r}")
    return instrument


def _store(
    *,
    patient: Patient,
    instrument: Instrument,
    answers: Mapping[str, Answer],
    comment: str,
    source: str,
    submitted_by: User | None,
    corrects: Response | None = None,
    reason: str = "",
) -> tuple[Response, list[tuple[str, str]]]:
    """Validate and score; build the row (unsaved) and the safety concerns found."""
    definition = definition_of(instrument)
    thresholds = safety.flag_values(clinic_id=patient.clinic_id, definition=definition)
    # The answers are checked once: the same pass gives the problems and the score.
    errors, result = assess(definition, answers, flag_values=thresholds)
    if len(comment) > COMMENT_MAX:
        errors.append(
            AnswerError("comment", "invalid_answer", f"is longer than {COMMENT_MAX} characters")
        )
    if errors or result is None:
        raise SubmissionError(errors)
    found = safety.concerns(result, comment)
    response = Response(
        clinic_id=patient.clinic_id,
        patient=patient,
        instrument=instrument,
        instrument_key=instrument.key,
        instrument_version=instrument.version,
        answers={
            item.link_id: answers.get(item.link_id)
            for item in definition.items
            if item.link_id in answers
        },
        comment=comment,
        source=source,
        submitted_by=submitted_by,
        complete=result.complete,
        total=result.total,
        band=result.band or "",
        flags=list(result.flags),
        risk=result.risk or "",
        subscales=result.subscales,
        flagged=bool(found),
        corrects=corrects,
        correction_reason=reason,
    )
    return response, found


def submit_response(
    *,
    patient: Patient,
    instrument_key: str,
    answers: Mapping[str, Answer],
    source: str,
    submitted_by: User | None,
    request: HttpRequest | None,
    comment: str = "",
    invitation: Invitation | None = None,
    read_in: tuple[str, str] = ("", ""),
) -> Response:
    """Validate and score, then store -> set course baseline -> audit -> raise alerts in one
    transaction. Raises SubmissionError (nothing stored) or InvitationUnusable.

    Validation and scoring read only immutable instrument rows, so they run before the
    transaction: on SQLite the write lock is then held for the writes alone.
    """
    instrument = _instrument(patient, instrument_key)
    response, found = _store(
        patient=patient,
        instrument=instrument,
        answers=answers,
        comment=comment.strip(),
        source=source,
        submitted_by=submitted_by,
    )
    # The language and translation version the patient read; the score never depends on it.
    response.language, response.translation_version = read_in
    # Nothing but the response, its course baseline and its audit event to write: on
    # PostgreSQL that is one statement, atomic by itself, so no transaction is opened
    # around it (BEGIN and COMMIT would be two more round trips). Anything else written
    # with a response (the invitation used, alerts, a review task) goes in the transaction.
    if invitation is None and not found and not is_positive_screen(response):
        _write(response, request=request, submitted_by=submitted_by)
        return response
    with transaction.atomic():
        _write(response, request=request, submitted_by=submitted_by)
        if invitation is not None:
            now = timezone.now()
            usable = Invitation.objects.filter(
                pk=invitation.pk, used_at__isnull=True, expires_at__gt=now
            )
            if not usable.update(used_at=now, response=response):
                raise InvitationUnusable("this questionnaire link was already used or has expired")
        if found:
            safety.raise_alerts(response=response, found=found, request=request)
        # In the same transaction: a positive surveillance screen opens its review task.
        raise_for_positive_screen(response, request)
    # The course outcome rollup is not refreshed here: the worker's outcomes job finds the
    # new response by its id within a minute (see katclinic.outcomes.services).
    return response


def _write(response: Response, *, request: HttpRequest | None, submitted_by: User | None) -> None:
    """Store the response, make it its course's baseline if it is the first complete one on
    the course's scale, and write its audit event: all or nothing (``rows.insert_linked``)."""
    response.submitted_at = timezone.now()  # the moment it is stored, not validated
    event = audit.unsaved_event(
        request=request,
        user=submitted_by,
        action=Action.CREATE,
        clinic_id=response.clinic_id,
        patient_id=response.patient_id,
        obj=response,
        detail={"instrument": response.instrument_key, "source": response.source},
    )
    # The first complete response on the course's scale becomes its baseline:
    # Course.objects.open().filter(...).update(...) as one plain statement (see lib.rows).
    baseline = [
        (
            _SET_BASELINE.format(table=rows.table(Course), new=rows.NEW_KEY),
            [response.patient_id, response.instrument_key],
        )
    ]
    rows.insert_linked(
        response, linked=[(event, "object_id")], updates=baseline if response.complete else []
    )


_SET_BASELINE = (
    "UPDATE {table} SET baseline_id = {new} "
    "WHERE patient_id = %s AND instrument_key = %s AND baseline_id IS NULL AND ended_on IS NULL"
)


@transaction.atomic
def correct_response(
    *,
    response: Response,
    answers: Mapping[str, Answer],
    reason: str,
    by: User,
    request: HttpRequest | None,
    comment: str | None = None,
) -> Response:
    """Store a corrected version linked to the original, which stops being current; its
    alerts are raised in the same transaction, the course rollup follows with the worker."""
    if not reason.strip():
        raise _problem("reason", "a reason is required to correct a response")
    old = (
        Response.objects.select_for_update(of=("self",))
        .select_related("instrument", "patient")
        .get(pk=response.pk)
    )
    if not old.is_current:
        raise _problem(
            "response", "this response was already corrected; correct the newest version"
        )
    new, found = _store(
        patient=old.patient,
        instrument=old.instrument,
        answers=answers,
        comment=old.comment if comment is None else comment.strip(),
        source=old.source,
        submitted_by=by,
        corrects=old,
        reason=reason.strip(),
    )
    new.submitted_at = old.submitted_at  # the answers describe the same moment
    Response.objects.filter(pk=old.pk).update(is_current=False)
    new.save(force_insert=True)
    Course.objects.filter(baseline=old).update(baseline=new)
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=old.clinic_id,
        patient_id=old.patient_id,
        obj=new,
        detail={"corrects": old.pk, "reason": reason.strip()},
    )
    if found:
        safety.raise_alerts(response=new, found=found, request=request)
    raise_for_positive_screen(new, request)
    return new


@transaction.atomic
def start_course(
    *,
    patient: Patient,
    started_on: date,
    by: User,
    request: HttpRequest | None,
    instrument_key: str = "phq9",
) -> Course:
    """Open a treatment course; the latest complete response on or before the start is its baseline."""
    if Course.objects.open().filter(patient=patient).exists():
        raise _problem("started_on", "this patient already has an open course; end it first")
    baseline = (
        Response.objects.current()
        .filter(
            patient=patient,
            instrument_key=instrument_key,
            complete=True,
            submitted_at__date__lte=started_on,
        )
        .order_by("-submitted_at")
        .first()
    )
    course = Course.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        started_on=started_on,
        instrument_key=instrument_key,
        baseline=baseline,
        created_by=by,
    )
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=course,
        detail={"started_on": started_on.isoformat()},
    )
    return course


@transaction.atomic
def end_course(*, course: Course, ended_on: date, by: User, request: HttpRequest | None) -> Course:
    if ended_on < course.started_on:
        raise _problem("ended_on", "a course cannot end before it started")
    course.ended_on = ended_on
    course.save(update_fields=["ended_on"])
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=course.clinic_id,
        patient_id=course.patient_id,
        obj=course,
        detail={"ended_on": ended_on.isoformat()},
    )
    return course


# --------------------------------------------------------------------------- invitations


def invitation_for_token(raw: str) -> Invitation | None:
    if not raw or len(raw) > 100:
        return None
    return (
        Invitation.objects.select_related("patient", "clinic")
        .filter(token_hash=hash_token(raw))
        .first()
    )


def _link_hours(patient: Patient) -> timedelta:
    return timedelta(hours=LINK_EXPIRY_HOURS.value(patient.clinic))


def _new_token(invitation: Invitation) -> str:
    raw = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(raw)
    return raw


def _try_email(invitation: Invitation) -> bool:
    """Send now if the mail server answers; otherwise the invitation stays unsent and the
    schedules job sends it on its next run. An outage must not stop the care team's work."""
    try:
        return email_invitation(invitation)
    except MAIL_ERRORS as exc:
        log_deferred(invitation, exc)
        return False


# What an unreachable or refusing mail server raises: the email waits for the next run.
MAIL_ERRORS = (OSError, smtplib.SMTPException)


def log_deferred(invitation: Invitation, exc: Exception) -> None:
    logger.warning(
        "questionnaire email deferred",
        extra={"clinic_id": invitation.clinic_id, "error": type(exc).__name__},
    )


def email_invitation(invitation: Invitation, *, reminder: bool = False) -> bool:
    """Email a fresh single-use link (an earlier link stops working); False if no address."""
    patient = invitation.patient
    if not patient.email:
        return False
    raw = _new_token(invitation)
    link = settings.SITE_URL.rstrip("/") + reverse("measures:link", args=[raw])
    with in_language_of(patient):
        subject, body = invitation_email(invitation, link, reminder=reminder)
    send_mail(subject, body, None, [patient.email])
    return True


def invitation_email(invitation: Invitation, link: str, *, reminder: bool) -> tuple[str, str]:
    """(subject, body) of a questionnaire link, in the active language."""
    clinic = invitation.patient.clinic
    expires = timezone.localtime(invitation.expires_at)
    asks = _("%(clinic)s asks you to answer a short questionnaire.") % {"clinic": clinic.name}
    until = _("The link works once and until %(day)s %(time)s. If you are in crisis now:") % {
        "day": long_date(expires),
        "time": clock(expires),
    }
    opening = (_("Reminder:") + " " + asks) if reminder else asks
    body = f"{opening}\n\n{link}\n\n{until}\n{clinic.crisis_resources}\n"
    return _("%(clinic)s: a questionnaire for you") % {"clinic": clinic.name}, body


@transaction.atomic
def invite(
    *,
    patient: Patient,
    instrument_key: str,
    by: User | None,
    request: HttpRequest | None,
    channel: str = Channel.EMAIL,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    schedule: MeasurementSchedule | None = None,
    purpose: str = "",
) -> Invitation:
    """Create an invitation; one due now on the email channel is sent at once."""
    _instrument(patient, instrument_key)
    now = timezone.now()
    due = due_at or now
    invitation = Invitation(
        clinic_id=patient.clinic_id,
        patient=patient,
        instrument_key=instrument_key,
        schedule=schedule,
        channel=channel,
        purpose=purpose,
        due_at=due,
        expires_at=expires_at or due + _link_hours(patient),
        created_by=by,
    )
    if channel == Channel.EMAIL and due <= now and _try_email(invitation):
        invitation.sent_at = now
    invitation.save(force_insert=True)
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=invitation,
        detail={"instrument": instrument_key, "channel": channel, "sent": bool(invitation.sent_at)},
    )
    return invitation


def start_kiosk(
    *, patient: Patient, instrument_key: str, by: User, request: HttpRequest | None
) -> tuple[Invitation, str]:
    """An invitation for the clinic tablet; the raw token lives only in the tablet's session."""
    now = timezone.now()
    with transaction.atomic():
        invitation = invite(
            patient=patient,
            instrument_key=instrument_key,
            by=by,
            request=request,
            channel=Channel.KIOSK,
            expires_at=now + timedelta(minutes=KIOSK_MINUTES),
            purpose="Clinic tablet",
        )
        raw = _new_token(invitation)
        invitation.save(update_fields=["token_hash"])
    return invitation, raw


@transaction.atomic
def set_schedule(
    *,
    patient: Patient,
    instrument_key: str,
    rules: list[str],
    by: User,
    request: HttpRequest | None,
) -> list[MeasurementSchedule]:
    """Replace the patient's active schedules for one instrument with ``rules``."""
    _instrument(patient, instrument_key)
    active = MeasurementSchedule.objects.filter(
        patient=patient, instrument_key=instrument_key, active=True
    )
    active.exclude(rule__in=rules).update(active=False)
    kept = set(active.values_list("rule", flat=True))
    created = [
        MeasurementSchedule.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            instrument_key=instrument_key,
            rule=rule,
            created_by=by,
        )
        for rule in rules
        if rule not in kept
    ]
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        object_type="measures.measurementschedule",
        object_id=instrument_key,
        detail={"rules": sorted(rules)},
    )
    for schedule in created:
        if schedule.rule == Rule.BASELINE:
            invite(
                patient=patient,
                instrument_key=instrument_key,
                by=by,
                request=request,
                channel=_channel(patient),
                schedule=schedule,
                purpose=Rule.BASELINE.label,
            )
    return list(
        MeasurementSchedule.objects.filter(
            patient=patient, instrument_key=instrument_key, active=True
        )
    )


# How a protocol's measurement timing maps to schedule rules. Hours after a dose other
# than these have no rule yet and are reported back, not silently dropped.
PROTOCOL_RULES: dict[str, str] = {
    "baseline": Rule.BASELINE,
    "before_each_dose": Rule.PRE_SESSION,
    "weekly_during_induction": Rule.WEEKLY_INDUCTION,
    "monthly_in_maintenance": Rule.MONTHLY_MAINTENANCE,
}
AFTER_DOSE_RULES: dict[int, str] = {24: Rule.POST_24H, 24 * 7: Rule.POST_7D}


@dataclass(frozen=True)
class ProtocolSchedule:
    applied: dict[str, list[str]]
    # (instrument, why it was not scheduled), for the prescriber to see.
    skipped: list[tuple[str, str]]


def protocol_rules(when: list[str], after_dose_hours: list[int]) -> tuple[list[str], list[int]]:
    """The schedule rules for one protocol measurement, and the hours that have no rule."""
    rules = [PROTOCOL_RULES[w] for w in when if w in PROTOCOL_RULES]
    rules += [AFTER_DOSE_RULES[h] for h in after_dose_hours if h in AFTER_DOSE_RULES]
    return rules, [h for h in after_dose_hours if h not in AFTER_DOSE_RULES]


def schedule_from_protocol(
    *,
    patient: Patient,
    measurements: Sequence[Measurement],
    by: User,
    request: HttpRequest | None,
) -> ProtocolSchedule:
    """Add a protocol's measurement schedule to the patient's (rules already set are kept).

    Only self-report instruments are sent to the patient; clinician-rated ones in the
    protocol are listed as skipped so the care team enters them at the visit.
    """
    applied: dict[str, list[str]] = {}
    skipped: list[tuple[str, str]] = []
    for measurement in measurements:
        key = measurement.instrument
        instrument = current_instrument(key, patient.clinic_id)
        if instrument is None:
            skipped.append((key, "the instrument is not available in this clinic"))
            continue
        if definition_of(instrument).kind != "self_report":
            skipped.append((key, "clinician-rated: entered by the care team at the visit"))
            continue
        rules, unmapped = protocol_rules(list(measurement.when), list(measurement.after_dose_hours))
        skipped += [(key, f"no schedule rule for {hours} hours after a dose") for hours in unmapped]
        kept = MeasurementSchedule.objects.filter(
            patient=patient, instrument_key=key, active=True
        ).values_list("rule", flat=True)
        wanted = sorted(set(kept) | set(rules))
        set_schedule(patient=patient, instrument_key=key, rules=wanted, by=by, request=request)
        applied[key] = sorted(rules)
    return ProtocolSchedule(applied, skipped)


def _channel(patient: Patient) -> str:
    return Channel.EMAIL if patient.email else Channel.PORTAL


def _session_times(patient: Patient, rule: str, start: datetime) -> tuple[datetime, datetime]:
    """(due, expires) of a session-relative rule; the pre-session one expires at the start."""
    if rule == Rule.PRE_SESSION:
        hours = PRE_SESSION_HOURS.value(patient.clinic)
        return start - timedelta(hours=hours), start
    due = start + (timedelta(hours=24) if rule == Rule.POST_24H else timedelta(days=7))
    return due, due + _link_hours(patient)


@transaction.atomic
def schedule_around_session(
    *, patient: Patient, session_start: datetime, by: User | None
) -> list[Invitation]:
    """Create the patient's before/after-session invitations for one dosing session.

    Called by the dosing app when a session is booked; calling it again for the same
    start creates nothing new. Invitations are sent by the periodic job when due.
    """
    if timezone.is_naive(session_start):
        raise ValueError("session_start must be timezone-aware")
    now = timezone.now()
    schedules = MeasurementSchedule.objects.filter(
        patient=patient, active=True, rule__in=SESSION_RULES
    )
    made = []
    for schedule in schedules.select_related("patient__clinic"):
        due, expires = _session_times(patient, schedule.rule, session_start)
        if expires <= now:
            continue
        label = (
            f"{schedule.get_rule_display()} ({timezone.localtime(session_start):%Y-%m-%d %H:%M})"
        )
        invitation, created = Invitation.objects.get_or_create(
            schedule=schedule,
            due_at=due,
            defaults={
                "clinic_id": patient.clinic_id,
                "patient": patient,
                "instrument_key": schedule.instrument_key,
                "channel": _channel(patient),
                "purpose": label,
                "expires_at": expires,
                "created_by": by,
            },
        )
        if created:
            audit.record(
                request=None,
                user=by,
                action=Action.CREATE,
                clinic_id=patient.clinic_id,
                patient_id=patient.pk,
                obj=invitation,
                detail={"rule": schedule.rule},
            )
            made.append(invitation)
    return made
