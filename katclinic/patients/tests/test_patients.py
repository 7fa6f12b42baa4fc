from decimal import Decimal

from katclinic.audit.models import Action, AuditEvent
from katclinic.patients.models import Patient, WeightReading
from katclinic.testing import ClinicTestCase

VALID = {
    "first_name": "Robin",
    "last_name": "Hart",
    "date_of_birth": "1979-08-30",
    "sex_at_birth": "female",
    "phone": "555-0111",
    "pronouns": "she/her",
}


class PatientListTest(ClinicTestCase):
    def test_list_shows_only_the_active_clinic(self) -> None:
        self.login(self.alice)
        response = self.client.get("/patients/")
        names = [p.last_name for p in response.context["page"]]
        self.assertEqual(sorted(names), ["Doe", "Roe"])
        self.assertNotContains(response, "Stranger")

    def test_search_by_name_record_number_and_birth_date(self) -> None:
        self.login(self.alice)
        for query in ("roe", "K000002", "qui"):
            with self.subTest(query=query):
                page = self.client.get("/patients/", {"q": query}).context["page"]
                self.assertEqual([p.pk for p in page], [self.quinn.pk])
        page = self.client.get("/patients/", {"q": "1985-04-12"}).context["page"]
        self.assertEqual(len(page), 2)

    def test_search_by_email_and_by_phone_whatever_its_punctuation(self) -> None:
        Patient.objects.filter(pk=self.quinn.pk).update(
            email="Quinn.Roe@example.org", phone="(555) 010-4477"
        )
        self.login(self.alice)
        for query in ("quinn.roe@example.org", "555-010-4477", "5550104477", "010 4477"):
            with self.subTest(query=query):
                page = self.client.get("/patients/", {"q": query}).context["page"]
                self.assertEqual([p.pk for p in page], [self.quinn.pk])

    def test_filter_by_stage_and_order(self) -> None:
        Patient.objects.filter(pk=self.quinn.pk).update(stage=Patient.Stage.INDUCTION)
        self.login(self.alice)
        response = self.client.get("/patients/", {"stage": "induction"})
        self.assertContains(response, "<h1>Patients</h1>", count=1, html=False)
        self.assertContains(response, 'name="stage"', count=1)
        page = response.context["page"]
        self.assertEqual([p.pk for p in page], [self.quinn.pk])
        page = self.client.get("/patients/", {"sort": "newest"}).context["page"]
        self.assertEqual([p.pk for p in page], sorted([self.pat.pk, self.quinn.pk], reverse=True))

    def test_an_unknown_filter_is_a_clear_error_naming_it(self) -> None:
        self.login(self.alice)
        for params, field in (({"stage": "nope"}, "stage"), ({"sort": "pk;drop"}, "sort")):
            with self.subTest(field=field):
                response = self.client.get("/patients/", params)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)

    def test_list_query_count_does_not_grow_with_patients(self) -> None:
        for i in range(30):
            self.make_patient(self.clinic, f"P{i}", "Many", f"K1{i:05d}")
        self.login(self.alice)
        self.client.get("/patients/")  # warm the session row
        # Session, user, memberships, count, page; then the one audit event naming the
        # patients shown (one insert: the chain is sealed later, without this request).
        with self.assertNumQueries(6):
            response = self.client.get("/patients/")
        self.assertEqual(len(response.context["page"]), 25)

    def test_htmx_search_returns_only_the_rows(self) -> None:
        self.login(self.alice)
        response = self.client.get("/patients/", {"q": "doe"}, headers={"HX-Request": "true"})
        self.assertNotContains(response, "<html")
        self.assertContains(response, "Doe, Pat")


class RegisterPatientTest(ClinicTestCase):
    def test_front_desk_registers_a_patient_with_the_next_record_number(self) -> None:
        self.login(self.alice)
        response = self.client.post("/patients/new/", VALID)
        patient = Patient.objects.get(last_name="Hart")
        self.assertRedirects(response, f"/patients/{patient.pk}/", fetch_redirect_response=False)
        self.assertEqual((patient.clinic, patient.mrn), (self.clinic, "K000003"))
        self.assertEqual(
            AuditEvent.objects.filter(action=Action.CREATE, patient_id=patient.pk).count(), 1
        )

    def test_a_future_birth_date_is_refused_naming_the_field(self) -> None:
        self.login(self.alice)
        response = self.client.post("/patients/new/", VALID | {"date_of_birth": "2999-01-01"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("date_of_birth", response.context["form"].errors)
        self.assertFalse(Patient.objects.filter(last_name="Hart").exists())

    def test_a_patient_needs_a_way_to_be_reached(self) -> None:
        self.login(self.alice)
        response = self.client.post("/patients/new/", VALID | {"phone": "", "email": ""})
        self.assertEqual(response.status_code, 400)
        self.assertIn("phone", response.context["form"].errors)
        self.assertFalse(Patient.objects.filter(last_name="Hart").exists())

    def test_oversized_and_wrong_type_input_is_refused(self) -> None:
        self.login(self.alice)
        for field, value in (
            ("first_name", "x" * 500),
            ("date_of_birth", "not a date"),
            ("sex_at_birth", "robot"),
        ):
            with self.subTest(field=field):
                response = self.client.post("/patients/new/", VALID | {field: value})
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
        self.assertFalse(Patient.objects.filter(last_name="Hart").exists())


class ClinicalRecordTest(ClinicTestCase):
    def test_weight_in_pounds_is_stored_in_kilograms(self) -> None:
        self.login(self.nick)
        self.client.post(
            f"/patients/{self.pat.pk}/add/weight/",
            {"value": "154", "unit": "lb", "measured_on": "2026-03-01"},
        )
        reading = WeightReading.objects.get(patient=self.pat)
        self.assertEqual(reading.weight_kg, Decimal("69.9"))
        self.assertEqual((reading.entered_value, reading.entered_unit), (Decimal("154"), "lb"))
        self.assertEqual(reading.clinic, self.clinic)

    def test_an_implausible_weight_is_refused(self) -> None:
        self.login(self.nick)
        response = self.client.post(
            f"/patients/{self.pat.pk}/add/weight/",
            {"value": "700", "unit": "kg", "measured_on": "2026-03-01"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("value", response.context["form"].errors)
        self.assertFalse(WeightReading.objects.exists())

    def test_medication_flags_show_on_the_chart(self) -> None:
        self.login(self.paula)
        self.client.post(
            f"/patients/{self.pat.pk}/add/medication/",
            {"name": "Phenelzine", "dose": "45 mg", "is_maoi": "on"},
        )
        response = self.client.get(f"/patients/{self.pat.pk}/")
        self.assertContains(response, "Phenelzine")
        self.assertContains(response, "MAOI")

    def test_diagnosis_code_must_be_icd10(self) -> None:
        self.login(self.paula)
        response = self.client.post(
            f"/patients/{self.pat.pk}/add/diagnosis/",
            {"icd10_code": "depression", "description": "x"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("icd10_code", response.context["form"].errors)
        ok = self.client.post(
            f"/patients/{self.pat.pk}/add/diagnosis/",
            {"icd10_code": "f33.2", "description": "MDD, recurrent, severe"},
        )
        self.assertEqual(ok.status_code, 302)
        self.assertEqual(self.pat.diagnoses.get().icd10_code, "F33.2")

    def test_front_desk_sees_contacts_but_not_the_clinical_chart(self) -> None:
        self.login(self.alice)
        response = self.client.get(f"/patients/{self.pat.pk}/")
        self.assertContains(response, "555-0101")
        self.assertNotContains(response, "Current medications")

    def test_patients_cannot_use_staff_pages_even_for_their_own_record(self) -> None:
        self.login(self.pat_user)
        response = self.client.get(f"/patients/{self.pat.pk}/")
        self.assertEqual(response.status_code, 403)
        self.assertDenialsRecorded(f"/patients/{self.pat.pk}/")
        self.assertFalse(AuditEvent.objects.filter(action=Action.VIEW).exists())
