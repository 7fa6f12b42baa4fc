"""Coverage, eligibility and prior-authorization pages through HTTP: what is stored, who may,
and bad input refused with the field named and nothing stored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from katclinic.audit.models import AuditEvent
from katclinic.clinics.registry import set_setting
from katclinic.insurance.models import (
    AuthorizationDocument,
    AuthorizationUse,
    Coverage,
    EligibilityCheck,
    PriorAuthorization,
)
from katclinic.insurance.tests import factories as f
from katclinic.testing import ClinicTestCase

FIXTURES = Path(__file__).parent / "fixtures"


class CoveragePagesTest(ClinicTestCase):
    def url(self) -> str:
        return f"/insurance/patients/{self.pat.pk}/coverage/new/"

    def test_front_desk_adds_coverage_and_the_chart_tab_shows_it(self) -> None:
        self.login(self.alice)
        response = self.client.post(self.url(), f.coverage_post())
        self.assertEqual(response.status_code, 302)
        coverage = Coverage.objects.get(patient=self.pat)
        self.assertEqual(
            (coverage.clinic, coverage.member_id, coverage.postal_code, coverage.created_by),
            (self.clinic, "W123456789", "627011234", self.alice),
        )
        self.assertTrue(
            AuditEvent.objects.filter(
                object_type="insurance.coverage", object_id=str(coverage.pk), action="create"
            ).exists()
        )
        page = self.client.get(f"/insurance/patients/{self.pat.pk}/")
        self.assertContains(page, "Acme Health Plan")
        self.assertContains(page, "Member id W123456789, group GRP1")
        self.assertContains(page, "Insurance")

    def test_every_bad_field_is_named_and_nothing_is_stored(self) -> None:
        self.login(self.alice)
        bad = {
            "payer_name": "",
            "payer_id": "x" * 81,
            "member_id": "",
            "priority": "tertiary",
            "relationship": "cousin",
            "subscriber_first_name": "ok\x00",
            "subscriber_last_name": "",
            "subscriber_birth_date": "1985-13-45",
            "subscriber_sex": "X",
            "street": "x" * 56,
            "city": "",
            "state": "Illinois",
            "postal_code": "6270",
            "valid_from": "soon",
            "valid_to": "2024-01-01",
        }
        for field, value in bad.items():
            with self.subTest(field=field):
                response = self.client.post(self.url(), f.coverage_post(**{field: value}))
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
                self.assertFalse(Coverage.objects.exists())

    def test_editing_coverage_is_audited(self) -> None:
        coverage = f.coverage(self.pat, self.alice)
        self.login(self.adam)
        response = self.client.post(
            f"/insurance/coverage/{coverage.pk}/", f.coverage_post(member_id="W999")
        )
        self.assertEqual(response.status_code, 302)
        coverage.refresh_from_db()
        self.assertEqual(coverage.member_id, "W999")
        event = AuditEvent.objects.filter(object_type="insurance.coverage", action="update").get()
        self.assertEqual(event.detail["changed"], ["member_id", "plan_name"])

    def test_clinical_staff_and_other_clinics_are_refused_and_nothing_is_stored(self) -> None:
        for user, status in [(self.nick, 403), (self.paula, 403), (self.tara, 403)]:
            self.login(user)
            self.assertEqual(self.client.post(self.url(), f.coverage_post()).status_code, status)
        self.login(self.pat_user)
        self.assertEqual(self.client.post(self.url(), f.coverage_post()).status_code, 403)
        self.assertFalse(Coverage.objects.exists())
        other = f.coverage(self.stranger, self.oscar)
        self.login(self.alice)
        response = self.client.post(f"/insurance/coverage/{other.pk}/", f.coverage_post())
        self.assertEqual(response.status_code, 404)
        other.refresh_from_db()
        self.assertEqual(other.patient, self.stranger)


class EligibilityPagesTest(ClinicTestCase):
    def setUp(self) -> None:
        self.coverage = f.coverage(self.pat, self.alice)

    def set_up_clearinghouse(self) -> None:
        self.clinic.npi = "1234567893"
        self.clinic.save()
        for key, value in [
            ("insurance.submitter_id", "KATCLINIC"),
            ("insurance.receiver_id", "ACME"),
        ]:
            set_setting(clinic=self.clinic, key=key, raw=value, by=self.adam, reason="enrolment")

    def test_without_the_clearinghouse_ids_the_request_is_refused_with_a_reason(self) -> None:
        self.login(self.alice)
        url = f"/insurance/coverage/{self.coverage.pk}/eligibility/"
        response = self.client.post(url, {"service_date": "2026-01-05"})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "clearinghouse submitter and receiver ids", status_code=400)
        self.assertFalse(EligibilityCheck.objects.exists())

    def test_a_270_is_written_and_a_271_answer_is_read_into_words(self) -> None:
        self.set_up_clearinghouse()
        self.login(self.alice)
        url = f"/insurance/coverage/{self.coverage.pk}/eligibility/"
        response = self.client.post(url, {"service_date": "2026-01-05"})
        check = EligibilityCheck.objects.get()
        self.assertRedirects(response, f"/insurance/eligibility/{check.pk}/")
        self.assertEqual(check.trace_number, "E00000001")
        self.assertIn("ST*270*0001*005010X279A1~", check.request_file)
        self.assertIn("NM1*IL*1*DOE*PAT****MI*W123456789~", check.request_file)
        download = self.client.get(f"/insurance/eligibility/{check.pk}/file/")
        self.assertEqual(download.content.decode(), check.request_file)
        answer = (FIXTURES / "eligibility_active.271").read_text().replace("E000001", "E00000001")
        upload = SimpleUploadedFile("answer.271", answer.encode())
        response = self.client.post(
            f"/insurance/eligibility/{check.pk}/answer/", {"answer": upload}
        )
        self.assertEqual(response.status_code, 302)
        check.refresh_from_db()
        self.assertEqual((check.status, check.plan), ("active", "GOLD PPO"))
        self.assertIn(
            "Deductible, individual, $1,500.00, per calendar year, in network", check.benefits
        )
        page = self.client.get(f"/insurance/eligibility/{check.pk}/")
        self.assertContains(page, "Coverage active: GOLD PPO")

    def test_a_bad_or_foreign_answer_is_refused_naming_the_file(self) -> None:
        self.set_up_clearinghouse()
        self.login(self.alice)
        self.client.post(
            f"/insurance/coverage/{self.coverage.pk}/eligibility/", {"service_date": "2026-01-05"}
        )
        check = EligibilityCheck.objects.get()
        cases = [
            b"not x12",
            b"\xff\xfe binary",
            (FIXTURES / "eligibility_active.271").read_bytes(),  # another request's trace
            (FIXTURES / "era_kc000001.835").read_bytes(),
        ]
        for content in cases:
            with self.subTest(content=content[:20]):
                upload = SimpleUploadedFile("answer.271", content)
                response = self.client.post(
                    f"/insurance/eligibility/{check.pk}/answer/", {"answer": upload}
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn("answer", response.context["form"].errors)
                check.refresh_from_db()
                self.assertEqual((check.status, check.answer_file), ("sent", ""))


class AuthorizationPagesTest(ClinicTestCase):
    def setUp(self) -> None:
        self.coverage = f.coverage(self.pat, self.alice)

    def test_front_desk_records_an_approved_authorization(self) -> None:
        self.login(self.alice)
        url = f"/insurance/coverage/{self.coverage.pk}/authorizations/new/"
        response = self.client.post(url, f.authorization_post(codes="j0013 g2083"))
        auth = PriorAuthorization.objects.get()
        self.assertRedirects(response, f"/insurance/authorizations/{auth.pk}/")
        self.assertEqual(
            (auth.codes, auth.approved_units, auth.valid_to, auth.patient, auth.clinic),
            ("J0013, G2083", 50, date(2026, 6, 30), self.pat, self.clinic),
        )
        self.assertContains(
            self.client.get(f"/insurance/authorizations/{auth.pk}/"),
            "0 used of 50 approved, 50 left",
        )

    def test_every_bad_field_is_named_and_nothing_is_stored(self) -> None:
        self.login(self.alice)
        url = f"/insurance/coverage/{self.coverage.pk}/authorizations/new/"
        bad = {
            "codes": "J13, not-a-code",
            "status": "maybe",
            "number": "",  # approved needs a number
            "approved_units": "-1",
            "valid_from": "",
            "valid_to": "2025-01-01",
            "note": "x" * 2001,
        }
        for field, value in bad.items():
            with self.subTest(field=field):
                response = self.client.post(url, f.authorization_post(**{field: value}))
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
                self.assertFalse(PriorAuthorization.objects.exists())
        response = self.client.post(url, f.authorization_post(approved_units="0"))
        self.assertIn("approved_units", response.context["form"].errors)

    def test_units_used_are_appended_and_never_exceed_what_was_approved(self) -> None:
        auth = f.authorization(self.coverage, self.alice, approved_units=3)
        self.login(self.alice)
        url = f"/insurance/authorizations/{auth.pk}/units/"
        self.assertEqual(
            self.client.post(url, {"used_on": "2026-01-05", "units": "2"}).status_code, 302
        )
        for data, field in [
            ({"used_on": "2026-01-06", "units": "2"}, "units"),
            ({"used_on": "2026-01-06", "units": "0"}, "units"),
            ({"used_on": "2026-01-06", "units": "-1", "note": ""}, "note"),
            ({"used_on": "2026-01-06", "units": "-3", "note": "wrong"}, "units"),
            ({"used_on": "someday", "units": "1"}, "used_on"),
        ]:
            with self.subTest(data=data):
                response = self.client.post(url, data)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["use_form"].errors)
        self.assertEqual(list(AuthorizationUse.objects.values_list("units", flat=True)), [2])
        response = self.client.post(
            url, {"used_on": "2026-01-06", "units": "-1", "note": "double entry"}
        )
        self.assertEqual(response.status_code, 302)
        auth.refresh_from_db()
        self.assertEqual(auth.used_units, 1)
        # Approved units cannot drop below what is used.
        edit = self.client.post(
            f"/insurance/authorizations/{auth.pk}/edit/",
            f.authorization_post(approved_units="0", number="PA-1001"),
        )
        self.assertEqual(edit.status_code, 400)

    def test_documents_are_checked_for_type_and_size(self) -> None:
        auth = f.authorization(self.coverage, self.alice)
        self.login(self.alice)
        url = f"/insurance/authorizations/{auth.pk}/documents/"
        pdf = SimpleUploadedFile("letter.pdf", b"%PDF-1.4\n% approval\n")
        response = self.client.post(url, {"kind": "approval", "file": pdf})
        self.assertEqual(response.status_code, 302)
        document = AuthorizationDocument.objects.get()
        self.assertEqual(
            (document.content_type, document.original_name), ("application/pdf", "letter.pdf")
        )
        download = self.client.get(f"/insurance/documents/{document.pk}/")
        self.assertEqual(download.content, b"%PDF-1.4\n% approval\n")
        cases = [
            (
                {"kind": "approval", "file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf")},
                "file",
            ),
            ({"kind": "approval", "file": SimpleUploadedFile("x.pdf", b"")}, "file"),
            (
                {
                    "kind": "approval",
                    "file": SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024)),
                },
                "file",
            ),
            ({"kind": "poem", "file": SimpleUploadedFile("x.pdf", b"%PDF-1.4")}, "kind"),
        ]
        for data, field in cases:
            with self.subTest(field=field):
                response = self.client.post(url, data)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["document_form"].errors)
        self.assertEqual(AuthorizationDocument.objects.count(), 1)

    def test_clinical_staff_cannot_change_authorizations(self) -> None:
        auth = f.authorization(self.coverage, self.alice)
        self.login(self.nick)
        response = self.client.post(
            f"/insurance/authorizations/{auth.pk}/units/", {"used_on": "2026-01-05", "units": "1"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(AuthorizationUse.objects.exists())
