"""Attachments within the clinic's type and size limits, bad input refused naming the
field with nothing changed, and hiding a message that is never deleted."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from django.urls import reverse

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.export import export_clinic
from katclinic.clinics.registry import set_setting
from katclinic.messaging.models import Attachment, Message, Thread
from katclinic.messaging.tests.base import PDF, PNG, MessagingTestCase, upload


class AttachmentTest(MessagingTestCase):
    def post_new(self, **data: object) -> Any:
        self.login(self.pat_user)
        fields = {"subject": "My letter", "body": "Here is the letter.", **data}
        return self.client.post(reverse("messaging:mine_new", args=[self.pat.pk]), fields)

    def test_a_pdf_is_stored_and_both_sides_can_open_it_and_each_read_is_audited(self) -> None:
        answer = self.post_new(file=upload())

        self.assertEqual(answer.status_code, 302)
        stored = Attachment.objects.get()
        self.assertEqual((stored.content_type, stored.size), ("application/pdf", len(PDF)))
        mine = self.client.get(reverse("messaging:mine_attachment", args=[self.pat.pk, stored.pk]))
        self.assertEqual(mine.content, PDF)
        self.login(self.tara)
        theirs = self.client.get(reverse("messaging:attachment", args=[stored.pk]))
        self.assertEqual(theirs.content, PDF)
        reads = AuditEvent.objects.filter(
            action=Action.VIEW, object_type="messaging.attachment", object_id=str(stored.pk)
        )
        self.assertEqual(reads.count(), 2)

    def test_a_file_that_is_not_pdf_png_or_jpeg_is_refused_naming_the_field(self) -> None:
        answer = self.post_new(file=upload("notes.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))

        self.assertEqual(answer.status_code, 400)
        self.assertEqual(list(answer.context["form"].errors), ["file"])
        self.assertContains(answer, "Attach a PDF, PNG or JPEG file.", status_code=400)
        self.assertFalse(Thread.objects.exists())
        self.assertFalse(Attachment.objects.exists())

    def test_a_file_over_the_clinics_limit_is_refused(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="messaging_attachment_max_mb",
            raw="1",
            by=self.adam,
            reason="Small server",
        )
        big = PNG + b"\x00" * (1024 * 1024)

        answer = self.post_new(file=upload("scan.png", big, "image/png"))

        self.assertEqual(answer.status_code, 400)
        self.assertEqual(list(answer.context["form"].errors), ["file"])
        self.assertContains(answer, "larger than 1 MB", status_code=400)
        self.assertFalse(Message.objects.exists())
        self.assertEqual(self.post_new(file=upload("scan.png", PNG, "image/png")).status_code, 302)

    def test_a_staff_reply_with_a_bad_file_changes_nothing(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.tara)

        answer = self.client.post(
            reverse("messaging:reply", args=[thread.pk]),
            {"body": "See attached", "file": upload("x.pdf", b"plain text", "application/pdf")},
        )

        self.assertEqual(answer.status_code, 400)
        self.assertIn("file", answer.context["reply_form"].errors)
        self.assertEqual(thread.messages.count(), 1)
        thread.refresh_from_db()
        self.assertIsNotNone(thread.waiting_since)


class BadInputTest(MessagingTestCase):
    def test_the_patient_forms_refuse_missing_long_and_unstorable_text(self) -> None:
        self.login(self.pat_user)
        url = reverse("messaging:mine_new", args=[self.pat.pk])
        cases = [
            ({"subject": "", "body": "Hi"}, "subject"),
            ({"subject": "Hi", "body": "   "}, "body"),
            ({"subject": "x" * 121, "body": "Hi"}, "subject"),
            ({"subject": "Hi", "body": "x" * 5001}, "body"),
            ({"subject": "Hi", "body": "a\x00b"}, "body"),
        ]
        for data, field in cases:
            with self.subTest(field=field, data=str(data)[:40]):
                answer = self.client.post(url, data)
                self.assertEqual(answer.status_code, 400)
                self.assertIn(field, answer.context["form"].errors)
        self.assertFalse(Thread.objects.exists())

    def test_the_patient_reply_refuses_an_empty_message(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.pat_user)

        answer = self.client.post(
            reverse("messaging:mine_reply", args=[self.pat.pk, thread.pk]), {"body": ""}
        )

        self.assertEqual(answer.status_code, 400)
        self.assertIn("body", answer.context["form"].errors)
        self.assertEqual(thread.messages.count(), 1)

    def test_staff_forms_refuse_bad_input_naming_the_field(self) -> None:
        thread, message = self.patient_thread()
        self.login(self.tara)
        cases = [
            (
                reverse("messaging:start", args=[self.pat.pk]),
                {"subject": "", "body": "x"},
                "subject",
            ),
            (reverse("messaging:reply", args=[thread.pk]), {"body": ""}, "body"),
            (reverse("messaging:assign", args=[thread.pk]), {"assignee": "abc"}, "assignee"),
            (
                reverse("messaging:assign", args=[thread.pk]),
                {"assignee": str(self.alice.pk)},
                "assignee",
            ),
            (reverse("messaging:assign", args=[thread.pk]), {"assignee": "9" * 30}, "assignee"),
            (reverse("messaging:hide", args=[message.pk]), {"reason": ""}, "reason"),
        ]
        for url, data, _field in cases:
            with self.subTest(url=url, data=data):
                answer = self.client.post(url, data)
                self.assertEqual(answer.status_code, 400)
                self.assertContains(answer, "errorlist", status_code=400)
        thread.refresh_from_db()
        message.refresh_from_db()
        self.assertIsNone(thread.assigned_to)
        self.assertFalse(message.hidden_from_patient)
        self.assertEqual(Thread.objects.count(), 1)
        self.assertEqual(Message.objects.count(), 1)

    def test_the_inbox_filters_and_patient_finder_refuse_unknown_values(self) -> None:
        self.login(self.tara)
        for params in ({"show": "everything"}, {"assigned": "\x00"}):
            with self.subTest(params=params):
                answer = self.client.get(reverse("messaging:inbox"), params)
                self.assertEqual(answer.status_code, 400)
                self.assertContains(answer, "Select a valid choice", status_code=400)
        unknown = self.client.get(reverse("messaging:find_patient"), {"mrn": "K999999"})
        self.assertContains(unknown, "No patient of this clinic", status_code=400)
        other = self.client.get(reverse("messaging:find_patient"), {"mrn": self.stranger.mrn})
        self.assertRedirects(
            other, reverse("messaging:start", args=[self.pat.pk]), fetch_redirect_response=False
        )

    def test_assignment_and_the_waiting_filter(self) -> None:
        waiting, _ = self.patient_thread(subject="Waiting one")
        answered, _ = self.patient_thread(subject="Answered one")
        self.login(self.tara)
        self.client.post(reverse("messaging:reply", args=[answered.pk]), {"body": "Done"})
        self.client.post(reverse("messaging:assign", args=[waiting.pk]), {"assignee": self.nick.pk})

        waiting.refresh_from_db()
        self.assertEqual(waiting.assigned_to, self.nick)
        page = self.client.get(reverse("messaging:inbox"), {"show": "waiting"})
        self.assertContains(page, "Waiting one")
        self.assertNotContains(page, "Answered one")
        mine = self.client.get(reverse("messaging:inbox"), {"assigned": "me"})
        self.assertNotContains(mine, "Waiting one")


class HideTest(MessagingTestCase):
    def test_a_hidden_message_leaves_the_patients_view_and_stays_in_the_record(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.tara)
        self.client.post(reverse("messaging:reply", args=[thread.pk]), {"body": "Meant for Quinn"})
        sent = Message.objects.get(body="Meant for Quinn")

        answer = self.client.post(
            reverse("messaging:hide", args=[sent.pk]), {"reason": "Sent to the wrong patient"}
        )

        self.assertEqual(answer.status_code, 302)
        sent.refresh_from_db()
        self.assertTrue(sent.hidden_from_patient)
        self.assertEqual(sent.hidden_by, self.tara)
        staff_page = self.client.get(reverse("messaging:thread", args=[thread.pk]))
        self.assertContains(staff_page, "Meant for Quinn")
        self.assertContains(staff_page, "Sent to the wrong patient")
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.UPDATE, object_type="messaging.message", object_id=str(sent.pk)
            ).exists()
        )
        self.login(self.pat_user)
        page = self.client.get(reverse("messaging:mine_thread", args=[self.pat.pk, thread.pk]))
        self.assertNotContains(page, "Meant for Quinn")
        self.assertEqual(Message.objects.filter(thread=thread).count(), 2)

    def test_a_hidden_messages_attachment_is_gone_for_the_patient_only(self) -> None:
        self.login(self.pat_user)
        self.client.post(
            reverse("messaging:mine_new", args=[self.pat.pk]),
            {"subject": "Letter", "body": "Attached", "file": upload()},
        )
        stored = Attachment.objects.get()
        self.login(self.tara)
        self.client.post(
            reverse("messaging:hide", args=[stored.message_id]), {"reason": "Wrong file"}
        )

        staff = self.client.get(reverse("messaging:attachment", args=[stored.pk]))
        self.assertEqual(staff.status_code, 200)
        self.assertTrue(staff.has_header("Content-Disposition"))
        self.login(self.pat_user)
        mine = self.client.get(reverse("messaging:mine_attachment", args=[self.pat.pk, stored.pk]))
        self.assertEqual(mine.status_code, 404)
        stored.message.refresh_from_db()
        self.assertTrue(stored.message.hidden_from_patient)
        self.assertFalse(mine.has_header("Content-Disposition"))

    def test_hiding_twice_is_refused(self) -> None:
        _, message = self.patient_thread()
        self.login(self.tara)
        url = reverse("messaging:hide", args=[message.pk])
        self.client.post(url, {"reason": "Duplicate"})

        answer = self.client.post(url, {"reason": "Again"})

        self.assertContains(answer, "already hidden", status_code=400)
        message.refresh_from_db()
        self.assertEqual(message.hidden_reason, "Duplicate")


class ExportTest(MessagingTestCase):
    def test_the_clinic_export_carries_threads_messages_and_attachments(self) -> None:
        self.login(self.pat_user)
        self.client.post(
            reverse("messaging:mine_new", args=[self.pat.pk]),
            {"subject": "Letter", "body": "Exported words", "file": upload()},
        )
        stored = Attachment.objects.get()

        with export_clinic(clinic=self.clinic, by=self.adam) as exported:
            archive = zipfile.ZipFile(io.BytesIO(exported.read()))

        names = archive.namelist()
        rows = archive.read("tables/messaging.message.jsonl").decode().splitlines()
        self.assertEqual([json.loads(r)["body"] for r in rows], ["Exported words"])
        self.assertIn("tables/messaging.thread.jsonl", names)
        self.assertIn(f"attachments/messaging.attachment/file/{stored.file.name}", names)
        self.assertEqual(
            archive.read(f"attachments/messaging.attachment/file/{stored.file.name}"), PDF
        )
