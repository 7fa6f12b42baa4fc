"""Spravato REMS Patient Monitoring Form: the field set, checks and a printout.

The REMS asks for a monitoring form after every esketamine session, sent
within 7 days (SPRAVATO REMS, FDA,
https://www.accessdata.fda.gov/scripts/cder/rems/index.cfm?event=IndvRemsDetails.page&REMS=386).
This module holds the fields as data and
prints them for whoever submits the form; it is not a facsimile of the
official form.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FieldKind = Literal["text", "date", "yes_no", "choice", "minutes", "bp"]

TITLE = "Spravato REMS Patient Monitoring Form — data for submission"

# SPRAVATO REMS: submit after every session, within 7 days.
SUBMISSION_WINDOW_DAYS = 7

# SPRAVATO REMS: total monitoring from the first device must be at least 120 min.
MIN_MONITORING_MINUTES = 120

DOSE_CHOICES: Mapping[str, str] = {"56": "56 mg", "84": "84 mg", "other": "Other"}


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    kind: FieldKind
    section: str


_P, _M, _S, _V, _E = "Patient", "Concomitant medicines", "Session", "Vital signs", "Effects"

FIELDS: tuple[FormField, ...] = (
    FormField("patient_name", "Patient name", "text", _P),
    FormField("date_of_birth", "Date of birth", "date", _P),
    FormField("sex", "Sex", "text", _P),
    FormField("first_treatment", "First treatment session", "yes_no", _P),
    FormField("patient_enrolled", "Patient enrolled in the REMS", "yes_no", _P),
    FormField("benzodiazepines", "Benzodiazepines", "yes_no", _M),
    FormField("non_benzo_hypnotics", "Non-benzodiazepine sleep medicines", "yes_no", _M),
    FormField("psychostimulants", "Psychostimulants", "yes_no", _M),
    FormField("maois", "Monoamine oxidase inhibitors (MAOIs)", "yes_no", _M),
    FormField("monitoring_hcp", "Healthcare provider who monitored", "text", _S),
    FormField("monitoring_setting", "Healthcare setting", "text", _S),
    FormField("session_date", "Date of session", "date", _S),
    FormField("dose", "Dose (56 mg / 84 mg / other)", "choice", _S),
    FormField("dose_other_mg", "Other dose (mg)", "text", _S),
    FormField("lot_number", "Lot number", "text", _S),
    FormField(
        "total_monitoring_minutes",
        "Minutes from first device to end of monitoring (at least 120)",
        "minutes",
        _S,
    ),
    FormField(
        "minutes_ready_without_2h_rule",
        "Minutes until ready to leave, leaving aside the 2-hour rule",
        "minutes",
        _S,
    ),
    FormField("vitals_ok_pre_dose", "Vital signs acceptable before dosing", "yes_no", _V),
    FormField("vitals_ok_at_completion", "Vital signs acceptable at completion", "yes_no", _V),
    FormField("bp_pre_dose", "Blood pressure before dosing", "bp", _V),
    FormField("bp_40_min", "Blood pressure about 40 minutes after dosing", "bp", _V),
    FormField("bp_completion", "Blood pressure at completion of monitoring", "bp", _V),
    FormField("sedation", "Sedation", "yes_no", _E),
    FormField("dissociation", "Dissociation", "yes_no", _E),
    FormField("respiratory_depression", "Respiratory depression", "yes_no", _E),
    FormField(
        "serious_adverse_events", "Serious adverse events (write 'None' if none)", "text", _E
    ),
)

FIELD_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS)


def _blank(value: object) -> bool:
    # False is an answer ("No"), so only absent, None or empty text is blank.
    return value is None or (isinstance(value, str) and not value.strip())


def _applies(spec: FormField, form: Mapping[str, object]) -> bool:
    """``dose_other_mg`` applies only when the dose is "other"; the rest always do."""
    return spec.key != "dose_other_mg" or form.get("dose") == "other"


def missing_fields(form: Mapping[str, object]) -> list[str]:
    """Keys of required fields with no value, in form order."""
    missing = []
    for spec in FIELDS:
        if _applies(spec, form) and _blank(form.get(spec.key)):
            missing.append(spec.key)
    return missing


def problems(form: Mapping[str, object]) -> list[str]:
    """Values that are present but cannot go on the form as they are."""
    found = []
    dose = form.get("dose")
    if not _blank(dose) and dose not in DOSE_CHOICES:
        found.append(f"dose must be one of {', '.join(DOSE_CHOICES)}, not {dose!r}")
    total = form.get("total_monitoring_minutes")
    if isinstance(total, int) and total < MIN_MONITORING_MINUTES:
        found.append(
            f"total_monitoring_minutes is {total}; the REMS needs at least {MIN_MONITORING_MINUTES}"
        )
    return found


def deadline(session_date: date) -> date:
    """Last day to submit the form for a session held on ``session_date``."""
    return session_date + timedelta(days=SUBMISSION_WINDOW_DAYS)


def _display(spec: FormField, value: object) -> str:
    if _blank(value):
        return "MISSING"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return value.isoformat()
    if spec.kind == "choice":
        return DOSE_CHOICES.get(str(value), str(value))
    return str(value)


# The built-in PDF fonts cover Latin-1 only. Common typographic characters are
# swapped for plain ones; anything else raises rather than print a wrong name.
_PLAIN = str.maketrans(
    {"—": "-", "–": "-", "≥": ">=", "≤": "<=", "‘": "'", "’": "'", "“": '"', "”": '"'}
)


def _latin1(text: str, where: str) -> str:
    plain = text.translate(_PLAIN)
    try:
        plain.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{where}: {text[exc.start]!r} cannot be printed with the built-in PDF font."
        ) from None
    return plain


def _row(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font("Helvetica", size=9)
    pdf.cell(105, 6, label, border=1, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_font("Helvetica", style="B", size=9)
    pdf.cell(0, 6, value, border=1, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: FPDF, form: Mapping[str, object]) -> None:
    pdf.set_font("Helvetica", style="B", size=13)
    pdf.cell(0, 8, _latin1(TITLE, "title"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=8)
    note = "Not the official REMS form. Transcribe these values when submitting."
    session_date = form.get("session_date")
    if isinstance(session_date, date):
        note += f" Submit by {deadline(session_date).isoformat()}."
    pdf.cell(0, 5, note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(form: Mapping[str, object]) -> bytes:
    """A printable one-page A4 sheet with every field and its value.

    Compression is off so the text can be checked in tests; one page of text
    stays small either way.
    """
    pdf = FPDF(format="A4")
    pdf.set_compression(False)
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(12, 10, 12)
    pdf.add_page()
    _header(pdf, form)
    section = ""
    for spec in FIELDS:
        if spec.section != section:
            section = spec.section
            pdf.ln(2)
            pdf.set_font("Helvetica", style="B", size=10)
            pdf.cell(0, 6, section, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        shown = _display(spec, form.get(spec.key)) if _applies(spec, form) else "n/a"
        value = _latin1(shown, spec.key)
        _row(pdf, _latin1(spec.label, spec.key), value)
    return bytes(pdf.output())
