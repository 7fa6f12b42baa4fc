"""The clinic dashboard: right figures, constant queries, per-role and per-clinic access."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.measures.models import Course
from katclinic.outcomes import services
from katclinic.outcomes.models import CourseOutcome
from katclinic.outcomes.tests import helpers as h
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase, json_block, make_user

URL = reverse("outcomes:dashboard")


class DashboardFiguresTest(ClinicTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # Three courses past the end of induction: pat responds and keeps it, quinn responds,
        # remits and loses response, a third never answers in the window.
        h.course(cls.pat, cls.paula, [(0, 20), (14, 9), (28, 8), (60, 9)])
        h.course(cls.quinn, cls.paula, [(0, 16), (7, 7), (27, 4), (45, 12)])
        third = cls.make_patient(cls.clinic, "Tom", "Third", "K000003")
        h.course(third, cls.paula, [(0, 18), (3, 17)])
        h.course(
            cls.stranger, cls.oscar, [(0, 20), (28, 2)]
        )  # clinic B: never in clinic A's figures
        services.refresh_courses(Course.objects.all())

    def test_it_shows_response_and_remission_with_wilson_intervals_and_n(self) -> None:
        self.login(self.paula)
        response = self.client.get(URL)
        self.assertEqual(response.status_code, 200)
        row = response.context["induction"][0]
        self.assertEqual(
            (row["instrument"], row["courses"], row["evaluable"], row["missing"]), ("phq9", 3, 2, 1)
        )
        self.assertEqual((row["responded"], row["remitted"]), (2, 1))
        self.assertAlmostEqual(row["response"]["lower"], 0.342, places=3)  # Wilson 2/2
        self.assertContains(response, "not like for like", status_code=200)
        self.assertContains(response, "ELEKT-D")

    def test_the_curve_blocks_hold_each_step_and_a_censored_tick(self) -> None:
        self.login(self.paula)
        page = self.client.get(URL)
        [curve] = json_block(page, "km-durability-phq9")
        points = curve["series"][0]["points"]
        self.assertEqual(
            [(p["x"], p["y"], p.get("tick", False)) for p in points],
            [(0, 1, False), (38, 0.5, False), (46, 0.5, True)],
        )
        self.assertEqual(curve["series"][0]["shape"], "step")
        self.assertEqual(curve["levels"], [{"y": 0.5, "label": "median", "kind": "reference"}])
        self.assertTrue(curve["y"]["percent"])
        self.assertIn("2 courses, 1 losses of response", curve["summary"])
        [first] = json_block(page, "km-ttr-phq9")
        self.assertEqual(first["x"]["unit"], "days")

    def test_durability_is_censored_at_the_last_score(self) -> None:
        self.login(self.paula)
        curve = self.client.get(URL).context["durability"]["phq9"]
        # pat: response day 14, still responding at day 60 (censored at 46 days);
        # quinn: response day 7, lost on day 45 (event at 38 days).
        self.assertEqual(
            [(s.time, s.events, s.censored) for s in curve["steps"]], [(38.0, 1, 0), (46.0, 0, 1)]
        )
        self.assertEqual(curve["steps"][0].survival, 0.5)

    def test_the_org_view_pools_the_clinics_a_director_oversees(self) -> None:
        director = make_user("dina@example.org", "Dina")
        for clinic in (self.clinic, self.other_clinic):
            StaffMembership.objects.create(user=director, clinic=clinic, role=Role.ADMIN)
        self.login(director)
        session = self.client.session
        session["active_clinic_id"] = self.clinic.pk
        session.save()
        org = self.client.get(URL + "?scope=org")
        self.assertTrue(org.context["scope"].is_org)
        self.assertEqual(org.context["induction"][0]["evaluable"], 3)
        self.assertEqual(self.client.get(URL).context["induction"][0]["evaluable"], 2)

    def test_a_prescriber_at_one_clinic_gets_no_org_view(self) -> None:
        self.login(self.paula)
        response = self.client.get(URL + "?scope=org")
        self.assertFalse(response.context["scope"].is_org)
        self.assertEqual(response.context["scope"].clinic_ids, [self.clinic.pk])

    def test_a_course_without_its_end_of_induction_score_is_on_the_prescribers_home(self) -> None:
        self.login(self.paula)
        home = self.client.get(reverse("core:worklist"))
        self.assertContains(home, "Tom Third")
        self.assertNotContains(home, "Quinn Roe")  # scored in the window
        self.login(self.nick)
        self.assertNotContains(
            self.client.get(reverse("core:worklist")), "end-of-induction scores missing"
        )

    def test_clinical_staff_without_outcome_access_are_refused(self) -> None:
        for user in (self.nick, self.tara, self.alice):
            self.login(user)
            self.assertEqual(self.client.get(URL).status_code, 403)
        self.assertDenialsRecorded(URL, 3)


class DashboardQueriesTest(ClinicTestCase):
    def add_courses(self, count: int) -> None:
        """`count` patients with a rolled-up course each, with every kind of figure present."""
        start = len(Patient.objects.all())
        patients = Patient.objects.bulk_create(
            Patient(
                clinic=self.clinic,
                mrn=f"Q{start + i:06d}",
                first_name="Q",
                last_name=f"P{i}",
                date_of_birth=date(1980, 1, 1),
            )
            for i in range(count)
        )
        courses = Course.objects.bulk_create(
            Course(
                clinic=self.clinic,
                patient=p,
                started_on=h.START - timedelta(days=i % 90),
                created_by=self.paula,
            )
            for i, p in enumerate(patients)
        )
        CourseOutcome.objects.bulk_create(
            CourseOutcome(
                clinic=self.clinic,
                patient_id=c.patient_id,
                course=c,
                instrument="phq9",
                route="iv",
                protocol_key="iv_ketamine_elektd",
                started_on=c.started_on,
                start_month=c.started_on.replace(day=1),
                baseline_total=20,
                days_to_response=10 + i % 20,
                responded_at=timezone.now() if i % 2 else None,
                durability_days=i % 30 if i % 2 else None,
                sessions_given=6,
                sessions_to_response=i % 2 * 4 or None,
                induction_days=28,
                induction_due_on=c.started_on + timedelta(days=35),
                induction_total=9,
                induction_responded=bool(i % 2),
                induction_remitted=i % 3 == 0,
                questionnaires_due=4,
                questionnaires_answered=3,
            )
            for i, c in enumerate(courses)
        )

    def queries_for_dashboard(self) -> int:
        with CaptureQueriesContext(connection) as captured:
            self.assertEqual(self.client.get(URL).status_code, 200)
        return len(captured)

    def test_its_query_count_does_not_grow_with_the_number_of_patients(self) -> None:
        self.login(self.paula)
        self.add_courses(5)
        small = self.queries_for_dashboard()
        self.add_courses(120)
        with self.assertNumQueries(small):
            response = self.client.get(URL)
        self.assertEqual(response.context["induction"][0]["evaluable"], 125)

    def test_a_repeat_view_reuses_the_figures_until_a_row_is_refreshed(self) -> None:
        self.login(self.paula)
        self.add_courses(5)
        first = self.queries_for_dashboard()
        self.assertLess(
            self.queries_for_dashboard(), first
        )  # one indexed query replaces the grouping
        self.add_courses(1)
        self.assertEqual(self.client.get(URL).context["induction"][0]["evaluable"], 6)


class OrgExportAuditTest(ClinicTestCase):
    def test_an_org_wide_export_is_recorded_in_every_clinics_chain(self) -> None:
        director = make_user("dora@example.org", "Dora")
        for clinic in (self.clinic, self.other_clinic):
            StaffMembership.objects.create(user=director, clinic=clinic, role=Role.ADMIN)
        self.login(director)
        session = self.client.session
        session["active_clinic_id"] = self.clinic.pk
        session.save()
        url = reverse("outcomes:dashboard_csv", kwargs={"table": "started"})
        response = self.client.get(url + "?scope=org")
        self.assertEqual(response.status_code, 200)
        events = AuditEvent.objects.filter(
            action=Action.EXPORT, object_type="outcomes.dashboard", user=director
        )
        self.assertEqual(
            sorted(events.values_list("clinic_id", flat=True)),
            sorted([self.clinic.pk, self.other_clinic.pk]),
        )
