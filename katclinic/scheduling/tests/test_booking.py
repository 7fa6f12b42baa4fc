from datetime import time, timedelta
from typing import Any

from django.urls import reverse

from katclinic.protocols.tests import fixtures as plan_fixtures
from katclinic.scheduling import services
from katclinic.scheduling.models import Appointment, Chair, StaffAvailability, StaffLeave
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase


class BookingTest(ClinicTestCase):
    def setUp(self) -> None:
        self.chair = fixtures.chairs(self)[0]

    def slot(
        self, hour: int, staff: Any = None, chair: Chair | None = None, days: int = 0
    ) -> services.Slot:
        start = fixtures.at(self, days, hour)
        return services.Slot(
            staff or self.nick, start, start + timedelta(hours=3), None, chair or self.chair
        )

    def test_a_chair_cannot_be_double_booked(self) -> None:
        services.book(patient=self.pat, kind="dosing", slot=self.slot(9), by=self.alice)
        with self.assertRaisesMessage(
            services.ScheduleConflict, "chair Treatment room / Chair 1 is taken"
        ):
            services.book(
                patient=self.quinn,
                kind="dosing",
                slot=self.slot(10, staff=self.paula),
                by=self.alice,
            )
        self.assertEqual(Appointment.objects.count(), 1)

    def test_staff_cannot_be_in_two_places(self) -> None:
        room = self.chair.room
        other = Chair.objects.create(clinic=self.clinic, room=room, name="Chair 2")
        services.book(patient=self.pat, kind="dosing", slot=self.slot(9), by=self.alice)
        with self.assertRaisesMessage(services.ScheduleConflict, "already has an appointment"):
            services.book(
                patient=self.quinn, kind="dosing", slot=self.slot(11, chair=other), by=self.alice
            )

    def test_bookings_respect_working_hours_leave_and_opening_hours(self) -> None:
        StaffAvailability.objects.create(
            clinic=self.clinic, staff=self.nick, weekday=0, starts=time(8), ends=time(12)
        )
        with self.assertRaisesMessage(services.ScheduleConflict, "does not work then"):
            services.book(patient=self.pat, kind="dosing", slot=self.slot(11), by=self.alice)
        day = fixtures.at(self, 0, 9).date()
        StaffLeave.objects.create(clinic=self.clinic, staff=self.nick, starts_on=day, ends_on=day)
        with self.assertRaisesMessage(services.ScheduleConflict, "on leave"):
            services.book(patient=self.pat, kind="dosing", slot=self.slot(8), by=self.alice)
        with self.assertRaisesMessage(services.ScheduleConflict, "clinic is closed"):
            services.book(
                patient=self.pat,
                kind="dosing",
                slot=self.slot(9, staff=self.paula, days=5),
                by=self.alice,
            )
        self.assertFalse(Appointment.objects.exists())

    def test_cancelling_needs_a_reason_and_frees_the_chair(self) -> None:
        appointment = services.book(
            patient=self.pat, kind="dosing", slot=self.slot(9), by=self.alice
        )
        self.login(self.alice)
        response = self.client.post(
            reverse("scheduling:change_state", args=[appointment.pk]), {"state": "cancelled"}
        )
        self.assertContains(response, "reason is required", status_code=400)
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, "booked")
        self.client.post(
            reverse("scheduling:change_state", args=[appointment.pk]),
            {"state": "cancelled", "reason": "Unwell", "confirmed": "yes"},
        )
        appointment.refresh_from_db()
        self.assertEqual((appointment.state, appointment.cancel_reason), ("cancelled", "Unwell"))
        services.book(
            patient=self.quinn, kind="dosing", slot=self.slot(9, staff=self.paula), by=self.alice
        )

    def test_a_no_show_is_recorded(self) -> None:
        appointment = services.book(
            patient=self.pat,
            kind="dosing",
            slot=self.slot(9, days=-14),
            by=self.alice,
            past_reason="Recording last week's visit",
        )
        services.set_state(appointment=appointment, state="no_show", by=self.alice)
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, "no_show")

    def test_rescheduling_into_a_taken_chair_is_refused(self) -> None:
        first = services.book(patient=self.pat, kind="dosing", slot=self.slot(9), by=self.alice)
        second = services.book(
            patient=self.quinn, kind="dosing", slot=self.slot(13, staff=self.paula), by=self.alice
        )
        with self.assertRaises(services.ScheduleConflict):
            services.reschedule(
                appointment=second, slot=self.slot(10, staff=self.paula), by=self.alice
            )
        services.reschedule(appointment=first, slot=self.slot(9, days=1), by=self.alice)
        second.refresh_from_db()
        first.refresh_from_db()
        self.assertEqual(second.start, fixtures.at(self, 0, 13))
        self.assertEqual(first.start, fixtures.at(self, 1, 9))

    def test_front_desk_books_through_the_page(self) -> None:
        self.login(self.alice)
        response = self.client.post(
            reverse("scheduling:book", args=[self.pat.pk]),
            {
                "kind": "consultation",
                "start": fixtures.at(self, 0, 9).strftime("%Y-%m-%dT%H:%M"),
                "staff": self.paula.pk,
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Appointment.objects.get().start, fixtures.at(self, 0, 9))

    def test_front_desk_schedules_but_cannot_change_doses(self) -> None:
        version = plan_fixtures.draft(self)
        self.login(self.alice)
        for name, args, data in [
            ("protocols:sign", [version.pk], {}),
            (
                "protocols:edit_draft",
                [version.pk],
                {"phase": "induction", "start_on": "2030-01-07", "dose_mg": "60"},
            ),
            (
                "protocols:amend",
                [version.plan_id],
                {"kind": "titration", "reason": "x", "dose_mg": "60", "start_on": "2030-01-07"},
            ),
        ]:
            self.assertEqual(self.client.post(reverse(name, args=args), data).status_code, 403)
        version.refresh_from_db()
        self.assertEqual((version.is_signed, str(version.dose_mg)), (False, "35.0"))

    def test_the_day_list_costs_a_fixed_number_of_queries(self) -> None:
        for hour in (8, 12):
            services.book(patient=self.pat, kind="dosing", slot=self.slot(hour), by=self.alice)
        self.login(self.alice)
        url = reverse("scheduling:day") + f"?day={fixtures.at(self, 0, 9).date().isoformat()}"
        self.client.get(url)
        with self.assertNumQueries(4):
            response = self.client.get(url)
        self.assertContains(response, "Pat Doe", count=2)


class PlanScheduleTest(ClinicTestCase):
    def setUp(self) -> None:
        self.chair = fixtures.chairs(self)[0]
        self.plan = plan_fixtures.signed(self).plan

    def test_the_proposal_keeps_intervals_capacity_and_hours(self) -> None:
        start = plan_fixtures.next_monday()
        blocker = fixtures.at(self, 0, 8)
        services.book(
            patient=self.quinn,
            kind="dosing",
            slot=services.Slot(self.nick, blocker, blocker + timedelta(hours=10), None, self.chair),
            by=self.alice,
        )
        rows = services.propose_for_plan(plan=self.plan, staff=self.paula, start_on=start)
        doses = [r for r in rows if r.kind == "dosing"]
        self.assertEqual(len(doses), 6)
        self.assertTrue(all(r.chair == self.chair and not r.problems for r in doses))
        self.assertTrue(all(d.start.date() != blocker.date() for d in doses))
        gaps = [(b.start - a.start) for a, b in zip(doses, doses[1:], strict=False)]
        self.assertTrue(all(gap >= timedelta(hours=48) for gap in gaps))
        tz = fixtures.at(self, 0, 8).tzinfo
        for dose in doses:
            local = dose.start.astimezone(tz)
            self.assertLess(local.weekday(), 5)
            self.assertTrue(time(8) <= local.time() and dose.end.astimezone(tz).time() <= time(18))

    def test_booking_the_proposal_fills_chairs_and_links_planned_doses(self) -> None:
        self.login(self.alice)
        data = {"staff": self.paula.pk, "start_on": plan_fixtures.next_monday().isoformat()}
        response = self.client.post(reverse("scheduling:plan_schedule", args=[self.plan.pk]), data)
        self.assertEqual(response.status_code, 302)
        dosing = Appointment.objects.filter(plan=self.plan, kind="dosing")
        self.assertEqual(dosing.count(), 6)
        self.assertEqual(dosing.exclude(planned_dose=None).count(), 6)
        self.assertTrue(Appointment.objects.filter(plan=self.plan, kind="preparation").exists())
        self.login(self.paula)
        page = self.client.get(reverse("protocols:patient_plans", args=[self.pat.pk]))
        self.assertNotContains(page, "not booked")

    def test_a_schedule_that_collides_is_refused_whole(self) -> None:
        rows = services.propose_for_plan(
            plan=self.plan, staff=self.paula, start_on=plan_fixtures.next_monday()
        )
        first = next(r for r in rows if r.kind == "dosing")
        services.book(
            patient=self.quinn,
            kind="dosing",
            slot=services.Slot(self.nick, first.start, first.end, None, self.chair),
            by=self.alice,
        )
        with self.assertRaises(services.ScheduleConflict):
            services.book_plan_schedule(plan=self.plan, rows=rows, by=self.alice)
        self.assertEqual(Appointment.objects.filter(plan=self.plan).count(), 0)
