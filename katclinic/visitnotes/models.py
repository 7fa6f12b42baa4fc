"""Visit notes: one per visit of a patient, written from its kind's template.

A note is a draft its author may change until signed; signing freezes it (who, when and a
hash of its content). Words after signing are addenda, each signed as it is written.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient
from katclinic.scheduling.models import Appointment
from katclinic.visitnotes.kinds import TEMPLATES, NoteKind, NoteTemplate

USER = settings.AUTH_USER_MODEL


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class VisitNoteQuerySet(models.QuerySet["VisitNote"]):
    def for_clinic(self, clinic: Clinic) -> VisitNoteQuerySet:
        return self.filter(clinic=clinic)

    def signed(self) -> VisitNoteQuerySet:
        return self.filter(status=Status.SIGNED)

    def listed(self) -> VisitNoteQuerySet:
        """What a list of notes shows: each note's heading, its author's name, its visit and
        how many addenda it has (`addendum_count`); not the note's content."""
        return (
            self.select_related("author", "appointment")
            .only(
                "kind",
                "status",
                "created_at",
                "signed_at",
                "author__full_name",
                "appointment__kind",
                "appointment__start",
            )
            .annotate(addendum_count=Count("addenda"))
        )


class VisitNote(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visit_notes")
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visit_notes",
    )
    kind = models.CharField(max_length=16, choices=NoteKind.choices)
    # The template's answers by field key; only that kind's fields.
    content = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    objects = VisitNoteQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["clinic", "patient", "created_at"])]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(kind__in=NoteKind.values), name="visit_note_kind_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="draft")
                    & Q(signed_at__isnull=True)
                    & Q(signed_by__isnull=True)
                    & Q(content_hash="")
                )
                | (
                    Q(status="signed")
                    & Q(signed_at__isnull=False)
                    & Q(signed_by__isnull=False)
                    & ~Q(content_hash="")
                ),
                name="visit_note_signature_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} note"

    @property
    def template(self) -> NoteTemplate:
        return TEMPLATES[self.kind]

    @property
    def is_signed(self) -> bool:
        return self.status == Status.SIGNED

    def answers(self) -> list[tuple[str, str]]:
        """(label, shown value) for each of the template's fields, in the template's order."""
        return [
            (f.label, f.display(str(self.content.get(f.key, "")))) for f in self.template.fields
        ]


class NoteAddendum(models.Model):
    """Words added to a signed note, signed as written; never changed."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    note = models.ForeignKey(VisitNote, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering: ClassVar = ["signed_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(text=""), name="note_addendum_has_text"),
            models.CheckConstraint(condition=~Q(content_hash=""), name="note_addendum_hashed"),
        ]

    def __str__(self) -> str:
        return "Addendum"
