"""Reports on one patient: the progress report for a referring clinician and the full
record for the right of access. Each is audited once, as an export, by `exports`."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from katclinic.dosing.models import Checkpoint, DosingSession, SideEffect, SupportNote
from katclinic.intake.models import ConsentSignature
from katclinic.measures.models import Course, Response, SafetyAlert
from katclinic.outcomes.pdf import Document, draw_chart, output, when
from katclinic.outcomes.progress import Progress, progress_for
from katclinic.outcomes.rollup import Summary
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan


def _identity(patient: Patient) -> str:
    return (
        f"{patient.full_name}, born {patient.date_of_birth:%Y-%m-%d}, record {patient.mrn}. "
        f"{patient.clinic.name}. Printed {timezone.localtime():%Y-%m-%d %H:%M}."
    )


def _change(summary: Summary) -> str:
    """The change from baseline to the latest score, with its percentage where it has one."""
    base, latest = summary.baseline, summary.latest
    if not (base and latest):
        return ""
    change = f"{latest.total - base.total:+d}"
    if summary.best_percent_change is not None and base.total:
        change += f" ({(latest.total - base.total) * 100 / base.total:+.0f}%)"
    return change


def _score_facts(summary: Summary | None) -> list[tuple[str, object]]:
    base = summary.baseline if summary else None
    latest = summary.latest if summary else None
    return [
        ("Baseline", f"{base.total} on {when(base.at)}" if base else "not recorded"),
        ("Latest", f"{latest.total} on {when(latest.at)}" if latest else "no later score"),
        ("Change from baseline", _change(summary) if summary else ""),
    ]


def _outcome_facts(progress: Progress) -> list[tuple[str, object]]:
    summary, figures = progress.summary, progress.figures
    totals = summary.totals if summary else {}
    return [
        ("Response", figures["response"]),
        (
            "Response lost",
            when(summary.response_lost_at) if summary and summary.response_lost_at else "no",
        ),
        ("Remission", figures["remission"]),
        (
            "Sessions before response",
            "not reached"
            if figures["sessions_to_response"] is None
            else figures["sessions_to_response"],
        ),
        ("Questionnaires answered", figures.get("answered", "none due")),
        ("Sessions given", totals.get("sessions_given", 0)),
        ("Cumulative dose", f"{totals.get('cumulative_mg', 0)} mg"),
    ]


def _summary_facts(progress: Progress) -> list[tuple[str, object]]:
    course = progress.course
    if course is None:
        return [("Course", "No treatment course recorded")]
    span = f" to {course.ended_on:%Y-%m-%d}" if course.ended_on else " (open)"
    instrument = (
        progress.definition.title
        if progress.definition
        else progress.settings["instrument"]
        if progress.settings
        else None
    )
    return [
        ("Course", f"from {course.started_on:%Y-%m-%d}" + span),
        ("Outcome instrument", instrument),
        *_score_facts(progress.summary),
        *_outcome_facts(progress),
    ]


def _score_rows(progress: Progress) -> list[list[object]]:
    return [
        [when(r.submitted_at), r.instrument_key.upper(), r.total, r.band]
        for r in progress.responses
    ]


def _session_rows(progress: Progress) -> list[list[object]]:
    return [
        [
            s["number"],
            when(s["at"]),
            s["route"],
            s["mg"],
            s["bp_peak"],
            "; ".join(s["side_effects"]) or "none",
        ]
        for s in progress.sessions
    ]


def _plan_facts(plan: Plan | None) -> list[tuple[str, object]]:
    version = plan.current_version() if plan else None
    return [
        ("Protocol", str(plan.protocol_version.title) if plan else "no plan"),
        ("Route", plan.protocol_version.route if plan else ""),
        ("Status", plan.get_status_display() if plan else ""),
        (
            "Current phase and dose",
            f"{version.phase}, {version.dose_mg} mg" if version else "not signed",
        ),
    ]


def progress_pdf(patient: Patient, course_id: int | None = None) -> tuple[bytes, Progress]:
    progress = progress_for(patient, course_id)
    pdf = Document("Treatment progress report", _identity(patient))
    pdf.heading("Course summary")
    pdf.facts(_summary_facts(progress))
    pdf.heading("Scores over time")
    draw_chart(pdf, progress.chart)
    pdf.heading("Scores")
    pdf.rows(["When", "Instrument", "Total", "Band"], _score_rows(progress))
    pdf.heading("Dosing sessions")
    pdf.rows(
        ["#", "When", "Route", "Dose (mg)", "Peak BP", "Side effects"], _session_rows(progress)
    )
    pdf.heading("Plan")
    pdf.facts(_plan_facts(progress.plan))
    return output(pdf), progress


def _demographics(patient: Patient) -> list[tuple[str, object]]:
    return [
        ("Name", patient.full_name),
        ("Preferred name", patient.preferred_name),
        ("Pronouns", patient.pronouns),
        ("Date of birth", f"{patient.date_of_birth:%Y-%m-%d}"),
        ("Sex at birth", patient.get_sex_at_birth_display()),
        ("Email", patient.email),
        ("Phone", patient.phone),
        ("Address", patient.address),
        (
            "Emergency contact",
            f"{patient.emergency_contact_name} {patient.emergency_contact_phone} "
            f"{patient.emergency_contact_relationship}".strip(),
        ),
        ("Stage of care", patient.get_stage_display()),
    ]


def _consent_rows(patient: Patient) -> list[list[object]]:
    return [
        [
            when(s.signed_at),
            s.document.title,
            s.document.version,
            when(getattr(s, "withdrawal", None) and s.withdrawal.withdrawn_at),
        ]
        for s in ConsentSignature.objects.filter(patient=patient).select_related(
            "document", "withdrawal"
        )
    ]


def record_pdf(patient: Patient) -> bytes:
    """Everything the chart holds about the patient, for a right-of-access request."""
    pdf = Document("Health record", _identity(patient))
    pdf.heading("Demographics")
    pdf.facts(_demographics(patient))
    _clinical_lists(pdf, patient)
    _measures(pdf, patient)
    _dosing(pdf, patient)
    pdf.heading("Consents")
    pdf.rows(["Signed", "Document", "Version", "Withdrawn"], _consent_rows(patient))
    return output(pdf)


def _clinical_lists(pdf: Document, patient: Patient) -> None:
    pdf.heading("Allergies")
    pdf.rows(
        ["Substance", "Reaction", "Severity", "Active"],
        [
            [a.substance, a.reaction, a.get_severity_display(), "yes" if a.is_active else "no"]
            for a in patient.allergies.all()
        ],
    )
    pdf.heading("Medications")
    pdf.rows(
        ["Name", "Dose", "Started", "Stopped", "Active"],
        [
            [m.name, m.dose, m.started_on, m.stopped_on, "yes" if m.is_active else "no"]
            for m in patient.medications.all()
        ],
    )
    pdf.heading("Diagnoses")
    pdf.rows(
        ["Code", "Description", "Onset"],
        [[d.icd10_code, d.description, d.onset] for d in patient.diagnoses.all()],
    )
    pdf.heading("Weights")
    pdf.rows(
        ["Measured", "Weight (kg)"], [[w.measured_on, w.weight_kg] for w in patient.weights.all()]
    )


def _measures(pdf: Document, patient: Patient) -> None:
    pdf.heading("Treatment courses")
    pdf.rows(
        ["Started", "Ended", "Instrument"],
        [
            [c.started_on, c.ended_on, c.instrument_key.upper()]
            for c in Course.objects.filter(patient=patient).order_by("started_on")
        ],
    )
    pdf.heading("Questionnaires")
    responses = Response.objects.filter(patient=patient).order_by("submitted_at", "pk")
    pdf.rows(
        ["When", "Instrument", "Total", "Band", "Answers", "Comment", "Current"],
        [
            [
                when(r.submitted_at),
                r.instrument_key.upper(),
                r.total,
                r.band,
                _answers(r.answers),
                r.comment,
                "yes" if r.is_current else "corrected",
            ]
            for r in responses
        ],
    )
    pdf.heading("Safety alerts")
    pdf.rows(
        ["Raised", "Kind", "State", "Action", "Note"],
        [
            [
                when(a.raised_at),
                a.get_kind_display(),
                a.get_state_display(),
                a.get_action_display(),
                a.note,
            ]
            for a in SafetyAlert.objects.filter(patient=patient).order_by("raised_at")
        ],
    )


def _answers(answers: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in (answers or {}).items())


def _dosing(pdf: Document, patient: Patient) -> None:
    pdf.heading("Plans")
    pdf.rows(["Created", "Protocol", "Route", "Status"], _plan_rows(patient))
    sessions = (
        DosingSession.objects.filter(patient=patient)
        .order_by("scheduled_for")
        .prefetch_related("administrations", "checkpoints", "side_effects")
    )
    for session in sessions:
        _session(pdf, session)
    _support_notes(pdf, patient)


def _plan_rows(patient: Patient) -> list[list[object]]:
    return [
        [
            when(p.created_at),
            p.protocol_version.title,
            p.protocol_version.route,
            p.get_status_display(),
        ]
        for p in Plan.objects.filter(patient=patient).select_related("protocol_version")
    ]


def _session(pdf: Document, session: DosingSession) -> None:
    """One session: what was given, the readings taken and any side effects."""
    pdf.heading(
        f"Session {when(session.scheduled_for)} ({session.route}, {session.get_state_display()})"
    )
    pdf.rows(
        ["Product", "Lot", "Dose (mg)", "Started"],
        [
            [a.product, a.lot_number, a.dose_mg, when(a.started_at)]
            for a in session.administrations.all()
        ],
    )
    pdf.rows(
        ["Reading", "Taken", "BP", "HR", "SpO2", "RR", "MOAA/S", "CADSS-6"],
        [_reading(c) for c in session.checkpoints.all()],
    )
    effects = session.side_effects.all()
    if effects:
        pdf.rows(
            ["Side effect", "Severity", "Serious", "What was done"],
            [_side_effect(e) for e in effects],
        )


def _reading(c: Checkpoint) -> list[object]:
    return [
        c.label,
        when(c.taken_at),
        f"{c.systolic or ''}/{c.diastolic or ''}",
        c.heart_rate,
        c.spo2,
        c.respiratory_rate,
        c.moaas,
        c.cadss6,
    ]


def _side_effect(e: SideEffect) -> list[object]:
    return [
        e.get_kind_display(),
        e.get_severity_display(),
        "yes" if e.serious else "no",
        e.what_was_done,
    ]


def _support_notes(pdf: Document, patient: Patient) -> None:
    pdf.heading("Support notes")
    notes = SupportNote.objects.filter(patient=patient).order_by("created_at")
    for note in notes:
        text = " ".join(
            v
            for v in (
                note.intention,
                note.concerns,
                note.agreed_support,
                note.observations,
                note.guidance,
                note.integration,
            )
            if v
        )
        pdf.paragraph(f"{when(note.created_at)} {note.get_kind_display()}: {text}")
    if not notes:
        pdf.paragraph("None recorded.")
