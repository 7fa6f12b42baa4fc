"""Writes of coverage, eligibility and prior authorizations, and the questions other apps ask.

Each public write is one transaction with its audit event. `authorization_for_session` is what
the dosing gate asks before an insured esketamine session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.insurance import clinic_settings as keys
from katclinic.insurance import rules
from katclinic.insurance.models import (
    AuthorizationDocument,
    AuthorizationUse,
    AuthStatus,
    Coverage,
    DocumentKind,
    EligibilityCheck,
    EligibilityStatus,
    PriorAuthorization,
)
from katclinic.insurance.x12 import eligibility as x12_eligibility
from katclinic.insurance.x12.envelope import Envelope, X12Error
from katclinic.patients.models import Patient


class InsuranceError(ValueError):
    """A write the rules refuse; `field` names the form field at fault, if one is."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# ---- coverage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageData:
    payer_name: str
    payer_id: str
    member_id: str
    subscriber_first_name: str
    subscriber_last_name: str
    subscriber_birth_date: date
    street: str
    city: str
    state: str
    postal_code: str
    valid_from: date
    valid_to: date | None = None
    plan_name: str = ""
    group_number: str = ""
    priority: str = "primary"
    relationship: str = "self"
    subscriber_sex: str = "U"


def _audit(
    request: HttpRequest | None,
    by: User,
    action: Action,
    record: Coverage | EligibilityCheck | PriorAuthorization,
    *,
    detail: Mapping[str, object],
    obj: AuthorizationUse | AuthorizationDocument | None = None,
) -> None:
    """The write's audit event on the chart ``record`` belongs to; ``obj`` is the row written
    when it is a part of ``record`` (a use or a document of an authorization)."""
    audit.record(
        request=request,
        user=by,
        action=action,
        clinic_id=record.clinic_id,
        patient_id=record.patient_id,
        obj=record if obj is None else obj,
        detail=dict(detail),
    )


def _check_coverage(data: CoverageData) -> None:
    if data.valid_to is not None and data.valid_to < data.valid_from:
        raise InsuranceError("The end date is before the start date.", field="valid_to")


def _detail(data: CoverageData) -> dict[str, str]:
    return {k: str(v) for k, v in asdict(data).items() if k in ("payer_name", "priority")}


@transaction.atomic
def add_coverage(
    *, request: HttpRequest | None, by: User, patient: Patient, data: CoverageData
) -> Coverage:
    _check_coverage(data)
    now = timezone.now()
    coverage = Coverage.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        created_by=by,
        created_at=now,
        updated_at=now,
        **asdict(data),
    )
    _audit(request, by, Action.CREATE, coverage, detail=_detail(data))
    return coverage


@transaction.atomic
def update_coverage(
    *, request: HttpRequest | None, by: User, coverage: Coverage, data: CoverageData
) -> Coverage:
    _check_coverage(data)
    before = {k: str(getattr(coverage, k)) for k in asdict(data)}
    for key, value in asdict(data).items():
        setattr(coverage, key, value)
    coverage.updated_at = timezone.now()
    coverage.save()
    changed = sorted(k for k, v in asdict(data).items() if before[k] != str(v))
    _audit(request, by, Action.UPDATE, coverage, detail={"changed": changed})
    return coverage


def coverage_on(patient: Patient, on: date) -> Coverage | None:
    """The patient's primary coverage valid on `on` (else any valid one), or None."""
    return (
        Coverage.objects.filter(clinic_id=patient.clinic_id, patient=patient)
        .valid_on(on)
        .order_by("priority", "-valid_from", "pk")
        .first()
    )


# ---- eligibility ------------------------------------------------------------------------


def _envelope(clinic: Clinic, control: int, now: datetime) -> Envelope:
    sender = keys.SUBMITTER_ID.value(clinic).strip()
    receiver = keys.RECEIVER_ID.value(clinic).strip()
    if not sender or not receiver:
        raise InsuranceError(
            "The clinic's clearinghouse submitter and receiver ids are not set up yet "
            "(clinic settings, Insurance and claims)."
        )
    return Envelope(sender, receiver, control, now)


def _inquiry_270(
    coverage: Coverage, number: int, now: datetime, trace: str, service_date: date
) -> str:
    """The 270 request file; refused with the reason when it cannot be written."""
    clinic = coverage.clinic
    try:
        return x12_eligibility.write_270(
            x12_eligibility.Inquiry(
                envelope=_envelope(clinic, number, now),
                payer_name=coverage.payer_name,
                payer_id=coverage.payer_id,
                provider_name=clinic.name,
                provider_npi=clinic.npi,
                trace_number=trace,
                member_id=coverage.member_id,
                last_name=coverage.subscriber_last_name,
                first_name=coverage.subscriber_first_name,
                birth_date=coverage.subscriber_birth_date,
                service_date=service_date,
            )
        )
    except X12Error as error:
        raise InsuranceError(str(error)) from None


@transaction.atomic
def request_eligibility(
    *, request: HttpRequest | None, by: User, coverage: Coverage, service_date: date
) -> EligibilityCheck:
    """Write the 270 request for `coverage` on `service_date` and keep it with the coverage."""
    clinic = coverage.clinic
    now = timezone.now()
    number = EligibilityCheck.objects.filter(clinic=clinic).count() + 1
    trace = f"E{number:08d}"
    text = _inquiry_270(coverage, number, now, trace, service_date)
    try:
        with transaction.atomic():
            check = EligibilityCheck.objects.create(
                clinic=clinic,
                patient_id=coverage.patient_id,
                coverage=coverage,
                trace_number=trace,
                service_date=service_date,
                request_file=text,
                requested_by=by,
                requested_at=now,
            )
    except IntegrityError:
        raise InsuranceError("Another request was written at the same moment; try again.") from None
    _audit(
        request,
        by,
        Action.EXPORT,
        check,
        detail={"trace": trace, "service_date": str(service_date)},
    )
    return check


@transaction.atomic
def record_eligibility_answer(
    *, request: HttpRequest | None, by: User, check: EligibilityCheck, text: str
) -> EligibilityCheck:
    """Read a 271 answer into the check; the answer must name the check's trace number."""
    try:
        answer = x12_eligibility.parse_271(text)
    except X12Error as error:
        raise InsuranceError(str(error), field="answer") from None
    if answer.trace_number and answer.trace_number != check.trace_number:
        raise InsuranceError(
            f"This answer is for request {answer.trace_number}, not {check.trace_number}.",
            field="answer",
        )
    check = EligibilityCheck.objects.select_for_update().get(pk=check.pk)
    check.answer_file = text
    check.status = EligibilityStatus(answer.status)
    check.summary = answer.summary[:300]
    check.plan = answer.plan[:100]
    check.benefits = answer.benefits
    check.answered_at = timezone.now()
    check.save()
    _audit(request, by, Action.UPDATE, check, detail={"status": check.status})
    return check


# ---- prior authorizations ---------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationData:
    codes: str
    status: str = AuthStatus.REQUESTED
    number: str = ""
    approved_units: int = 0
    valid_from: date | None = None
    valid_to: date | None = None
    note: str = ""


def _check_authorization(data: AuthorizationData) -> None:
    if data.status not in AuthStatus.values:
        raise InsuranceError("Choose a status.", field="status")
    if not rules.parse_codes(data.codes):
        raise InsuranceError("Name at least one billing code.", field="codes")
    if data.approved_units < 0:
        raise InsuranceError("Units cannot be negative.", field="approved_units")
    if data.status == AuthStatus.APPROVED:
        if not data.number.strip():
            raise InsuranceError("An approved authorization has a number.", field="number")
        if data.approved_units <= 0:
            raise InsuranceError("Enter the units the payer approved.", field="approved_units")
        if data.valid_from is None:
            raise InsuranceError("Enter the first approved date.", field="valid_from")
        if data.valid_to is None:
            raise InsuranceError("Enter the last approved date.", field="valid_to")
    if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
        raise InsuranceError("The end date is before the start date.", field="valid_to")


def _auth_fields(data: AuthorizationData) -> dict[str, object]:
    fields = asdict(data)
    fields["codes"] = ", ".join(rules.parse_codes(data.codes))
    fields["number"] = data.number.strip()
    return fields


@transaction.atomic
def add_authorization(
    *, request: HttpRequest | None, by: User, coverage: Coverage, data: AuthorizationData
) -> PriorAuthorization:
    _check_authorization(data)
    now = timezone.now()
    auth = PriorAuthorization.objects.create(
        clinic_id=coverage.clinic_id,
        patient_id=coverage.patient_id,
        coverage=coverage,
        created_by=by,
        created_at=now,
        updated_at=now,
        **_auth_fields(data),
    )
    _audit(
        request,
        by,
        Action.CREATE,
        auth,
        detail={"status": auth.status, "codes": auth.codes},
    )
    return auth


@transaction.atomic
def update_authorization(
    *, request: HttpRequest | None, by: User, auth: PriorAuthorization, data: AuthorizationData
) -> PriorAuthorization:
    _check_authorization(data)
    if data.approved_units < auth.used_units:
        raise InsuranceError(
            f"{auth.used_units} units are already used; approved units cannot be fewer.",
            field="approved_units",
        )
    before = auth.status
    for key, value in _auth_fields(data).items():
        setattr(auth, key, value)
    auth.updated_at = timezone.now()
    auth.save()
    _audit(request, by, Action.UPDATE, auth, detail={"from": before, "to": auth.status})
    return auth


@transaction.atomic
def record_use(
    *,
    request: HttpRequest | None,
    by: User,
    auth: PriorAuthorization,
    used_on: date,
    units: int,
    note: str = "",
) -> AuthorizationUse:
    """Units used against an approved authorization; a negative number corrects with a note."""
    auth = PriorAuthorization.objects.select_for_update().get(pk=auth.pk)
    if auth.status != AuthStatus.APPROVED:
        raise InsuranceError("Units can be used only against an approved authorization.")
    if units == 0:
        raise InsuranceError("Enter the units used.", field="units")
    if units < 0 and not note.strip():
        raise InsuranceError("A correction needs a note saying why.", field="note")
    if units > 0 and units > auth.as_rule().remaining:
        raise InsuranceError(
            f"Only {auth.as_rule().remaining} approved units are left.", field="units"
        )
    if units < 0 and -units > auth.used_units:
        raise InsuranceError("A correction cannot return more units than were used.", field="units")
    use = AuthorizationUse.objects.create(
        clinic_id=auth.clinic_id,
        authorization=auth,
        used_on=used_on,
        units=units,
        note=note.strip(),
        recorded_by=by,
        recorded_at=timezone.now(),
    )
    _audit(
        request, by, Action.CREATE, auth, obj=use, detail={"units": units, "authorization": auth.pk}
    )
    return use


# Documents: PDF and images only, identified by their first bytes, not their names.
DOCUMENT_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


def document_type(head: bytes) -> str | None:
    for magic, content_type in DOCUMENT_TYPES.items():
        if head.startswith(magic):
            return content_type
    return None


def _checked_upload(kind: str, upload: UploadedFile) -> str:
    """The upload's content type, refusing an unknown kind, an empty or too large file, or
    one that is not a PDF, PNG or JPEG."""
    if kind not in DocumentKind.values:
        raise InsuranceError("Choose what the document is.", field="kind")
    size = upload.size or 0
    if size == 0:
        raise InsuranceError("The file is empty.", field="file")
    if size > DOCUMENT_MAX_BYTES:
        raise InsuranceError("The file is larger than 10 MB.", field="file")
    upload.seek(0)
    content_type = document_type(upload.read(8))
    upload.seek(0)
    if content_type is None:
        raise InsuranceError("Upload a PDF, PNG or JPEG file.", field="file")
    return content_type


@transaction.atomic
def add_document(
    *,
    request: HttpRequest | None,
    by: User,
    auth: PriorAuthorization,
    kind: str,
    upload: UploadedFile,
) -> AuthorizationDocument:
    content_type = _checked_upload(kind, upload)
    size = upload.size or 0
    name = (upload.name or "document").rsplit("/", 1)[-1][:200]
    document = AuthorizationDocument(
        clinic_id=auth.clinic_id,
        authorization=auth,
        kind=kind,
        original_name=name,
        content_type=content_type,
        size=size,
        uploaded_by=by,
        uploaded_at=timezone.now(),
    )
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[content_type]
    document.file.save(f"{timezone.now():%Y%m%d%H%M%S}.{extension}", upload, save=False)
    document.save()
    _audit(
        request,
        by,
        Action.CREATE,
        auth,
        obj=document,
        detail={"kind": kind, "size": size, "type": content_type},
    )
    return document


# ---- what the dosing gate asks ----------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationAnswer:
    """`applies` is False when the session needs no check (not insured, or the clinic turned
    the check off); otherwise `ok` says whether a valid authorization covers it."""

    applies: bool
    ok: bool
    detail: str


def authorization_for_session(
    patient: Patient, *, on: date, is_esketamine: bool
) -> AuthorizationAnswer:
    """Does a valid prior authorization cover an esketamine session of `patient` on `on`?"""
    if not is_esketamine:
        return AuthorizationAnswer(False, True, "Only esketamine sessions need an authorization.")
    clinic = patient.clinic
    if not keys.SOFT_STOP.value(clinic):
        return AuthorizationAnswer(False, True, "This clinic does not check authorizations here.")
    coverage = coverage_on(patient, on)
    if coverage is None:
        return AuthorizationAnswer(False, True, "No insurance coverage on file for this date.")
    code = rules.esketamine_drug_code(on)
    reasons = []
    for auth in PriorAuthorization.objects.filter(
        clinic_id=patient.clinic_id, patient=patient
    ).with_used():
        ok, reason = rules.covers(auth.as_rule(), code=code, on=on)
        if ok:
            number = auth.number
            left = auth.as_rule().remaining
            return AuthorizationAnswer(
                True, True, f"Prior authorization {number} covers this session ({left} units left)."
            )
        reasons.append(reason)
    if not reasons:
        return AuthorizationAnswer(
            True, False, f"{coverage.payer_name}: no prior authorization on file."
        )
    return AuthorizationAnswer(
        True, False, f"{coverage.payer_name}: no valid prior authorization. " + reasons[0]
    )
