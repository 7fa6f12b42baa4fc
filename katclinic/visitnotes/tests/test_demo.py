from django.test import TestCase

from katclinic.accounts.models import User
from katclinic.clinics.permissions import Role
from katclinic.demo.seed import build_demo
from katclinic.visitnotes import queue
from katclinic.visitnotes.models import Status, VisitNote


class DemoTest(TestCase):
    def test_the_demo_therapist_has_a_signed_note_a_draft_and_a_note_due(self) -> None:
        world = build_demo(seed=7, patients_per_clinic=20)
        therapist: User = world.staff["therapist"]
        signed = VisitNote.objects.get(status=Status.SIGNED)
        self.assertEqual((signed.kind, signed.author), ("integration", therapist))
        self.assertIsNotNone(signed.appointment)
        self.assertTrue(VisitNote.objects.filter(status=Status.DRAFT, kind="preparation").exists())
        due = queue.notes_due(world.clinics[0], therapist, frozenset({Role.THERAPIST}))
        self.assertEqual(due.count(), 2)
