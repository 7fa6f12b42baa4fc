"""The session page as the nurse at the chair uses it: the planned dose and next checkpoint at
the top and pre-filled, the booked chair, allergies and flags, and a confirmation per action."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services
from katclinic.dosing.models import Administration, DosingSession
from katclinic.dosing.tests import factories as f
from katclinic.patients.models import Allergy, Medication
from katclinic.scheduling.models import Appointment, Chair, Room
from katclinic.testing import ClinicTestCase

IV: dict[str, Any] = {"key": "iv_ketamine_elektd", "dose": "35", "low": "30", "high": "40"}


def field_value(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag is not None, name
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def selected_option(html: str, name: str) -> str:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, name
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else ""


class ChairScreenTest(ClinicTestCase):
    def page(self, sess: DosingSession) -> str:
        self.login(self.nick)
        response = self.client.get(reverse("dosing:session", args=[sess.pk]))
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_the_planned_dose_is_shown_and_fills_the_dose_form(self) -> None:
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, **IV)
        html = self.page(sess)
        self.assertIn("Planned dose", html)
        self.assertIn('chair-big">35 mg<', html)
        self.assertEqual(Decimal(field_value(html, "dose_mg")), Decimal("35"))
        self.assertIn("given 0 mg, 35 mg to go", html)

    def test_a_device_product_fills_one_device_at_a_time(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=20))
        services.record_administration(
            session=sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=10),
            by=self.nick,
        )
        html = self.page(sess)
        self.assertIn('chair-big">56 mg<', html)
        self.assertIn("given 28 mg, 28 mg to go", html)
        self.assertEqual(Decimal(field_value(html, "dose_mg")), Decimal("28"))

    def test_the_next_due_checkpoint_and_the_time_now_fill_a_new_reading(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=55))
        services.record_administration(
            session=sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=41),
            by=self.nick,
        )
        before = timezone.localtime().replace(second=0, microsecond=0)
        html = self.page(sess)
        self.assertEqual(selected_option(html, "label"), "about 40 minutes")
        self.assertRegex(html, r'chair-big">about 40 minutes<')
        taken = datetime.strptime(field_value(html, "taken_at"), "%Y-%m-%dT%H:%M").replace(
            tzinfo=before.tzinfo
        )
        self.assertLessEqual(abs((taken - before).total_seconds()), 60)
        self.assertIn("data-clinic-offset", html)

    def test_before_the_first_dose_the_next_reading_is_the_first_not_taken(self) -> None:
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        html = self.page(sess)
        # The pre-dose reading was taken at the checks, so the next one is the 40-minute one.
        self.assertEqual(selected_option(html, "label"), "about 40 minutes")
        self.assertIn("timed from the first dose", html)

    def test_the_chair_comes_from_the_booking(self) -> None:
        room = Room.objects.create(clinic=self.clinic, name="Suite 2")
        chair = Chair.objects.create(clinic=self.clinic, room=room, name="Recliner B")
        start = timezone.now() + timedelta(hours=1)
        booking = Appointment.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            kind="dosing",
            staff=self.nick,
            chair=chair,
            start=start,
            end=start + timedelta(hours=2),
            created_by=self.alice,
        )
        f.consent(self.pat, self.nick)
        plan = f.signed_plan(self.pat, self.paula)
        self.login(self.nick)
        form_page = self.client.get(reverse("dosing:create_session", args=[self.pat.pk]))
        self.assertEqual(
            selected_option(form_page.content.decode(), "appointment"), str(booking.pk)
        )
        response = self.client.post(
            reverse("dosing:create_session", args=[self.pat.pk]),
            {"plan": plan.pk, "appointment": booking.pk, "chair": "Hallway"},
        )
        self.assertEqual(response.status_code, 302)
        sess = DosingSession.objects.get()
        self.assertEqual(sess.chair, "Recliner B")
        html = self.page(sess)
        self.assertIn("Suite 2 / Recliner B", html)
        self.assertIn("from the booking", html)

    def test_allergies_and_flags_are_in_the_header(self) -> None:
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        Allergy.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            recorded_by=self.paula,
            substance="Penicillin",
            reaction="hives",
            severity="moderate",
        )
        Medication.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            recorded_by=self.paula,
            name="Lorazepam",
            is_benzodiazepine=True,
        )
        html = self.page(sess)
        self.assertIn("Penicillin (hives, moderate)", html)
        self.assertIn("Lorazepam: benzodiazepine", html)
        other = f.ready_to_dose(self.quinn, self.paula, self.nick)
        self.assertIn("none recorded", self.page(other))

    def test_each_action_is_confirmed(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        self.login(self.nick)
        now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        response = self.client.post(
            reverse("dosing:administer", args=[sess.pk]),
            {"lot": lot.pk, "dose_mg": "28", "started_at": now},
        )
        self.assertEqual(response.status_code, 302, response.content.decode()[-3000:])
        response = self.client.get(response["Location"])
        self.assertContains(response, "Dose recorded: 28 mg at")
        self.assertEqual(Administration.objects.filter(session=sess).count(), 1)
        response = self.client.post(reverse("dosing:finish_dosing", args=[sess.pk]), follow=True)
        self.assertContains(response, "Dosing finished; monitoring has started.")
        _, raised = mon.record_checkpoint(
            session=sess,
            label="about 40 minutes",
            taken_at=timezone.now(),
            values={"systolic": 190, "diastolic": 100},
            by=self.nick,
        )
        self.assertTrue(raised)
        response = self.client.post(
            reverse("dosing:acknowledge", args=[raised[0].pk]),
            {"note": "Rechecked; prescriber told"},
            follow=True,
        )
        self.assertContains(response, "Alert acknowledged")
        response = self.client.post(
            reverse("dosing:checkpoint", args=[sess.pk]),
            {"label": "completion", "taken_at": now, "systolic": "130", "diastolic": "80"},
            follow=True,
        )
        self.assertContains(response, "Reading recorded: completion at")
