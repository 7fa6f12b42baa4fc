"""A patient's own record as a download: a PDF summary and a FHIR Bundle.

Both hold the patient's own questionnaire scores and treatment sessions. The caller
writes the one export audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

from katclinic.dosing.models import DosingSession
from katclinic.fhir import (
    bundle,
    providers,  # noqa: F401 - providers fill the registry
    registry,
)
from katclinic.measures.catalogue import definition_of
from katclinic.measures.models import Response
from katclinic.patients.language import in_language_of
from katclinic.patients.models import Patient


@dataclass(frozen=True)
class ScoreRow:
    instrument: str
    at: datetime
    total: int
    lowest: int
    highest: int
    change: int | None  # points since the first answer to this instrument; None for the first

    @property
    def change_words(self) -> str:
        if self.change is None:
            return ""
        if self.change == 0:
            return _("the same as your first answer")
        values = {"points": abs(self.change)}
        if self.change < 0:
            return _("%(points)s lower than your first answer") % values
        return _("%(points)s higher than your first answer") % values


def own_scores(patient: Patient) -> list[ScoreRow]:
    """The patient's own questionnaire totals, oldest first (self-report instruments only)."""
    rows: list[ScoreRow] = []
    first: dict[str, int] = {}
    responses = (
        Response.objects.filter(
            patient=patient, is_current=True, complete=True, total__isnull=False
        )
        .select_related("instrument")
        .order_by("submitted_at", "pk")
    )
    for response in responses:
        definition = definition_of(response.instrument)
        span, total = definition.total_range, response.total
        if definition.kind != "self_report" or span is None or total is None:
            continue
        key = response.instrument_key
        change = total - first[key] if key in first else None
        first.setdefault(key, total)
        rows.append(
            ScoreRow(definition.title, response.submitted_at, total, span[0], span[1], change)
        )
    return rows


@dataclass(frozen=True)
class SessionRow:
    pk: int
    at: datetime
    label: str


def own_sessions(patient: Patient) -> list[SessionRow]:
    """Treatment sessions that took place, newest first."""
    rows = (
        DosingSession.objects.filter(patient=patient, dose_started_at__isnull=False)
        .order_by("-dose_started_at")
        .only("pk", "dose_started_at", "state")[:200]
    )
    return [
        SessionRow(
            s.pk,
            s.dose_started_at,
            _("Treatment session (ended early)")
            if s.state == "stopped_early"
            else _("Treatment session"),
        )
        for s in rows
        if s.dose_started_at is not None
    ]


def _latin(text: str) -> str:
    """The PDF core fonts cover Latin-1 only; anything else prints as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def record_pdf(patient: Patient) -> bytes:
    pdf = FPDF(format="A4")
    """The patient's own record as a PDF, in their language."""
    with in_language_of(patient):
        pdf = FPDF(format="A4")
        pdf.set_title(_latin(_("Health record of %(name)s") % {"name": patient.full_name}))
        pdf.add_page()
        pdf.set_font("helvetica", "B", 16)
        title = _("%(clinic)s: your health record") % {"clinic": patient.clinic.name}
        pdf.cell(0, 10, _latin(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=10)
        printed = _("Printed %(when)s") % {
            "when": formats.date_format(timezone.localtime(), "SHORT_DATETIME_FORMAT")
        }
        pdf.cell(0, 6, _latin(printed), new_x="LMARGIN", new_y="NEXT")
        _section(pdf, _("About you"), _about(patient))
        scores = [_score_line(r) for r in own_scores(patient)]
        _section(pdf, _("Questionnaire scores"), scores or [_("No questionnaire scores yet.")])
        sessions = [
            f"{formats.date_format(timezone.localtime(s.at), 'SHORT_DATETIME_FORMAT')}  {s.label}"
            for s in own_sessions(patient)
        ]
        _section(pdf, _("Treatment sessions"), sessions or [_("No treatment sessions yet.")])
        return bytes(pdf.output())


def _score_line(row: ScoreRow) -> str:
    return _("%(day)s  %(instrument)s: %(total)s (possible %(lowest)s-%(highest)s)") % {
        "day": formats.date_format(timezone.localtime(row.at), "SHORT_DATE_FORMAT"),
        "instrument": row.instrument,
        "total": row.total,
        "lowest": row.lowest,
        "highest": row.highest,
    }


def _about(patient: Patient) -> list[str]:
    contact = f"{patient.emergency_contact_name or '-'} {patient.emergency_contact_phone}"
    return [
        _("Name: %(value)s") % {"value": patient.full_name},
        _("Record number: %(value)s") % {"value": patient.mrn},
        _("Date of birth: %(value)s")
        % {"value": formats.date_format(patient.date_of_birth, "SHORT_DATE_FORMAT")},
        _("Email: %(value)s") % {"value": patient.email or "-"},
        _("Phone: %(value)s") % {"value": patient.phone or "-"},
        _("Address: %(value)s") % {"value": patient.address or "-"},
        _("Emergency contact: %(value)s") % {"value": contact.strip()},
    ]


def _section(pdf: FPDF, title: str, lines: list[str]) -> None:
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(0, 8, _latin(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    for line in lines:
        pdf.multi_cell(0, 5, _latin(line), new_x="LMARGIN", new_y="NEXT")


def record_bundle(patient: Patient, base: str) -> dict[str, Any] | None:
    """The FHIR facade's $everything content for this patient."""
    resources = [registry.REGISTRY["Patient"].render(patient)]
    for resource_type in registry.REGISTRY.values():
        if resource_type.patient_field is None or resource_type.name == "Patient":
            continue
        rows = resource_type.rows(patient.clinic).filter(
            **{resource_type.patient_field: patient.pk}
        )
        resources += [resource_type.render(row) for row in rows]
    return bundle.searchset(resources, base=base, total=len(resources))
