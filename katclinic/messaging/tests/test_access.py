"""Who may read and write messages: a patient only their own threads, staff only patients
of the active clinic and only in a role that handles messages; every read is audited."""

from __future__ import annotations

from django.urls import reverse

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.messaging.models import Message, ThreadRead
from katclinic.messaging.tests.base import MessagingTestCase


class PatientAccessTest(MessagingTestCase):
    def test_a_patient_lists_only_their_own_threads(self) -> None:
        self.patient_thread(subject="Pat's question")
        self.patient_thread(subject="Quinn's question", patient=self.quinn)
        self.login(self.pat_user)

        page = self.client.get(reverse("messaging:mine", args=[self.pat.pk]))

        self.assertContains(page, "Pat&#x27;s question")
        self.assertNotContains(page, "Quinn")

    def test_another_patients_thread_is_not_found_and_the_denial_recorded(self) -> None:
        theirs, _ = self.patient_thread(subject="Quinn's question", patient=self.quinn)
        self.login(self.pat_user)

        own_path = reverse("messaging:mine_thread", args=[self.pat.pk, theirs.pk])
        their_path = reverse("messaging:mine_thread", args=[self.quinn.pk, theirs.pk])

        self.assertEqual(self.client.get(own_path).status_code, 404)
        self.assertEqual(self.client.get(their_path).status_code, 404)
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.DENIED, object_id=own_path).exists()
        )

    def test_a_patient_cannot_reply_in_another_patients_thread(self) -> None:
        theirs, _ = self.patient_thread(patient=self.quinn)
        self.login(self.pat_user)

        answer = self.client.post(
            reverse("messaging:mine_reply", args=[self.pat.pk, theirs.pk]), {"body": "Hi"}
        )

        self.assertEqual(answer.status_code, 404)
        self.assertEqual(Message.objects.filter(thread=theirs).count(), 1)


class StaffAccessTest(MessagingTestCase):
    def test_another_clinics_staff_get_not_found(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.oscar)

        self.assertEqual(
            self.client.get(reverse("messaging:thread", args=[thread.pk])).status_code, 404
        )
        answer = self.client.post(reverse("messaging:reply", args=[thread.pk]), {"body": "Hi"})
        self.assertEqual(answer.status_code, 404)
        self.assertEqual(thread.messages.count(), 1)
        inbox = self.client.get(reverse("messaging:inbox"))
        self.assertNotContains(inbox, "Question")

    def test_front_desk_does_not_handle_messages(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.alice)

        self.assertEqual(self.client.get(reverse("messaging:inbox")).status_code, 403)
        self.assertEqual(
            self.client.get(reverse("messaging:thread", args=[thread.pk])).status_code, 403
        )
        answer = self.client.post(reverse("messaging:reply", args=[thread.pk]), {"body": "Hi"})
        self.assertEqual(answer.status_code, 403)
        self.assertEqual(thread.messages.count(), 1)

    def test_the_therapist_loses_the_thread_with_her_role(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.tara)
        path = reverse("messaging:thread", args=[thread.pk])
        self.assertEqual(self.client.get(path).status_code, 200)

        StaffMembership.objects.filter(user=self.tara, clinic=self.clinic).update(
            role=Role.FRONT_DESK
        )

        self.assertEqual(self.client.get(path).status_code, 403)
        answer = self.client.post(reverse("messaging:reply", args=[thread.pk]), {"body": "Hi"})
        self.assertEqual(answer.status_code, 403)
        self.assertEqual(thread.messages.count(), 1)

    def test_the_staff_nav_and_the_portal_link_lead_to_messages(self) -> None:
        self.login(self.tara)
        self.assertContains(self.client.get("/today/"), reverse("messaging:inbox"))
        self.login(self.alice)
        self.assertNotContains(self.client.get("/today/"), reverse("messaging:inbox"))
        self.login(self.pat_user)
        home = self.client.get(reverse("portal:home", args=[self.pat.pk]))
        self.assertContains(home, reverse("messaging:mine", args=[self.pat.pk]))


class AuditTest(MessagingTestCase):
    def views_of(self, obj: object) -> int:
        return AuditEvent.objects.filter(
            action=Action.VIEW,
            object_type=obj._meta.label_lower,  # type: ignore[attr-defined]
            object_id=str(obj.pk),  # type: ignore[attr-defined]
        ).count()

    def test_every_read_of_a_thread_is_audited_for_staff_and_patient(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.tara)
        self.client.get(reverse("messaging:thread", args=[thread.pk]))
        self.client.get(reverse("messaging:thread", args=[thread.pk]))
        self.login(self.pat_user)
        self.client.get(reverse("messaging:mine_thread", args=[self.pat.pk, thread.pk]))

        self.assertEqual(self.views_of(thread), 3)
        readers = set(
            AuditEvent.objects.filter(
                action=Action.VIEW, object_type="messaging.thread"
            ).values_list("user_id", flat=True)
        )
        self.assertEqual(readers, {self.tara.pk, self.pat_user.pk})

    def test_the_inbox_and_the_chart_tab_record_whose_messages_were_shown(self) -> None:
        self.patient_thread()
        self.login(self.tara)
        self.client.get(reverse("messaging:inbox"))
        self.client.get(reverse("messaging:chart_tab", args=[self.pat.pk]))

        listed = AuditEvent.objects.get(
            action=Action.VIEW, object_type="list", object_id="message inbox"
        )
        self.assertEqual(listed.detail["patients"], [self.pat.pk])
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.VIEW, patient_id=self.pat.pk, detail__section="message threads"
            ).exists()
        )

    def test_unread_marks_follow_reads(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.tara)
        inbox = self.client.get(reverse("messaging:inbox"), {"show": "unread"})
        self.assertContains(inbox, "Question")

        self.client.get(reverse("messaging:thread", args=[thread.pk]))

        self.assertTrue(ThreadRead.objects.filter(thread=thread, user=self.tara).exists())
        inbox = self.client.get(reverse("messaging:inbox"), {"show": "unread"})
        self.assertNotContains(inbox, "Question")
