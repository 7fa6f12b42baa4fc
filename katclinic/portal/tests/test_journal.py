from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.portal.models import JournalEntry
from katclinic.portal.tests import fixtures
from katclinic.testing import ClinicTestCase

# One entry query whatever the count; the rest is sign-in, audit, the form and the
# portal menu (whether the patient has take-home prescriptions).
PATIENT_PAGE_QUERIES = 9
CHART_TAB_QUERIES = 6


class JournalTest(ClinicTestCase):
    def write(self, text: str, shared: bool = False) -> JournalEntry:
        self.login(self.pat_user)
        data = {"text": text} | ({"shared": "on"} if shared else {})
        response = self.client.post(f"/portal/{self.pat.pk}/journal/", data)
        self.assertRedirects(
            response, f"/portal/{self.pat.pk}/journal/", fetch_redirect_response=False
        )
        return JournalEntry.objects.get(text=text)

    def test_entries_are_private_by_default(self) -> None:
        entry = self.write("Only for me")
        self.assertFalse(entry.shared_with_therapist)
        self.assertEqual((entry.clinic_id, entry.patient_id), (self.clinic.pk, self.pat.pk))

    def test_staff_never_see_private_entries_and_see_shared_ones(self) -> None:
        self.write("Only for me")
        self.write("Please read this", shared=True)
        self.login(self.tara)
        response = self.client.get(f"/portal/patients/{self.pat.pk}/journal/")
        self.assertContains(response, "Please read this")
        self.assertNotContains(response, "Only for me")
        self.assertEqual(
            AuditEvent.objects.filter(
                user_id=self.tara.pk, action="view", patient_id=self.pat.pk
            ).count(),
            1,
        )

    def test_private_entries_appear_nowhere_a_clinician_looks(self) -> None:
        self.write("Secret words about my week")
        for user in (self.tara, self.paula, self.nick):
            self.login(user)
            for url in (
                f"/portal/patients/{self.pat.pk}/journal/",
                "/today/",
                f"/patients/{self.pat.pk}/",
            ):
                self.assertNotContains(
                    self.client.get(url), "Secret words", msg_prefix=f"{user} {url}"
                )

    def test_taking_back_a_shared_entry_removes_it_from_the_chart(self) -> None:
        entry = self.write("Changed my mind", shared=True)
        self.client.post(f"/portal/{self.pat.pk}/journal/{entry.pk}/share/", {"shared": "0"})
        entry.refresh_from_db()
        self.assertEqual((entry.shared_with_therapist, entry.shared_at), (False, None))
        self.login(self.tara)
        self.assertNotContains(
            self.client.get(f"/portal/patients/{self.pat.pk}/journal/"), "Changed my mind"
        )

    def test_another_patient_cannot_share_my_entry(self) -> None:
        entry = self.write("Mine")
        self.login(self.quinn_user)
        response = self.client.post(
            f"/portal/{self.quinn.pk}/journal/{entry.pk}/share/", {"shared": "1"}
        )
        self.assertEqual(response.status_code, 404)
        response = self.client.post(
            f"/portal/{self.pat.pk}/journal/{entry.pk}/share/", {"shared": "1"}
        )
        self.assertEqual(response.status_code, 404)
        entry.refresh_from_db()
        self.assertFalse(entry.shared_with_therapist)

    def test_front_desk_cannot_read_the_journal_tab(self) -> None:
        self.write("Shared", shared=True)
        self.login(self.alice)
        url = f"/portal/patients/{self.pat.pk}/journal/"
        response = self.client.get(url)
        self.assertEqual(response.status_code, 403)
        self.assertNotContains(response, "Shared", status_code=403)
        self.assertDenialsRecorded(url)

    def test_an_entry_can_be_about_one_of_my_sessions_only(self) -> None:
        mine = fixtures.session(self, self.pat)
        theirs = fixtures.session(self, self.quinn)
        self.login(self.pat_user)
        self.client.post(f"/portal/{self.pat.pk}/journal/", {"text": "After", "session": mine.pk})
        self.assertEqual(JournalEntry.objects.get(text="After").session_id, mine.pk)
        response = self.client.post(
            f"/portal/{self.pat.pk}/journal/", {"text": "Sneaky", "session": theirs.pk}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(JournalEntry.objects.filter(text="Sneaky").exists())

    def test_an_empty_entry_is_refused_with_a_field_error(self) -> None:
        self.login(self.pat_user)
        response = self.client.post(f"/portal/{self.pat.pk}/journal/", {"text": "  "})
        self.assertContains(response, "This field is required", status_code=400)
        self.assertFalse(JournalEntry.objects.exists())


class JournalQueryCountTest(ClinicTestCase):
    def add(self, n: int, shared: bool) -> None:
        for i in range(n):
            JournalEntry.objects.create(
                clinic=self.clinic,
                patient=self.pat,
                text=f"entry {i}",
                shared_with_therapist=shared,
                shared_at=timezone.now() if shared else None,
            )

    def test_the_patients_journal_page_costs_the_same_for_any_number_of_entries(self) -> None:
        self.login(self.pat_user)
        self.add(2, shared=False)
        self.client.get(
            f"/portal/{self.pat.pk}/journal/"
        )  # the first request also writes the session
        with self.assertNumQueries(PATIENT_PAGE_QUERIES):
            self.client.get(f"/portal/{self.pat.pk}/journal/")
        self.add(20, shared=False)
        with self.assertNumQueries(PATIENT_PAGE_QUERIES):
            self.client.get(f"/portal/{self.pat.pk}/journal/")

    def test_the_chart_journal_tab_costs_the_same_for_any_number_of_entries(self) -> None:
        self.login(self.tara)
        self.add(2, shared=True)
        self.client.get(f"/portal/patients/{self.pat.pk}/journal/")
        with self.assertNumQueries(CHART_TAB_QUERIES):
            self.client.get(f"/portal/patients/{self.pat.pk}/journal/")
        self.add(20, shared=True)
        with self.assertNumQueries(CHART_TAB_QUERIES):
            self.client.get(f"/portal/patients/{self.pat.pk}/journal/")
