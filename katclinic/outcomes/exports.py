"""Every export of outcome data, each written to the audit trail once as EXPORT.

Research exports are de-identified with `katclinic.lib.deidentify` under a secret
derived from `settings.SECRET_KEY` (see `research_secret`), and include only patients
with a research-use consent that has not been withdrawn.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.dosing.models import DosingSession, SupportNote
from katclinic.intake.models import ConsentScope, ConsentSignature
from katclinic.lib.deidentify import deidentify_record
from katclinic.measures.models import Response
from katclinic.outcomes import reports
from katclinic.outcomes.dashboard import Scope
from katclinic.patients.models import Patient

# The research secret is derived, never stored: HMAC-SHA256 of this label under
# SECRET_KEY. Rotating SECRET_KEY changes every research id and date shift, so
# exports made before and after a rotation cannot be linked to each other.
RESEARCH_LABEL = b"katclinic.outcomes.research-export.v1"
ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


def research_secret() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), RESEARCH_LABEL, hashlib.sha256).digest()


@transaction.atomic
def progress_report(*, patient: Patient, course_id: int | None, request: HttpRequest) -> bytes:
    content, progress = reports.progress_pdf(patient, course_id)
    audit.record(
        request=request,
        action=Action.EXPORT,
        patient_id=patient.pk,
        obj=patient,
        detail={
            "export": "progress_report_pdf",
            "course": progress.course.pk if progress.course else None,
        },
    )
    return content


@transaction.atomic
def full_record(*, patient: Patient, request: HttpRequest) -> bytes:
    content = reports.record_pdf(patient)
    audit.record(
        request=request,
        action=Action.EXPORT,
        patient_id=patient.pk,
        obj=patient,
        detail={"export": "record_pdf", "purpose": "right of access"},
    )
    return content


@transaction.atomic
def dashboard_csv(
    *,
    scope: Scope,
    table: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    request: HttpRequest,
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        count += 1
    # An organization-wide export is recorded in the chain of every clinic it covers.
    with transaction.atomic():
        for clinic_id in scope.clinic_ids:
            audit.record(
                request=request,
                action=Action.EXPORT,
                clinic_id=clinic_id,
                object_type="outcomes.dashboard",
                object_id=table,
                detail={
                    "export": "dashboard_csv",
                    "table": table,
                    "clinics": scope.clinic_ids,
                    "rows": count,
                },
            )
    return buffer.getvalue()


def research_patients(clinic: Clinic) -> QuerySet[Patient]:
    """Patients of `clinic` with a research-use consent they have not withdrawn."""
    consented = ConsentSignature.objects.filter(
        clinic=clinic, document__scope=ConsentScope.RESEARCH, withdrawal__isnull=True
    ).values("patient_id")
    return Patient.objects.for_clinic(clinic).filter(pk__in=consented)


def _zip(address: str) -> str | None:
    found = ZIP.findall(address or "")
    return found[-1] if found else None


def _address_parts(address: str) -> dict[str, str]:
    """The address in pieces, so the scrubber also finds "Wintergreen Lane" on its own in a note.

    Only patient keys outside deidentify's allowlist are used for scrubbing, and all of
    them are dropped from the export.
    """
    parts = [p.strip() for p in re.split(r"[,\n]", address or "") if p.strip()]
    found = {f"address_part_{i}": part for i, part in enumerate(parts)}
    if parts:
        found["street_name"] = re.sub(r"^\d+[A-Za-z]?\s+", "", parts[0])
    return found


def _research_identity(patient: Patient) -> dict[str, Any]:
    """Every identifier of the patient, for `deidentify_record` to drop or scrub with."""
    return {
        "id": str(patient.pk),
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "preferred_name": patient.preferred_name,
        "date_of_birth": patient.date_of_birth,
        "sex": patient.sex_at_birth,
        "address_line1": patient.address,
        "zip": _zip(patient.address),
        "phone": patient.phone,
        "email": patient.email,
        "mrn": patient.mrn,
        "emergency_contact_name": patient.emergency_contact_name,
        "emergency_contact_phone": patient.emergency_contact_phone,
        **_address_parts(patient.address),
    }


def _research_scores(patient: Patient) -> list[dict[str, Any]]:
    return [
        {
            "instrument": r.instrument_key,
            "date": r.submitted_at,
            "total": r.total,
            "items": list(r.answers.values()) if isinstance(r.answers, dict) else [],
        }
        for r in patient.research_responses  # type: ignore[attr-defined]
    ]


def _research_session(number: int, session: DosingSession) -> dict[str, Any]:
    """One dosing session's timing and the doses given, adjuncts left out."""
    given = [a for a in session.administrations.all() if not a.is_adjunct]
    per_kg = [a.dose_mg_per_kg for a in given if a.dose_mg_per_kg is not None]
    return {
        "started_at": session.dose_started_at,
        "ended_at": session.discharged_at,
        "route": session.route,
        "dose_mg": float(sum(a.dose_mg for a in given)),
        "dose_mg_per_kg": float(sum(per_kg)) if per_kg else None,
        "session_number": number,
    }


def research_record(patient: Patient, *, include_free_text: bool) -> dict[str, Any]:
    """The patient's record in the shape `deidentify_record` expects (prefetched rows)."""
    sessions = [
        _research_session(number, session)
        for number, session in enumerate(patient.research_sessions, 1)  # type: ignore[attr-defined]
    ]
    record: dict[str, Any] = {
        "patient": _research_identity(patient),
        "scores": _research_scores(patient),
        "sessions": sessions,
    }
    if include_free_text:
        record["notes"] = [
            {"written_at": n.created_at, "kind": n.kind, "text": _note_text(n)}
            for n in patient.research_notes  # type: ignore[attr-defined]
        ]
    return record


def _note_text(note: SupportNote) -> str:
    parts = (
        note.intention,
        note.concerns,
        note.agreed_support,
        note.observations,
        note.guidance,
        note.integration,
    )
    return "\n".join(part for part in parts if part)


def _research_rows(clinic: Clinic) -> QuerySet[Patient]:
    """The consented patients with the rows a research record reads, prefetched together."""
    return (
        research_patients(clinic)
        .order_by("pk")
        .prefetch_related(
            Prefetch(
                "responses",
                Response.objects.current().filter(complete=True).order_by("submitted_at", "pk"),
                to_attr="research_responses",
            ),
            Prefetch(
                "dosing_sessions",
                DosingSession.objects.filter(dose_started_at__isnull=False)
                .order_by("dose_started_at")
                .prefetch_related("administrations"),
                to_attr="research_sessions",
            ),
            Prefetch(
                "support_notes",
                SupportNote.objects.order_by("created_at"),
                to_attr="research_notes",
            ),
        )
    )


def _research_lines(patients: Iterable[Patient], *, include_free_text: bool) -> list[str]:
    secret = research_secret()
    lines = []
    for patient in patients:
        record = research_record(patient, include_free_text=include_free_text)
        lines.append(
            json.dumps(
                deidentify_record(record, secret=secret, include_free_text=include_free_text)
            )
        )
    return lines


@transaction.atomic
def research_export(*, clinic: Clinic, include_free_text: bool, request: HttpRequest) -> str:
    """JSON Lines, one de-identified patient per line, for consented patients only."""
    lines = _research_lines(_research_rows(clinic), include_free_text=include_free_text)
    audit.record(
        request=request,
        action=Action.EXPORT,
        clinic_id=clinic.pk,
        object_type="outcomes.research",
        detail={
            "export": "research_deidentified",
            "patients": len(lines),
            "free_text": include_free_text,
        },
    )
    return "\n".join(lines) + ("\n" if lines else "")
