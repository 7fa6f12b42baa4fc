"""Booking a treatment plan's visits from the calendar (issue 17): the calendar offers the
plan while it has nothing booked ahead, the proposal never lands in hours already gone,
booking all of it returns to the calendar, and a collision is reported visit by visit."""

from django.urls import reverse
from django.utils import timezone

from katclinic.protocols.tests import fixtures as plan_fixtures
from katclinic.scheduling import services
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import Appointment, Chair
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase

OFFER = "Book the plan’s visits from this week"


class PlanFromCalendarTest(ClinicTestCase):
    def setUp(self) -> None:
        self.chair = fixtures.chairs(self)[0]
        self.plan = plan_fixtures.signed(self).plan
        self.monday = plan_fixtures.next_monday()

    def calendar(self) -> str:
        self.login(self.alice)
        url = reverse("scheduling:calendar")
        response = self.client.get(f"{url}?date={self.monday.isoformat()}&patient={self.pat.pk}")
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_the_calendar_offers_the_plan_from_the_shown_week_until_it_is_booked(self) -> None:
        page = self.calendar()
        self.assertIn(OFFER, page)
        link = reverse("scheduling:plan_schedule", args=[self.plan.pk])
        self.assertIn(f"{link}?start_on={self.monday.isoformat()}", page)
        rows = services.propose_for_plan(plan=self.plan, staff=self.paula, start_on=self.monday)
        services.book_plan_schedule(plan=self.plan, rows=rows, by=self.alice, notify=False)
        self.assertNotIn(OFFER, self.calendar())

    def test_the_calendar_offers_no_plan_to_a_role_that_cannot_book(self) -> None:
        self.login(self.tara)
        url = reverse("scheduling:calendar")
        response = self.client.get(f"{url}?patient={self.pat.pk}")
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, OFFER)

    def test_a_proposal_from_today_skips_the_hours_already_gone(self) -> None:
        today = services.today(self.clinic)
        rows = services.propose_for_plan(plan=self.plan, staff=self.paula, start_on=today)
        self.assertTrue(rows)
        now = timezone.now()
        self.assertTrue(all(row.start >= now for row in rows), [r.start for r in rows])

    def test_booking_the_plan_returns_to_the_calendar_week_of_its_first_visit(self) -> None:
        self.login(self.alice)
        data = {"staff": self.paula.pk, "start_on": self.monday.isoformat()}
        url = reverse("scheduling:plan_schedule", args=[self.plan.pk])
        response = self.client.post(url, data)
        booked = Appointment.objects.filter(plan=self.plan).order_by("start")
        self.assertTrue(booked.exists())
        first = booked[0].start.astimezone(clinic_tz(self.clinic)).date()
        self.assertRedirects(
            response,
            f"{reverse('scheduling:calendar')}?date={first.isoformat()}",
            fetch_redirect_response=False,
        )

    def test_each_colliding_visit_is_named_and_nothing_is_booked(self) -> None:
        rows = services.propose_for_plan(plan=self.plan, staff=self.paula, start_on=self.monday)
        doses = [r for r in rows if r.kind == "dosing"][:2]
        for dose in doses:
            slot = services.Slot(self.nick, dose.start, dose.end, None, self.chair)
            services.book(patient=self.quinn, kind="dosing", slot=slot, by=self.alice)
        with self.assertRaises(services.ScheduleConflict) as refused:
            services.book_plan_schedule(plan=self.plan, rows=rows, by=self.alice)
        self.assertEqual(len(refused.exception.reasons), 2, refused.exception.reasons)
        for dose, reason in zip(doses, refused.exception.reasons, strict=True):
            local = dose.start.astimezone(clinic_tz(self.clinic))
            self.assertIn(f"{local:%Y-%m-%d %H:%M}", reason)
        self.assertEqual(Appointment.objects.filter(plan=self.plan).count(), 0)

    def test_the_proposal_offers_only_clinicians_and_names_a_collision_once(self) -> None:
        self.login(self.alice)
        url = reverse("scheduling:plan_schedule", args=[self.plan.pk])
        page = self.client.get(url)
        choices = {str(user.pk) for user in page.context["form"].fields["staff"].queryset}
        self.assertEqual(choices, {str(self.paula.pk), str(self.nick.pk), str(self.tara.pk)})
        # With no chair left for its doses, the plan cannot be placed: said once, not twice.
        Chair.objects.filter(room__clinic=self.clinic).update(is_active=False)
        data = {"staff": self.paula.pk, "start_on": self.monday.isoformat()}
        response = self.client.post(url, data)
        self.assertContains(response, "Not booked", count=1, status_code=400)
        self.assertEqual(Appointment.objects.filter(plan=self.plan).count(), 0)
        # Front desk is no clinician: a plan's visits cannot be put with them.
        response = self.client.post(url, data | {"staff": self.alice.pk})
        self.assertEqual(response.status_code, 200)
        self.assertIn("staff", response.context["form"].errors)
        self.assertEqual(Appointment.objects.filter(plan=self.plan).count(), 0)
