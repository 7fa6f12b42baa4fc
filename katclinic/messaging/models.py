"""Secure messages between a patient and their care team.

A thread belongs to one patient; either side may start it. Messages are never deleted:
staff may hide one from the patient's view, with a reason, and it stays in the record.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Exists, ExpressionWrapper, OuterRef, Q

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient

USER = settings.AUTH_USER_MODEL


class ThreadQuerySet(models.QuerySet["Thread"]):
    def for_clinic(self, clinic: Clinic) -> ThreadQuerySet:
        return self.filter(clinic=clinic)

    def waiting(self) -> ThreadQuerySet:
        return self.filter(waiting_since__isnull=False)

    @staticmethod
    def _unread(user: Any) -> Q:
        """A message from the other side is newer than the user's last read."""
        newer = "last_patient_message_at" if user.is_staff_member else "last_staff_message_at"
        seen = ThreadRead.objects.filter(
            thread=OuterRef("pk"), user=user, read_at__gte=OuterRef(newer)
        )
        return Q(**{f"{newer}__isnull": False}) & ~Q(Exists(seen))

    def annotate_unread(self, user: Any) -> ThreadQuerySet:
        """Each thread with `unread` for this user."""
        wrapped = ExpressionWrapper(self._unread(user), output_field=models.BooleanField())
        return self.annotate(unread=wrapped)

    def unread_for(self, user: Any) -> ThreadQuerySet:
        return self.filter(self._unread(user))


class Thread(models.Model):
    """A conversation between one patient and the clinic's care team."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="threads")
    subject = models.CharField(max_length=120)
    started_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    assigned_to = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who answers this thread.",
    )
    waiting_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the patient's oldest unanswered message arrived; empty when answered.",
    )
    last_patient_message_at = models.DateTimeField(null=True, blank=True)
    last_staff_message_at = models.DateTimeField(null=True, blank=True)

    objects = ThreadQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-started_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["clinic", "waiting_since"])]

    def __str__(self) -> str:
        return f"Thread {self.pk} with patient {self.patient_id}"


class Message(models.Model):
    """One message of a thread. Never deleted; hiding keeps it for staff and the record."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    from_patient = models.BooleanField()
    body = models.TextField()
    sent_at = models.DateTimeField()
    crisis_words = models.JSONField(
        default=list, blank=True, help_text="Crisis words found in a patient's message."
    )
    hidden_from_patient = models.BooleanField(default=False)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    hidden_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering: ClassVar = ["sent_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(hidden_from_patient=False, hidden_at__isnull=True)
                | (Q(hidden_from_patient=True, hidden_at__isnull=False) & ~Q(hidden_reason="")),
                name="message_hidden_with_time_and_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} in thread {self.thread_id}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    return f"messaging/{instance.clinic_id}/threads/{instance.message.thread_id}/{filename}"


class Attachment(models.Model):
    """A PDF or image sent with a message, identified by its first bytes."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name


class ThreadRead(models.Model):
    """How far one person has read a thread, for the unread marks."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="reads")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["thread", "user"], name="one_read_mark_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read thread {self.thread_id} at {self.read_at}"
