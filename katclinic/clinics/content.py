"""A clinic's patient-facing texts: the public page, crisis resources, what reminders add and
the clinic's own preparation instructions. Each change is one audited write; texts are kept
as added versions (`ClinicText`), the newest of each kind shown."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic, ClinicText, TextKind

MAX_TEXT = 5000


class ContentError(ValueError):
    """A text that cannot be stored; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def current_texts(clinic: Clinic) -> dict[str, str]:
    """The newest text of every kind ('' where the clinic keeps the built-in wording)."""
    texts = {kind: "" for kind in TextKind.values}
    seen: set[str] = set()
    for row in ClinicText.objects.filter(clinic=clinic).order_by("-changed_at", "-pk"):
        if row.kind not in seen:
            seen.add(row.kind)
            texts[row.kind] = row.text
    return texts


def latest_changes(clinic: Clinic) -> dict[str, ClinicText]:
    """The newest row of each kind, for who changed it and when."""
    found: dict[str, ClinicText] = {}
    rows = ClinicText.objects.filter(clinic=clinic).select_related("changed_by")
    for row in rows.order_by("-changed_at", "-pk"):
        found.setdefault(row.kind, row)
    return found


def _clean(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


@transaction.atomic
def set_text(
    *, clinic: Clinic, kind: str, text: str, by: User, request: HttpRequest | None = None
) -> ClinicText:
    """Add a new version of one of the clinic's texts; '' goes back to the built-in wording."""
    if kind not in TextKind.values:
        raise ContentError("kind", "Unknown kind of text.")
    text = _clean(text)
    if len(text) > MAX_TEXT:
        raise ContentError("text", f"Keep the text under {MAX_TEXT} characters.")
    previous = current_texts(clinic)[kind]
    row = ClinicText.objects.create(clinic=clinic, kind=kind, text=text, changed_by=by)
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=clinic.pk,
        obj=row,
        detail={"kind": kind, "text": [previous, text]},
    )
    return row


@transaction.atomic
def set_crisis_resources(
    *, clinic: Clinic, text: str, by: User, request: HttpRequest | None = None
) -> Clinic:
    """Change what patients are shown whenever a safety concern is raised; never empty."""
    text = _clean(text)
    if not text:
        raise ContentError("text", "Patients must always be shown where to get help now.")
    if len(text) > MAX_TEXT:
        raise ContentError("text", f"Keep the text under {MAX_TEXT} characters.")
    previous = clinic.crisis_resources
    Clinic.objects.filter(pk=clinic.pk).update(crisis_resources=text)
    clinic.crisis_resources = text
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=clinic.pk,
        obj=clinic,
        detail={"crisis_resources": [previous, text]},
    )
    return clinic


def lines(text: str) -> list[str]:
    """A text as its non-empty lines, list markers dropped ("- ", "* ")."""
    out = []
    for line in text.split("\n"):
        line = line.strip().removeprefix("- ").removeprefix("* ").strip()
        if line:
            out.append(line)
    return out


def preparation_lines(clinic: Clinic) -> list[str]:
    """The clinic's own instructions before a dosing session, one per line."""
    return lines(current_texts(clinic)[TextKind.PREPARATION])


def reminder_note(clinic: Clinic) -> str:
    return current_texts(clinic)[TextKind.REMINDER_NOTE]
