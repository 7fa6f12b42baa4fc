"""Demo portal history: journal entries (some shared) and a waiting appointment request."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from katclinic.demo.generator import DemoWorld
from katclinic.portal.models import AppointmentRequest, JournalEntry, RequestKind

ENTRIES = [
    ("I slept better last night than I have in weeks. Walked to the park with my sister.", True),
    ("Hard day. The fog came back in the afternoon but I used the breathing exercise.", False),
    (
        "After the session I kept thinking about the image of the open window. Want to talk about it.",
        True,
    ),
    ("Made a list of three small things to do each morning. Did two of them.", False),
    ("Noticed I was kinder to myself when I forgot the appointment time.", True),
]


def build(world: DemoWorld) -> None:
    """Journals for patients in treatment, including the demo portal patients."""
    now = timezone.now()
    in_treatment = [p for p in world.patients if p.stage in ("induction", "maintenance")]
    portal = [p for p in world.patients if p.user_id is not None]
    for patient in {p.pk: p for p in portal + in_treatment}.values():
        for days_ago in sorted(world.rng.sample(range(1, 40), 3), reverse=True):
            text, shared = world.rng.choice(ENTRIES)
            at = now - timedelta(days=days_ago, hours=world.rng.randint(0, 10))
            JournalEntry.objects.create(
                clinic_id=patient.clinic_id,
                patient=patient,
                text=text,
                created_at=at,
                shared_with_therapist=shared,
                shared_at=at if shared else None,
            )
    for patient in portal[:1] + in_treatment[:1]:
        AppointmentRequest.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            kind=RequestKind.RESCHEDULE,
            preferred_times="Weekday mornings before 11",
            message="Work moved my shift.",
            created_at=now - timedelta(hours=world.rng.randint(1, 20)),
        )
