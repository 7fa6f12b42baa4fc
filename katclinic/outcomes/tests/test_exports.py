"""Exports: PDF reports, dashboard CSV and the de-identified research export, each audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from django.urls import reverse

from katclinic.audit.models import Action, AuditEvent
from katclinic.dosing.models import SupportNote
from katclinic.measures.models import Course
from katclinic.outcomes import services
from katclinic.outcomes.exports import research_secret
from katclinic.outcomes.tests import helpers as h
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase, json_block


class PdfReportTest(ClinicTestCase):
    course: Course

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        plan = h.plan(cls.pat, cls.paula)
        cls.course = h.course(cls.pat, cls.paula, [(0, 21), (7, 17), (14, 13)])
        h.dosed(plan, cls.nick, h.on(2), peak=(171, 99), side_effect="nausea")

    def test_the_progress_report_is_a_pdf_with_the_patients_scores(self) -> None:
        self.login(self.paula)
        response = self.client.get(reverse("outcomes:progress_pdf", args=[self.pat.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/pdf")
        body = response.content
        self.assertTrue(body.startswith(b"%PDF"))
        for text in (
            b"Pat Doe",
            b"Treatment progress report",
            b"(21)",
            b"(17)",
            b"(13)",
            b"171/99",
            b"Nausea",
        ):
            self.assertIn(text, body)
        event = AuditEvent.objects.get(action=Action.EXPORT)
        self.assertEqual(
            (event.patient_id, event.detail["export"]), (self.pat.pk, "progress_report_pdf")
        )

    def test_the_complete_record_holds_demographics_and_every_response(self) -> None:
        self.login(self.adam)
        response = self.client.get(reverse("outcomes:record_pdf", args=[self.pat.pk]))
        self.assertTrue(response.content.startswith(b"%PDF"))
        for text in (
            b"Health record",
            b"K000001",
            b"555-0101",
            b"(21)",
            b"(13)",
            b"Ketamine 10 mg/mL",
        ):
            self.assertIn(text, response.content)
        self.assertEqual(
            AuditEvent.objects.get(action=Action.EXPORT).detail["purpose"], "right of access"
        )

    def test_another_clinics_patient_is_not_found_and_nothing_is_exported(self) -> None:
        self.login(self.oscar)
        response = self.client.get(reverse("outcomes:record_pdf", args=[self.pat.pk]))
        self.assertEqual(response.status_code, 404)
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())

    def test_a_nurse_may_see_progress_but_not_export_it(self) -> None:
        self.login(self.nick)
        page = self.client.get(reverse("outcomes:progress", args=[self.pat.pk]))
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, 'id="progress-data"')
        self.assertNotContains(page, reverse("outcomes:progress_pdf", args=[self.pat.pk]))
        self.assertEqual(
            self.client.get(reverse("outcomes:progress_pdf", args=[self.pat.pk])).status_code, 403
        )
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())

    def test_the_progress_chart_block_marks_sessions_and_the_response_levels(self) -> None:
        self.login(self.paula)
        page = self.client.get(reverse("outcomes:progress", args=[self.pat.pk]))
        self.assertContains(page, 'data-chart="progress-data"')
        [phq9] = json_block(page, "progress-data")
        self.assertEqual([p["y"] for p in phq9["series"][0]["points"]], [21, 17, 13])
        self.assertEqual(
            {level["kind"]: level["y"] for level in phq9["levels"]},
            {"response": 10.5, "remission": 5},
        )
        [session] = phq9["markers"]
        self.assertEqual(session["label"], "171/99")
        self.assertIn("peak BP 171/99", session["note"])
        self.assertIn("Nausea", session["note"])
        # One time axis from the first score to the last, the session inside it.
        self.assertEqual(phq9["x"]["min"][:10], "2026-03-02")
        self.assertEqual(phq9["x"]["max"][:10], "2026-03-16")

    def test_the_progress_page_writes_one_view_event_and_carries_the_chart_data(self) -> None:
        self.login(self.paula)
        page = self.client.get(reverse("outcomes:progress", args=[self.pat.pk]))
        chart = page.context["progress"].chart
        self.assertEqual([p["total"] for p in chart["series"]["phq9"]["points"]], [21, 17, 13])
        self.assertEqual(chart["sessions"][0]["bp"], "171/99")
        self.assertEqual(chart["thresholds"]["response"]["value"], 10.5)
        self.assertEqual(chart["thresholds"]["remission"]["value"], 5)
        self.assertEqual(
            AuditEvent.objects.filter(action=Action.VIEW, patient_id=self.pat.pk).count(), 1
        )


class DashboardCsvTest(ClinicTestCase):
    def test_a_dashboard_table_downloads_as_csv_and_is_audited(self) -> None:
        h.course(self.pat, self.paula, [(0, 20), (28, 4)])
        services.refresh_courses(Course.objects.all())
        self.login(self.adam)
        response = self.client.get(reverse("outcomes:dashboard_csv", args=["induction"]))
        self.assertEqual(response.status_code, 200)
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        self.assertEqual(len(rows), 1)
        self.assertEqual(
            (rows[0]["instrument"], rows[0]["evaluable"], rows[0]["responded"]), ("phq9", "1", "1")
        )
        self.assertEqual(rows[0]["response_pct"], "100.0")
        event = AuditEvent.objects.get(action=Action.EXPORT)
        self.assertEqual(
            (event.object_id, event.detail["rows"], event.detail["clinics"]),
            ("induction", 1, [self.clinic.pk]),
        )

    def test_every_table_exports(self) -> None:
        self.login(self.paula)
        for table in (
            "started",
            "induction",
            "time-to-response",
            "durability",
            "safety",
            "comparison",
        ):
            response = self.client.get(reverse("outcomes:dashboard_csv", args=[table]))
            self.assertEqual(response.status_code, 200, table)
        self.assertIn("Anand A", response.content.decode())
        self.assertEqual(AuditEvent.objects.filter(action=Action.EXPORT).count(), 6)

    def test_an_unknown_table_is_not_found(self) -> None:
        self.login(self.paula)
        response = self.client.get(reverse("outcomes:dashboard_csv", args=["patients"]))
        self.assertEqual(response.status_code, 404)
        self.assertNotEqual(response.get("Content-Type"), "text/csv")
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())


class ResearchExportTest(ClinicTestCase):
    IDENTIFIERS = (
        "Zebulon",
        "Quackenbush",
        "Zeb",
        "77 Wintergreen Lane",
        "Concord",
        "03301",
        "603-555-0199",
        "zeb.q@example.net",
        "K009999",
        "Harriet Quackenbush",
        "603-555-0123",
        "1931-06-15",
    )

    zeb: Patient

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.zeb = Patient.objects.create(
            clinic=cls.clinic,
            mrn="K009999",
            first_name="Zebulon",
            last_name="Quackenbush",
            preferred_name="Zeb",
            date_of_birth=date(1931, 6, 15),
            sex_at_birth="male",
            email="zeb.q@example.net",
            phone="603-555-0199",
            address="77 Wintergreen Lane, Concord, NH 03301",
            emergency_contact_name="Harriet Quackenbush",
            emergency_contact_phone="603-555-0123",
        )
        h.research_consent(cls.zeb, cls.nick)
        h.research_consent(cls.quinn, cls.nick, withdrawn=True)
        plan = h.plan(cls.zeb, cls.paula)
        h.course(cls.zeb, cls.paula, [(0, 19), (10, 8)])
        h.course(cls.pat, cls.paula, [(0, 12)])  # no research consent at all
        session = h.dosed(plan, cls.nick, h.on(1))
        SupportNote.objects.create(
            clinic=cls.clinic,
            patient=cls.zeb,
            session=session,
            kind="integration",
            integration="Zebulon talked about his garden on Wintergreen Lane",
            author=cls.tara,
        )

    def export(self, **data: str) -> list[dict]:
        self.login(self.paula)
        response = self.client.post(reverse("outcomes:research_export"), {"confirm": "on", **data})
        self.assertEqual(response.status_code, 200)
        self.body = response.content.decode()
        return [json.loads(line) for line in self.body.splitlines()]

    def test_only_consented_patients_are_exported_and_no_identifier_survives(self) -> None:
        records = self.export()
        self.assertEqual(len(records), 1)  # pat never consented; quinn withdrew
        for identifier in self.IDENTIFIERS:
            self.assertNotIn(identifier, self.body)
        record = records[0]
        self.assertEqual(
            record["patient"], {"sex": "male", "state": None, "zip3": "033", "age": "90+"}
        )
        self.assertEqual([s["total"] for s in record["scores"]], [19, 8])
        self.assertNotIn("notes", record)

    def test_dates_are_shifted_consistently_so_intervals_survive(self) -> None:
        first = self.export()[0]
        days = [date.fromisoformat(s["date"][:10]) for s in first["scores"]]
        self.assertEqual(days[1] - days[0], timedelta(days=10))
        self.assertNotEqual(days[0], h.START)
        self.assertEqual(self.export()[0], first)  # same research id and shift every time
        self.assertEqual(len(research_secret()), 32)

    def test_free_text_comes_only_when_chosen_and_scrubbed(self) -> None:
        record = self.export(include_free_text="on")[0]
        self.assertEqual(len(record["notes"]), 1)
        self.assertIn("garden", record["notes"][0]["text"])
        self.assertNotIn("Zebulon", self.body)
        self.assertNotIn("Wintergreen", self.body)

    def test_the_export_is_audited_once_with_its_size(self) -> None:
        self.export()
        event = AuditEvent.objects.get(action=Action.EXPORT)
        self.assertEqual(
            (event.object_type, event.detail["patients"], event.detail["free_text"]),
            ("outcomes.research", 1, False),
        )

    def test_without_the_confirmation_nothing_is_exported(self) -> None:
        self.login(self.paula)
        response = self.client.post(reverse("outcomes:research_export"), {})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())

    def test_a_nurse_cannot_export_research_data(self) -> None:
        self.login(self.nick)
        self.assertEqual(
            self.client.post(reverse("outcomes:research_export"), {"confirm": "on"}).status_code,
            403,
        )
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())
