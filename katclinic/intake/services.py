"""Writes of the intake app (requests and consent), each one transaction with its audit.

Screening writes live in `katclinic.intake.screening`. `consent_status` and `eligibility_status`
(from `katclinic.intake.queries`) are the reads plans and the dosing gate ask before acting.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.clinics.notify import email_after_commit, role_emails
from katclinic.clinics.permissions import Role
from katclinic.intake import clinic_settings as S
from katclinic.intake.models import (
    ConsentDocument,
    ConsentScope,
    ConsentSignature,
    ConsentWithdrawal,
    ConsultationRequest,
    RequestEvent,
    RequestState,
    SignatureChannel,
)
from katclinic.intake.queries import EligibilityStatus as EligibilityStatus
from katclinic.intake.queries import eligibility_status as eligibility_status
from katclinic.measures import scoring
from katclinic.patients.forms import patient_data
from katclinic.patients.models import Patient
from katclinic.patients.services import register_patient

# --- Consultation requests ---------------------------------------------------------


class RequestRefused(Exception):
    """A public submission was refused; nothing was stored. `field` names the problem."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


def _key(kind: str, value: str) -> str:
    """A keyed hash, so rate limiting never needs the raw address or contact."""
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def contact_keys(email: str, phone: str) -> tuple[str, str]:
    digits = "".join(ch for ch in phone if ch in "0123456789")
    email_key = _key("email", email.strip().casefold()) if email.strip() else ""
    return email_key, (_key("phone", digits) if digits else "")


def check_rate_limits(*, clinic: Clinic, ip: str | None, email: str, phone: str) -> None:
    """Raise RequestRefused (429) when this address or contact has sent too many requests.

    Counts stored requests, so the limit holds across app servers sharing the database.
    """
    now = timezone.now()
    recent = ConsultationRequest.objects.filter(clinic=clinic)
    per_ip = S.REQUESTS_PER_IP_PER_HOUR.value(clinic)
    source = _key("ip", ip or "unknown")
    if (
        recent.filter(source_key=source, submitted_at__gte=now - timedelta(hours=1)).count()
        >= per_ip
    ):
        raise RequestRefused(
            "__all__",
            gettext(
                "Too many requests from your network in the last hour. "
                "Please call the clinic or try again later."
            ),
            status=429,
        )
    email_key, phone_key = contact_keys(email, phone)
    same_contact = Q(email_key=email_key) if email_key else Q(pk__in=[])
    if phone_key:
        same_contact |= Q(phone_key=phone_key)
    per_contact = S.REQUESTS_PER_CONTACT_PER_DAY.value(clinic)
    window = recent.filter(same_contact, submitted_at__gte=now - timedelta(days=1))
    if window.count() >= per_contact:
        raise RequestRefused(
            "__all__",
            gettext(
                "We already have requests from this email or phone today. "
                "The clinic will contact you; please call if it is urgent."
            ),
            status=429,
        )


@dataclass(frozen=True)
class Phq9Result:
    answers: dict[str, int]
    total: int | None
    band: str
    item9: int


def score_phq9(answers: Mapping[str, int | None]) -> Phq9Result:
    """Validate and score a self-screen; raise RequestRefused naming the first bad item."""
    definition = scoring.load_builtin_instruments()["phq9"]
    errors = scoring.validate_answers(definition, answers)
    if errors:
        first = errors[0]
        raise RequestRefused(f"phq9_{first.link_id}", f"PHQ-9 {first.link_id}: {first.message}")
    result = scoring.score(definition, answers)
    given = {link: value for link, value in answers.items() if isinstance(value, int)}
    return Phq9Result(given, result.total, result.band or "", int(answers.get("q9") or 0))


@transaction.atomic
def submit_request(
    *,
    clinic: Clinic,
    data: Mapping[str, object],
    phq9: Phq9Result | None,
    ip: str | None,
    request: HttpRequest | None = None,
) -> ConsultationRequest:
    """Store a visitor's request; a PHQ-9 item 9 above 0 marks it urgent (Kroenke 2001)."""
    email, phone = data["email"], data["phone"]
    if not isinstance(email, str) or not isinstance(phone, str):
        raise TypeError("a request's email and phone are text")
    check_rate_limits(clinic=clinic, ip=ip, email=email, phone=phone)
    email_key, phone_key = contact_keys(email, phone)
    consultation = ConsultationRequest.objects.create(
        clinic=clinic,
        **data,
        source_key=_key("ip", ip or "unknown"),
        email_key=email_key,
        phone_key=phone_key,
        phq9_answers=phq9.answers if phq9 else None,
        phq9_total=phq9.total if phq9 else None,
        phq9_band=phq9.band if phq9 else "",
        phq9_item9=phq9.item9 if phq9 else None,
        urgent=bool(phq9 and phq9.item9 > 0),
    )
    RequestEvent.objects.create(clinic=clinic, request=consultation, to_state=RequestState.NEW)
    audit.record(
        request=request,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        obj=consultation,
        detail={"via": "public form", "urgent": consultation.urgent},
    )
    if consultation.urgent:
        # Thoughts of self-harm on the public form need a clinician, not only the inbox.
        email_after_commit(
            to=sorted(
                {*role_emails(clinic, Role.PRESCRIBER), *role_emails(clinic, Role.FRONT_DESK)}
            ),
            subject=f"{clinic.name}: an urgent consultation request needs a clinician today",
            body="A consultation request answered the self-harm question above 0. "
            "Open the request inbox in KAT Clinic and contact the person today.",
        )
    return consultation


# Where a request may go next by hand; conversion has its own service.
TRANSITIONS: dict[str, frozenset[str]] = {
    RequestState.NEW: frozenset(
        {RequestState.CONTACTED, RequestState.BOOKED, RequestState.DECLINED}
    ),
    RequestState.CONTACTED: frozenset({RequestState.BOOKED, RequestState.DECLINED}),
    RequestState.BOOKED: frozenset({RequestState.CONTACTED, RequestState.DECLINED}),
    RequestState.DECLINED: frozenset({RequestState.NEW}),
    RequestState.CONVERTED: frozenset(),
}


class InvalidTransition(ValueError):
    pass


def _move(consultation: ConsultationRequest, to_state: str, note: str, by: User) -> None:
    RequestEvent.objects.create(
        clinic_id=consultation.clinic_id,
        request=consultation,
        from_state=consultation.state,
        to_state=to_state,
        note=note,
        by=by,
    )
    consultation.state = to_state


@transaction.atomic
def change_request_state(
    *,
    consultation: ConsultationRequest,
    to_state: str,
    note: str,
    by: User,
    request: HttpRequest | None = None,
) -> ConsultationRequest:
    consultation = ConsultationRequest.objects.select_for_update().get(pk=consultation.pk)
    if to_state not in TRANSITIONS[consultation.state]:
        raise InvalidTransition(
            f"A {consultation.get_state_display().lower()} request cannot move to "
            f"{RequestState(to_state).label.lower()}."
        )
    previous = consultation.state
    _move(consultation, to_state, note, by)
    consultation.save(update_fields=["state"])
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=consultation.clinic_id,
        obj=consultation,
        detail={"from": previous, "to": to_state},
    )
    return consultation


def patient_data_from_request(consultation: ConsultationRequest) -> dict[str, str]:
    """Initial patient fields from the request, so nobody retypes them."""
    first, _, last = consultation.name.strip().rpartition(" ")
    if not first:
        first, last = last, ""
    return {
        "first_name": first,
        "last_name": last,
        "email": consultation.email,
        "phone": consultation.phone,
        "preferred_language": consultation.language,
    }


@transaction.atomic
def convert_request(
    *,
    consultation: ConsultationRequest,
    data: Mapping[str, object],
    by: User,
    request: HttpRequest | None = None,
) -> Patient:
    """Register the requester as a patient (stage: inquiry) and close the request."""
    consultation = ConsultationRequest.objects.select_for_update().get(pk=consultation.pk)
    if not consultation.is_open:
        raise InvalidTransition("Only an open request can be converted.")
    patient = register_patient(
        clinic=consultation.clinic, data=patient_data(data), by=by, request=request
    )
    _move(consultation, RequestState.CONVERTED, f"Registered as {patient.mrn}", by)
    consultation.patient = patient
    consultation.save(update_fields=["state", "patient"])
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=consultation.clinic_id,
        patient_id=patient.pk,
        obj=consultation,
        detail={"to": "converted"},
    )
    return patient


# --- Consent -------------------------------------------------------------------------


@transaction.atomic
def issue_consent_document(
    *,
    clinic: Clinic,
    scope: str,
    route: str,
    title: str,
    body: str,
    effective_on: date,
    by: User,
    request: HttpRequest | None = None,
    reconsent_count: int | None = None,
) -> ConsentDocument:
    """Publish the next version of a consent; patients must sign it before their next dose.

    `reconsent_count` is how many patients the publisher was shown as having to sign again."""
    route = route if scope == ConsentScope.ROUTE else ""
    series = ConsentDocument.objects.select_for_update().filter(
        clinic=clinic, scope=scope, route=route
    )
    version = (series.aggregate(v=Max("version"))["v"] or 0) + 1
    document = ConsentDocument.objects.create(
        clinic=clinic,
        scope=scope,
        route=route,
        title=title.strip(),
        body=body.replace("\r\n", "\n"),
        version=version,
        effective_on=effective_on,
        created_by=by,
    )
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        obj=document,
        detail={
            "series": document.series,
            "version": version,
            "hash": document.text_hash,
            "reconsent_shown": reconsent_count,
        },
    )
    return document


class ConsentRefused(ValueError):
    """A signature could not be taken; the message says why, for the signer."""


def normalised_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def current_documents(clinic: Clinic) -> dict[str, ConsentDocument]:
    """The newest version in effect of every consent series, keyed by series."""
    latest: dict[str, ConsentDocument] = {}
    for document in ConsentDocument.objects.for_clinic(clinic).in_effect().order_by("version"):
        latest[document.series] = document
    return latest


@transaction.atomic
def sign_consent(
    *,
    patient: Patient,
    document: ConsentDocument,
    typed_name: str,
    channel: str,
    by: User,
    witness: User | None = None,
    request: HttpRequest | None = None,
) -> ConsentSignature:
    """Record the patient's signature of the exact text of `document`."""
    if document.clinic_id != patient.clinic_id:
        raise ConsentRefused("This consent belongs to another clinic.")
    if current_documents(patient.clinic).get(document.series) != document:
        raise ConsentRefused("This version is not the one in effect; please sign the current one.")
    if normalised_name(typed_name) != normalised_name(patient.full_name):
        raise ConsentRefused(f"Type your full name exactly as on your record: {patient.full_name}.")
    if channel == SignatureChannel.PORTAL and S.CONSENT_REQUIRES_WITNESS.value(patient.clinic):
        raise ConsentRefused(
            "Your clinic asks you to sign with a staff member present, at your next visit."
        )
    if channel == SignatureChannel.CLINIC_DEVICE and witness is None:
        raise ConsentRefused("A staff witness is required when signing on a clinic device.")
    signature = ConsentSignature.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        document=document,
        typed_name=typed_name.strip(),
        ip=audit.client_ip(request),
        document_hash=document.text_hash,
        channel=channel,
        witness=witness,
    )
    audit.record(
        request=request,
        user=by,
        action=Action.SIGN,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=signature,
        detail={
            "document": document.pk,
            "version": document.version,
            "hash": signature.document_hash,
            "channel": channel,
            "witness": witness.pk if witness else None,
        },
    )
    return signature


@transaction.atomic
def withdraw_consent(
    *, signature: ConsentSignature, reason: str, by: User, request: HttpRequest | None = None
) -> ConsentWithdrawal:
    if ConsentWithdrawal.objects.filter(signature=signature).exists():
        raise ConsentRefused("This consent was already withdrawn.")
    if not reason.strip():
        raise ConsentRefused("Record the patient's reason, or 'no reason given'.")
    withdrawal = ConsentWithdrawal.objects.create(
        clinic_id=signature.clinic_id,
        patient_id=signature.patient_id,
        signature=signature,
        reason=reason.strip(),
        recorded_by=by,
    )
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=signature.clinic_id,
        patient_id=signature.patient_id,
        obj=withdrawal,
        detail={"signature": signature.pk},
    )
    return withdrawal


@dataclass(frozen=True)
class ConsentStatus:
    """Whether the patient holds every consent needed to dose; `missing` names the rest."""

    current: bool
    missing: list[str] = field(default_factory=list)
    reason: str = ""


def required_series(route: str | None) -> list[str]:
    return ["program"] + ([f"route:{route}"] if route else [])


def consent_status(
    patient: Patient,
    *,
    route: str | None = None,
    documents: dict[str, ConsentDocument] | None = None,
) -> ConsentStatus:
    """The dosing gate's question: has this patient a valid, current consent to treatment
    (and for `route`, if the clinic issued a route-specific consent)?

    A signature counts only for the newest version in effect and only while not withdrawn.
    Research consent is never required for treatment. `documents` is
    `current_documents(patient.clinic)` when the caller has just read it for the same
    request (the chart's Intake tab lists them too); otherwise it is read here.
    """
    if documents is None:
        documents = current_documents(patient.clinic)
    if "program" not in documents:
        return ConsentStatus(
            False, ["program consent"], "The clinic has not issued a program consent document."
        )
    needed = [documents[s] for s in required_series(route) if s in documents]
    signed = set(
        ConsentSignature.objects.filter(
            patient=patient, document__in=needed, withdrawal__isnull=True
        ).values_list("document_id", flat=True)
    )
    missing = [d for d in needed if d.pk not in signed]
    if not missing:
        return ConsentStatus(True, [], "Consent is current.")
    reasons = [_why_missing(patient, d) for d in missing]
    return ConsentStatus(False, [str(d) for d in missing], " ".join(reasons))


def _why_missing(patient: Patient, document: ConsentDocument) -> str:
    earlier = (
        ConsentSignature.objects.filter(
            patient=patient,
            document__clinic_id=document.clinic_id,
            document__scope=document.scope,
            document__route=document.route,
        )
        .select_related("document", "withdrawal")
        .first()
    )
    if earlier is None:
        return f"{document.title} has never been signed."
    if earlier.document_id == document.pk:
        return f"{document.title} v{document.version} was withdrawn."
    return f"{document.title} changed to v{document.version}; the patient signed v{earlier.document.version}."


@dataclass(frozen=True)
class ConsentGap:
    patient: Patient
    state: str  # "missing", "outdated" or "withdrawn"
    signed_version: int | None


# Stages in which a patient is, or is about to be, treated and so must hold consent.
TREATMENT_STAGES = (Patient.Stage.SCREENING, Patient.Stage.INDUCTION, Patient.Stage.MAINTENANCE)


def consent_gaps(clinic: Clinic) -> tuple[ConsentDocument | None, list[ConsentGap]]:
    """Patients in treatment stages without a current program consent (three queries)."""
    program = current_documents(clinic).get("program")
    patients = list(
        Patient.objects.for_clinic(clinic)
        .filter(stage__in=TREATMENT_STAGES)
        .order_by("last_name", "first_name", "pk")
    )
    latest: dict[int, tuple[int, bool]] = {}
    rows = (
        ConsentSignature.objects.filter(clinic=clinic, document__scope=ConsentScope.PROGRAM)
        .order_by("signed_at", "pk")
        .values_list("patient_id", "document__version", "withdrawal__id")
    )
    for patient_id, version, withdrawal_id in rows:
        latest[patient_id] = (version, withdrawal_id is not None)
    gaps = []
    for patient in patients:
        signed = latest.get(patient.pk)
        if signed is None:
            gaps.append(ConsentGap(patient, "missing", None))
        elif program is not None and signed[0] < program.version:
            gaps.append(ConsentGap(patient, "outdated", signed[0]))
        elif signed[1]:
            gaps.append(ConsentGap(patient, "withdrawn", signed[0]))
    return program, gaps


@dataclass(frozen=True)
class Reconsent:
    """Who must sign again when a new version of a consent series is published."""

    version: int  # the version the new document will carry
    count: int  # patients holding a signed, not withdrawn, earlier version
    sample: list[Patient]


def reconsent_needed(*, clinic: Clinic, scope: str, route: str, sample: int = 10) -> Reconsent:
    """The re-consent rule for a new version: every patient who signed an earlier version of
    the series (and did not withdraw it) must sign the new one before their next dose."""
    route = route if scope == ConsentScope.ROUTE else ""
    series = ConsentDocument.objects.for_clinic(clinic).filter(scope=scope, route=route)
    version = (series.aggregate(v=Max("version"))["v"] or 0) + 1
    patients = (
        Patient.objects.for_clinic(clinic)
        .filter(
            consent_signatures__document__in=series,
            consent_signatures__withdrawal__isnull=True,
        )
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )
    return Reconsent(version, patients.count(), list(patients[:sample]))
