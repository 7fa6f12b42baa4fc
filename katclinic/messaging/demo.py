"""Demo messages: a thread between the demo portal patient and their therapist."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from katclinic.demo.generator import DemoWorld
from katclinic.messaging.models import Message, Thread, ThreadRead

CONVERSATION = [
    (
        False,
        "Hello, I wanted to check in after Tuesday's session. How have the last few days "
        "been? Anything from the session you would like to bring to our integration visit?",
    ),
    (
        True,
        "Thank you for asking. I have been sleeping better. I keep thinking about the image "
        "of the open window and would like to talk about it next time.",
    ),
    (False, "That sounds worth exploring. Let's start there on Friday."),
    (True, "Could we also talk about how to keep the morning routine going? Thank you."),
]


def build(world: DemoWorld) -> None:
    therapist = world.staff.get("therapist")
    patient = next((p for p in world.patients if p.user_id is not None), None)
    if therapist is None or patient is None or patient.user is None:
        return
    now = timezone.now()
    start = now - timedelta(days=2, hours=3)
    thread = Thread.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        subject="Checking in after your session",
        started_by=therapist,
        started_at=start,
        assigned_to=therapist,
    )
    at = start
    for from_patient, body in CONVERSATION:
        Message.objects.create(
            clinic_id=patient.clinic_id,
            thread=thread,
            author=patient.user if from_patient else therapist,
            from_patient=from_patient,
            body=body,
            sent_at=at,
        )
        if from_patient:
            thread.last_patient_message_at = at
            thread.waiting_since = thread.waiting_since or at
        else:
            thread.last_staff_message_at, thread.waiting_since = at, None
        at += timedelta(hours=world.rng.randint(3, 9))
    thread.save()
    ThreadRead.objects.create(
        clinic_id=patient.clinic_id, thread=thread, user=patient.user, read_at=at
    )
