"""Patients booking, moving and cancelling their own visits from the portal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.clinics.models import ClinicSetting
from katclinic.protocols.tests import fixtures as plan_fixtures
from katclinic.scheduling import selfbook, services
from katclinic.scheduling.models import Appointment, State
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase


def setting(t: Any, key: str, value: Any) -> None:
    ClinicSetting.objects.update_or_create(
        clinic=t.clinic, key=key, defaults={"value": value, "changed_by": t.adam}
    )


def local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


class SelfBookingTest(ClinicTestCase):
    def setUp(self) -> None:
        fixtures.chairs(self)
        self.pat.email = "pat@example.org"
        self.pat.save(update_fields=["email"])
        self.login(self.pat_user)
        self.url = reverse("scheduling:my_book", args=[self.pat.pk])

    def book(self, kind: str, start: datetime | str) -> Any:
        value = start if isinstance(start, str) else local(start)
        return self.client.post(self.url, {"kind": kind, "start": value})

    def test_patient_books_an_offered_integration_session_with_the_therapist(self) -> None:
        page = self.client.get(self.url, {"kind": "integration"})
        self.assertContains(page, "Book this time")
        self.assertContains(page, "24 hours")
        offer = selfbook.offers(patient=self.pat, kind="integration", start_on=None)[0]
        self.assertGreaterEqual(offer.start, timezone.now() + timedelta(hours=24))
        with self.captureOnCommitCallbacks(execute=True):
            response = self.book("integration", offer.start)
        self.assertRedirects(response, reverse("portal:appointments", args=[self.pat.pk]))
        booked = Appointment.objects.get(patient=self.pat)
        self.assertEqual(
            (booked.kind, booked.staff, booked.start), ("integration", self.tara, offer.start)
        )
        self.assertEqual(booked.created_by, self.pat_user)
        self.assertTrue(booked.reminders.exists())
        self.assertEqual(mail.outbox[-1].to, ["pat@example.org"])
        self.assertTrue(
            AuditEvent.objects.filter(
                action="create", object_id=str(booked.pk), user_id=self.pat_user.pk
            ).exists()
        )

    def test_a_time_outside_opening_hours_is_refused(self) -> None:
        evening = fixtures.at(self, 14, 20)
        response = self.book("integration", evening)
        self.assertContains(response, "That time is not open", status_code=400)
        saturday = fixtures.at(self, 12, 10)
        self.assertContains(self.book("integration", saturday), "not open", status_code=400)
        self.assertFalse(Appointment.objects.exists())

    def test_a_time_inside_the_notice_period_is_refused(self) -> None:
        soon = timezone.now() + timedelta(hours=3)
        response = self.book("integration", soon)
        self.assertContains(response, "at least 24 hours ahead", status_code=400)
        self.assertFalse(Appointment.objects.exists())
        # With no notice period, the same rule no longer stands in the way of a later time.
        setting(self, "scheduling_online_booking_notice_hours", 0)
        first = selfbook.offers(patient=self.pat, kind="integration", start_on=None)[0]
        self.assertLess(first.start, timezone.now() + timedelta(days=4))

    def test_staff_leave_and_closures_remove_times(self) -> None:
        offer = selfbook.offers(patient=self.pat, kind="integration", start_on=None)[0]
        day = timezone.localtime(offer.start).date()
        self.tara.leave.create(clinic=self.clinic, starts_on=day, ends_on=day)
        response = self.book("integration", offer.start)
        self.assertContains(response, "not open", status_code=400)
        offers = selfbook.offers(patient=self.pat, kind="integration", start_on=day)
        self.assertTrue(all(timezone.localtime(o.start).date() != day for o in offers))
        self.assertFalse(Appointment.objects.exists())

    def test_kinds_the_clinic_does_not_allow_online_are_refused(self) -> None:
        setting(self, "scheduling_online_booking_kinds", "integration")
        start = fixtures.at(self, 14, 10)
        response = self.book("consultation", start)
        self.assertContains(response, "Kind of visit", status_code=400)
        self.assertFalse(Appointment.objects.exists())
        page = self.client.get(self.url)
        self.assertNotContains(page, 'value="consultation"')

    def test_bad_input_names_the_field_and_changes_nothing(self) -> None:
        cases = [
            (self.client.get(self.url, {"kind": "surgery"}), "kind"),
            (self.client.get(self.url, {"kind": "integration", "from": "2026-13-45"}), "from"),
            (self.client.get(self.url, {"kind": "integration", "from": "9999-12-29"}), "from"),
            (self.book("integration", "9999-12-31T10:00"), "Time"),
            (self.book("integration", "next tuesday"), "Time"),
            (self.book("", "2030-01-01T10:00"), "Kind of visit"),
        ]
        for response, field in cases:
            self.assertContains(response, field, status_code=400)
        visit = fixtures.appointment(self, kind="integration")
        url = reverse("scheduling:my_visit", args=[self.pat.pk, visit.pk])
        self.assertContains(self.client.post(url, {"action": "explode"}), "action", status_code=400)
        response = self.client.post(url, {"action": "move", "start": "soon"})
        self.assertContains(response, "New time", status_code=400)
        self.assertEqual(Appointment.objects.filter(state=State.BOOKED).count(), 1)

    def test_patient_cancels_and_moves_their_own_visit_inside_the_policy(self) -> None:
        visit = fixtures.appointment(self, kind="integration")
        url = reverse("scheduling:my_visit", args=[self.pat.pk, visit.pk])
        self.assertContains(self.client.get(url), "Move to this time")
        target = selfbook.offers(
            patient=self.pat, kind="integration", start_on=None, exclude=visit.pk
        )[0]
        response = self.client.post(url, {"action": "move", "start": local(target.start)})
        self.assertEqual(response.status_code, 302)
        visit.refresh_from_db()
        self.assertEqual(visit.start, target.start)
        self.client.post(url, {"action": "cancel"})
        visit.refresh_from_db()
        self.assertEqual(visit.state, State.CANCELLED)
        self.assertIn("patient", visit.cancel_reason)

    def test_cancelling_inside_the_policy_window_is_refused(self) -> None:
        visit = fixtures.appointment(self, kind="integration")  # two weeks or more ahead
        start = visit.start
        setting(self, "scheduling_online_cancel_notice_hours", 720)
        url = reverse("scheduling:my_visit", args=[self.pat.pk, visit.pk])
        self.assertContains(self.client.get(url), "call the clinic")
        response = self.client.post(url, {"action": "cancel"})
        self.assertContains(response, "can no longer be changed online", status_code=400)
        moved = self.client.post(
            url, {"action": "move", "start": local(visit.start + timedelta(days=1))}
        )
        self.assertEqual(moved.status_code, 400)
        visit.refresh_from_db()
        self.assertEqual(visit.state, State.BOOKED)
        self.assertEqual(visit.start, start)

    def test_another_patients_visit_is_not_found(self) -> None:
        visit = fixtures.appointment(self, kind="integration")
        self.login(self.quinn_user)
        url = reverse("scheduling:my_visit", args=[self.quinn.pk, visit.pk])
        self.assertEqual(self.client.post(url, {"action": "cancel"}).status_code, 404)
        visit.refresh_from_db()
        self.assertEqual(visit.state, State.BOOKED)


class DosingSelfBookingTest(ClinicTestCase):
    def setUp(self) -> None:
        fixtures.chairs(self)
        setting(self, "scheduling_online_booking_kinds", "integration,dosing")
        self.login(self.pat_user)
        self.url = reverse("scheduling:my_book", args=[self.pat.pk])

    def test_without_a_signed_plan_no_treatment_session_can_be_booked(self) -> None:
        plan_fixtures.draft(self)  # a plan exists, but no prescriber has signed it
        self.assertEqual(selfbook.offers(patient=self.pat, kind="dosing", start_on=None), [])
        start = fixtures.at(self, 14, 9)
        response = self.client.post(self.url, {"kind": "dosing", "start": local(start)})
        self.assertContains(response, "only at the times your plan offers", status_code=400)
        self.assertFalse(Appointment.objects.exists())

    def test_treatment_sessions_only_at_the_plans_times_and_intervals(self) -> None:
        version = plan_fixtures.signed(self)
        offers = selfbook.offers(patient=self.pat, kind="dosing", start_on=None)
        self.assertTrue(offers)
        first = offers[0]
        response = self.client.post(self.url, {"kind": "dosing", "start": local(first.start)})
        self.assertEqual(response.status_code, 302)
        booked = Appointment.objects.get(kind="dosing")
        self.assertEqual(booked.plan_id, version.plan_id)
        self.assertIsNotNone(booked.planned_dose)
        self.assertIsNotNone(booked.chair)
        # Three hours later the same day is inside the clinic's hours but not the plan's interval.
        too_soon = first.start + timedelta(hours=3)
        response = self.client.post(self.url, {"kind": "dosing", "start": local(too_soon)})
        self.assertContains(response, "only at the times your plan offers", status_code=400)
        plan = version.plan
        problems = selfbook.interval_problems(patient=self.pat, plan=plan, start=too_soon)
        self.assertTrue(any("hours apart" in p for p in problems))
        later = selfbook.offers(patient=self.pat, kind="dosing", start_on=None)
        spacing = plan.protocol_version.protocol.spacing.min_interval_hours.value
        self.assertTrue(all(o.start - first.start >= timedelta(hours=spacing) for o in later))
        self.assertEqual(Appointment.objects.filter(kind="dosing").count(), 1)

    def test_front_desk_booking_checks_still_apply(self) -> None:
        plan_fixtures.signed(self)
        first = selfbook.offers(patient=self.pat, kind="dosing", start_on=None)[0]
        # Front desk fills the only chair at that time: the patient's choice is refused.
        services.book(
            patient=self.quinn,
            kind="dosing",
            slot=services.Slot(self.nick, first.start, first.end, None, first.chair),
            by=self.alice,
        )
        response = self.client.post(self.url, {"kind": "dosing", "start": local(first.start)})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(Appointment.objects.filter(patient=self.pat).exists())
