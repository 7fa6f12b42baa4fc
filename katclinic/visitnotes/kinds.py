"""The note templates, one per kind of visit, as data: each lists only the fields that kind
needs, with its label and whether it must be filled before the note is saved."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from katclinic.clinics.permissions import Perm


class NoteKind(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    PREPARATION = "preparation", "Preparation"
    INTEGRATION = "integration", "Integration"
    FOLLOW_UP = "follow_up", "Follow-up"
    PSYCHOTHERAPY = "psychotherapy", "Psychotherapy"


YES_NO = (("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True)
class NoteField:
    key: str
    label: str
    required: bool = True
    help: str = ""
    # Free text, or one of a few answers (stored as the answer's key).
    choices: tuple[tuple[str, str], ...] = ()

    def display(self, value: str) -> str:
        return dict(self.choices).get(value, value) if self.choices else value


@dataclass(frozen=True)
class NoteTemplate:
    kind: NoteKind
    fields: tuple[NoteField, ...]
    # Who may write, edit, sign and add to a note of this kind.
    perm: Perm

    @property
    def label(self) -> str:
        return self.kind.label

    def field(self, key: str) -> NoteField | None:
        return next((f for f in self.fields if f.key == key), None)


TEMPLATES: dict[str, NoteTemplate] = {
    t.kind.value: t
    for t in (
        NoteTemplate(
            NoteKind.CONSULTATION,
            (
                NoteField(
                    "history", "History", help="Presenting problem, course, treatments tried"
                ),
                NoteField("assessment", "Assessment"),
                NoteField("plan", "Plan"),
            ),
            Perm.WRITE_VISIT_NOTE,
        ),
        NoteTemplate(
            NoteKind.PREPARATION,
            (
                NoteField("intentions", "Intentions"),
                NoteField("expectations", "Expectations"),
                NoteField("set_and_setting", "Set and setting"),
                NoteField("safety_plan_reviewed", "Safety plan reviewed", choices=YES_NO),
                NoteField("questions", "Questions raised", required=False),
            ),
            Perm.WRITE_VISIT_NOTE,
        ),
        NoteTemplate(
            NoteKind.INTEGRATION,
            (
                NoteField("session_reviewed", "Session reviewed", help="Which session, and how"),
                NoteField("themes", "Themes"),
                NoteField("insights", "Insights", required=False),
                NoteField("mood_safety", "Mood and safety check"),
                NoteField("plan", "Plan"),
            ),
            Perm.WRITE_VISIT_NOTE,
        ),
        NoteTemplate(
            NoteKind.FOLLOW_UP,
            (NoteField("progress", "Progress"), NoteField("plan", "Plan")),
            Perm.WRITE_FOLLOW_UP_NOTE,
        ),
        NoteTemplate(
            NoteKind.PSYCHOTHERAPY,
            (
                NoteField("modality", "Modality", help="For example CBT, ACT, EMDR"),
                NoteField("interventions", "Interventions"),
                NoteField("response", "Response"),
                NoteField("risk_assessment", "Risk assessment"),
                NoteField("plan", "Plan"),
            ),
            Perm.WRITE_VISIT_NOTE,
        ),
    )
}

# The note a booked visit of each kind is written as (visits of other kinds choose freely).
FOR_APPOINTMENT_KIND: dict[str, str] = {
    "consultation": NoteKind.CONSULTATION.value,
    "preparation": NoteKind.PREPARATION.value,
    "integration": NoteKind.INTEGRATION.value,
    "follow_up": NoteKind.FOLLOW_UP.value,
}
