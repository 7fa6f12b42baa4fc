"""A signed-in patient cannot answer another patient's emailed link (review finding: the
answers were stored in the other patient's record)."""

from katclinic.audit.models import Action, AuditEvent
from katclinic.measures.models import Response
from katclinic.measures.tests.helpers import PHQ9_MILD, emailed_invitation, form_data
from katclinic.testing import ClinicTestCase


class LinkOwnerTest(ClinicTestCase):
    def setUp(self) -> None:
        self.invitation, raw = emailed_invitation(self)  # pat's invitation
        self.path = f"/measures/q/{raw}/"

    def test_another_signed_in_patient_is_refused_and_nothing_is_stored(self) -> None:
        self.login(self.quinn_user)
        self.assertEqual(self.client.get(self.path).status_code, 403)
        response = self.client.post(self.path, form_data(PHQ9_MILD) | {"comment": ""})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Response.objects.exists())
        self.invitation.refresh_from_db()
        self.assertIsNone(self.invitation.used_at)
        denied = AuditEvent.objects.filter(action=Action.DENIED, patient_id=self.pat.pk)
        self.assertEqual(denied.count(), 2)

    def test_signed_in_staff_are_refused_too(self) -> None:
        self.login(self.nick)
        response = self.client.post(self.path, form_data(PHQ9_MILD) | {"comment": ""})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Response.objects.exists())

    def test_its_own_patient_signed_in_may_answer(self) -> None:
        self.login(self.pat_user)
        response = self.client.post(self.path, form_data(PHQ9_MILD) | {"comment": ""})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Response.objects.get().patient, self.pat)

    def test_no_one_signed_in_may_answer(self) -> None:
        response = self.client.post(self.path, form_data(PHQ9_MILD) | {"comment": ""})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Response.objects.get().patient, self.pat)
