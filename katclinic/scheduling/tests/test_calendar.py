import html
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core import mail
from django.test import SimpleTestCase
from django.urls import reverse
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit.models import AuditEvent
from katclinic.clinics.models import ClinicSetting
from katclinic.scheduling import calendar, services
from katclinic.scheduling.models import Appointment, Room, State
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase

NY = ZoneInfo("America/New_York")
EVERY_DAY = {d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


class WeekLayoutTest(SimpleTestCase):
    """The grid itself: no database."""

    hours = {d: (time(9), time(17)) for d in range(5)}

    def entry(self, pk: int, column: str, day: date, start: time, minutes: int) -> calendar.Entry:
        begin = datetime.combine(day, start, tzinfo=NY)
        return calendar.Entry(
            pk, column, begin, begin + timedelta(minutes=minutes), f"P{pk}", "dosing", "booked"
        )

    def test_a_week_runs_monday_to_sunday_and_steps_by_seven_days(self) -> None:
        wednesday = date(2026, 12, 2)
        days = calendar.days_for(wednesday, "week")
        self.assertEqual((days[0], days[-1], len(days)), (date(2026, 11, 30), date(2026, 12, 6), 7))
        self.assertEqual(calendar.days_for(wednesday, "day"), [wednesday])
        self.assertEqual(calendar.shift(wednesday, "week", -1), date(2026, 11, 25))
        self.assertEqual(calendar.shift(wednesday, "day", 1), date(2026, 12, 3))

    def test_appointments_span_their_rows_and_overlaps_share_a_cell(self) -> None:
        days = calendar.days_for(date(2026, 12, 2), "week")
        columns = [calendar.Column("chair:1", "Chair 1"), calendar.Column("chair:2", "Chair 2")]
        monday = days[0]
        entries = [
            self.entry(1, "chair:1", monday, time(9), 90),
            self.entry(2, "chair:1", monday, time(10), 60),
            self.entry(3, "chair:2", monday, time(9, 30), 30),
        ]
        grid = calendar.layout(
            days=days, columns=columns, entries=entries, hours=self.hours, slot_minutes=30, tz=NY
        )
        self.assertEqual(grid.rows[0].start, time(9))
        self.assertEqual(len(grid.rows), 16)  # 09:00 to 17:00 in half hours
        self.assertEqual(len(grid.rows[0].cells), 14)  # 7 days x 2 chairs
        first = grid.rows[0].cells[0]
        # 09:00-10:30 overlaps 10:00-11:00 in the same chair: one cell from 09:00 to 11:00.
        self.assertEqual(([e.pk for e in first.entries], first.rows), ([1, 2], 4))
        self.assertTrue(all(grid.rows[i].cells[0].covered for i in (1, 2, 3)))
        self.assertFalse(grid.rows[4].cells[0].covered)
        second = grid.rows[1].cells[1]
        self.assertEqual(([e.pk for e in second.entries], second.rows), ([3], 1))
        saturday = grid.rows[0].cells[10]
        self.assertEqual((saturday.day.weekday(), saturday.open), (5, False))
        self.assertTrue(grid.rows[0].cells[2].open)

    def test_an_appointment_outside_the_hours_stretches_the_grid(self) -> None:
        days = [date(2026, 11, 30)]
        entry = self.entry(1, "staff:1", days[0], time(7, 45), 30)
        first, count = calendar.bounds(days, self.hours, [entry], 30)
        self.assertEqual((first, count), (time(7, 30), 19))

    def test_free_slots_skip_busy_staff_and_chairs(self) -> None:
        day = date(2026, 11, 30)
        at = lambda h: datetime.combine(day, time(h), tzinfo=NY)  # noqa: E731
        starts = calendar.candidate_starts(
            days=[day],
            hours=self.hours,
            tz=NY,
            duration=timedelta(hours=2),
            slot_minutes=60,
            not_before=at(10),
        )
        slots = list(
            calendar.free_slots(
                starts=starts,
                duration=timedelta(hours=2),
                staff=[7, 8],
                places=[1],
                busy_staff={7: [(at(10), at(13))], 8: [(at(14), at(15))]},
                busy_places={1: [(at(12), at(13))]},
            )
        )
        # At 10:00 only the second person is free; 11:00 and 12:00 would run into the chair's
        # 12:00 booking; from 13:00 the first person is free again, the second from 15:00.
        self.assertEqual(
            [(s.start.hour, s.staff) for s in slots],
            [(10, 8), (13, 7), (14, 7), (15, 7), (15, 8)],
        )


class CalendarTest(ClinicTestCase):
    def setUp(self) -> None:
        self.chair = fixtures.chairs(self)[0]
        self.consulting = Room.objects.get(clinic=self.clinic, name="Consulting room")
        self.pat.email = "pat.doe@example.org"
        self.pat.save(update_fields=["email"])

    def book(
        self,
        days: int,
        hour: int,
        *,
        staff: User | None = None,
        room: Room | None = None,
        past_reason: str = "",
    ) -> Appointment:
        start = fixtures.at(self, days, hour)
        slot = services.Slot(staff or self.paula, start, start + timedelta(hours=1), room)
        return services.book(
            patient=self.pat,
            kind="consultation",
            slot=slot,
            by=self.alice,
            past_reason=past_reason,
            notify=False,
        )

    def every_day_open(self) -> None:
        self.clinic.opening_hours = EVERY_DAY
        self.clinic.save(update_fields=["opening_hours"])

    # ---- the page ---------------------------------------------------------------------------

    def test_week_and_day_views_by_clinician_room_and_chair(self) -> None:
        appointment = self.book(14, 10, room=self.consulting)
        day = fixtures.at(self, 14, 10).date().isoformat()
        self.login(self.alice)
        for by in ("staff", "room", "chair"):
            for view in ("week", "day"):
                response = self.client.get(
                    reverse("scheduling:calendar"), {"date": day, "by": by, "view": view}
                )
                self.assertEqual(response.status_code, 200, (by, view))
                self.assertContains(
                    response, reverse("scheduling:appointment", args=[appointment.pk])
                )
                self.assertContains(response, "Pat Doe")
                self.assertContains(response, "Consultation · Booked")
                self.assertContains(response, reverse("scheduling:calendar_book"))
        response = self.client.get(reverse("scheduling:calendar"), {"date": day, "by": "room"})
        self.assertContains(response, "Consulting room")
        self.assertContains(response, "clinic time (America/New_York)")
        self.assertContains(response, 'class="cal-entry kind-consultation state-booked"')
        # The navigation partial for htmx holds only the calendar.
        partial = self.client.get(
            reverse("scheduling:calendar"), {"date": day}, headers={"HX-Request": "true"}
        )
        self.assertNotContains(partial, "<html")
        self.assertContains(partial, 'id="calendar"')

    def test_bad_calendar_input_is_a_400_naming_the_field(self) -> None:
        self.login(self.alice)
        for params, label in (
            ({"view": "month"}, "View"),
            ({"date": "2026-13-45"}, "Date"),
            ({"by": "colour"}, "Columns"),
            ({"staff": "abc"}, "Clinician"),
        ):
            response = self.client.get(reverse("scheduling:calendar"), params)
            self.assertContains(response, label, status_code=400)

    def test_a_therapist_sees_the_calendar_and_schedule_link_but_no_booking_links(self) -> None:
        self.book(14, 10)
        self.login(self.tara)
        day = fixtures.at(self, 14, 10).date().isoformat()
        response = self.client.get(reverse("scheduling:calendar"), {"date": day})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f'href="{reverse("scheduling:calendar")}">Schedule</a>')
        self.assertNotContains(response, reverse("scheduling:calendar_book"))
        self.assertNotContains(response, reverse("scheduling:free_slots"))

    def test_no_role_is_shown_a_calendar_link_it_cannot_open(self) -> None:
        appointment = self.book(14, 10, room=self.consulting)
        day = fixtures.at(self, 14, 10).date().isoformat()
        pages = [
            f"{reverse('scheduling:calendar')}?date={day}&by=room",
            reverse("scheduling:appointment", args=[appointment.pk]),
            f"{reverse('scheduling:day')}?day={day}",
        ]
        for person in self.staff_by_role.values():
            self.login(person)
            seen: set[str] = set()
            for url in pages:
                body = self.client.get(url).content.decode()
                seen |= {
                    html.unescape(href)
                    for href in re.findall(r'href="(/scheduling/[^"]*)"', body)
                    if "book/?" not in href
                }
            for href in sorted(seen)[:40]:
                status = self.client.get(href).status_code
                self.assertNotIn(status, (403, 404, 500), (person.full_name, href))

    def test_booking_from_an_empty_slot(self) -> None:
        self.login(self.alice)
        start = fixtures.at(self, 14, 11)
        day = start.date().isoformat()
        response = self.client.get(
            reverse("scheduling:calendar"),
            {"date": day, "view": "day", "by": "room", "patient": str(self.pat.pk)},
        )
        link = (
            f"{reverse('scheduling:calendar_book')}?start={day}T11%3A00"
            f"&amp;room={self.consulting.pk}&amp;patient={self.pat.pk}"
        )
        self.assertContains(response, link)
        form = self.client.get(link.replace("&amp;", "&"))
        self.assertContains(form, f'value="{day}T11:00"')
        self.assertContains(form, f'<option value="{self.consulting.pk}" selected>')
        self.assertContains(form, f'<option value="{self.pat.pk}" selected>')
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                reverse("scheduling:calendar_book"),
                {
                    "patient": self.pat.pk,
                    "kind": "consultation",
                    "start": f"{day}T11:00",
                    "staff": self.paula.pk,
                    "room": self.consulting.pk,
                },
            )
        self.assertEqual(response.status_code, 302)
        appointment = Appointment.objects.get()
        self.assertEqual(
            (appointment.start, appointment.room, appointment.staff),
            (start, self.consulting, self.paula),
        )
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["pat.doe@example.org"])
        self.assertIn("Your consultation is booked for", mail.outbox[0].body)
        self.assertIn(f"{start:%A %d %B %Y} at 11:00", mail.outbox[0].body)

    def test_bad_booking_input_is_refused_naming_the_field_and_stores_nothing(self) -> None:
        self.login(self.alice)
        day = fixtures.at(self, 14, 11).date().isoformat()
        good = {
            "patient": self.pat.pk,
            "kind": "consultation",
            "start": f"{day}T11:00",
            "staff": self.paula.pk,
        }
        for field, value in (
            ("patient", self.stranger.pk),
            ("kind", "party"),
            ("start", "tomorrow-ish"),
            ("staff", self.oscar.pk),
            ("room", "x"),
            ("past_reason", "x" * 500),
        ):
            response = self.client.post(reverse("scheduling:calendar_book"), {**good, field: value})
            self.assertEqual(response.status_code, 400, field)
            self.assertIn(field, response.context["form"].errors)
        self.assertFalse(Appointment.objects.exists())
        self.assertEqual(len(mail.outbox), 0)

    def test_booking_in_the_past_needs_a_reason_which_is_kept_and_audited(self) -> None:
        self.login(self.alice)
        start = fixtures.at(self, -14, 10)
        data = {
            "patient": self.pat.pk,
            "kind": "consultation",
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "staff": self.paula.pk,
        }
        response = self.client.post(reverse("scheduling:calendar_book"), data)
        self.assertContains(response, "that time has passed", status_code=400)
        self.assertFalse(Appointment.objects.exists())
        reason = "Recording a visit made during the system outage"
        response = self.client.post(
            reverse("scheduling:calendar_book"), {**data, "past_reason": reason}
        )
        self.assertEqual(response.status_code, 302)
        appointment = Appointment.objects.get()
        self.assertIn(reason, appointment.note)
        event = AuditEvent.objects.filter(
            object_type="scheduling.appointment", object_id=str(appointment.pk)
        ).get(action="create")
        self.assertEqual(event.detail["past_reason"], reason)

    # ---- moving -----------------------------------------------------------------------------

    def test_a_move_into_a_taken_room_is_refused_with_its_reason(self) -> None:
        first = self.book(14, 10, room=self.consulting)
        second = self.book(14, 14, staff=self.nick, room=self.consulting)
        self.login(self.alice)
        url = reverse("scheduling:move", args=[second.pk])
        day = fixtures.at(self, 14, 10).date().isoformat()
        # A drag onto the 10:00 slot opens the form with that slot filled in.
        dropped = self.client.get(url, {"start": f"{day}T10:00", "room": str(self.consulting.pk)})
        self.assertContains(dropped, f'value="{day}T10:00"')
        data = {"start": f"{day}T10:00", "staff": self.nick.pk, "room": self.consulting.pk}
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, data)
        self.assertContains(response, "room Consulting room is taken then", status_code=400)
        second.refresh_from_db()
        self.assertEqual(second.start, fixtures.at(self, 14, 14))
        self.assertEqual(len(mail.outbox), 0)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, {**data, "start": f"{day}T12:00"})
        self.assertEqual(response.status_code, 302)
        second.refresh_from_db()
        first.refresh_from_db()
        self.assertEqual(second.start, fixtures.at(self, 14, 12))
        self.assertEqual(first.start, fixtures.at(self, 14, 10))
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn("has moved. It is now on", mail.outbox[0].body)
        self.assertIn("at 12:00", mail.outbox[0].body)

    def test_bad_move_input_names_the_field(self) -> None:
        appointment = self.book(14, 10)
        self.login(self.alice)
        url = reverse("scheduling:move", args=[appointment.pk])
        for field, value in (("start", "soon"), ("staff", "999999"), ("chair", "-1")):
            data = {"start": "2030-01-07T10:00", "staff": self.paula.pk, field: value}
            response = self.client.post(url, data)
            self.assertEqual(response.status_code, 400, field)
            self.assertIn(field, response.context["form"].errors)
        appointment.refresh_from_db()
        self.assertEqual(appointment.start, fixtures.at(self, 14, 10))

    # ---- state changes follow time ----------------------------------------------------------

    def test_tomorrows_visit_cannot_be_checked_in_or_completed_today(self) -> None:
        self.every_day_open()
        tomorrow = services.today(self.clinic) + timedelta(days=1)
        start = datetime.combine(tomorrow, time(10), tzinfo=ZoneInfo(self.clinic.timezone))
        slot = services.Slot(self.paula, start, start + timedelta(hours=1))
        appointment = services.book(patient=self.pat, kind="consultation", slot=slot, by=self.alice)
        self.login(self.nick)
        url = reverse("scheduling:appointment_state", args=[appointment.pk])
        response = self.client.post(url, {"state": "checked_in"})
        self.assertContains(response, "cannot be checked in before its day", status_code=400)
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.BOOKED)
        Appointment.objects.filter(pk=appointment.pk).update(state=State.CHECKED_IN)
        response = self.client.post(url, {"state": "completed", "confirmed": "yes"})
        self.assertContains(response, "cannot be completed before its day", status_code=400)
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.CHECKED_IN)
        response = self.client.post(url, {"state": "no_show"})
        self.assertEqual(response.status_code, 400)
        response = self.client.post(url, {"state": "sleeping"})
        self.assertContains(response, "valid choice", status_code=400)

    # ---- confirmation and undo --------------------------------------------------------------

    def test_cancel_asks_for_confirmation_emails_the_patient_and_can_be_undone(self) -> None:
        appointment = self.book(14, 10)
        self.login(self.alice)
        url = reverse("scheduling:appointment_state", args=[appointment.pk])
        asked = self.client.post(url, {"state": "cancelled", "reason": "Patient unwell"})
        self.assertContains(asked, "Yes, cancel this appointment")
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.BOOKED)
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(
                url, {"state": "cancelled", "reason": "Patient unwell", "confirmed": "yes"}
            )
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.CANCELLED)
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn("has been cancelled", mail.outbox[0].body)
        self.assertNotIn("unwell", mail.outbox[0].body)
        page = self.client.get(reverse("scheduling:appointment", args=[appointment.pk]))
        self.assertContains(page, "You can undo this until")
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("scheduling:undo", args=[appointment.pk]))
        self.assertEqual(response.status_code, 302)
        appointment.refresh_from_db()
        self.assertEqual((appointment.state, appointment.cancel_reason), (State.BOOKED, ""))
        self.assertIn("booked again", mail.outbox[1].body)
        # An undo is not itself undone.
        response = self.client.post(reverse("scheduling:undo", args=[appointment.pk]))
        self.assertEqual(response.status_code, 409)

    def test_undo_is_refused_after_the_clinics_window(self) -> None:
        ClinicSetting.objects.create(
            clinic=self.clinic, key="scheduling.undo_minutes", value=0, changed_by=self.adam
        )
        appointment = self.book(14, 10)
        services.set_state(appointment=appointment, state="cancelled", by=self.alice, reason="X")
        self.login(self.alice)
        response = self.client.post(reverse("scheduling:undo", args=[appointment.pk]))
        self.assertContains(response, "time to undo it has passed", status_code=409)
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.CANCELLED)

    def test_completing_asks_for_confirmation_and_undo_returns_it_to_checked_in(self) -> None:
        appointment = self.book(-14, 10, past_reason="Entered late")
        services.set_state(appointment=appointment, state="checked_in", by=self.nick)
        self.login(self.nick)
        url = reverse("scheduling:appointment_state", args=[appointment.pk])
        self.assertContains(self.client.post(url, {"state": "completed"}), "Yes, mark it completed")
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.CHECKED_IN)
        self.client.post(url, {"state": "completed", "confirmed": "yes"})
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.COMPLETED)
        self.client.post(reverse("scheduling:undo", args=[appointment.pk]))
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.CHECKED_IN)

    def test_undoing_a_cancellation_is_refused_when_the_slot_was_taken(self) -> None:
        appointment = self.book(14, 10, room=self.consulting)
        services.set_state(appointment=appointment, state="cancelled", by=self.alice, reason="X")
        self.book(14, 10, staff=self.nick, room=self.consulting)
        self.login(self.alice)
        response = self.client.post(reverse("scheduling:undo", args=[appointment.pk]))
        self.assertContains(response, "room Consulting room is taken then", status_code=409)
        appointment.refresh_from_db()
        self.assertEqual(appointment.state, State.CANCELLED)

    # ---- free slots -------------------------------------------------------------------------

    def test_the_free_slot_finder_skips_booked_time(self) -> None:
        self.book(14, 9, room=self.consulting)
        self.login(self.alice)
        day = fixtures.at(self, 14, 9).date()
        response = self.client.get(
            reverse("scheduling:free_slots"),
            {
                "kind": "consultation",
                "staff": str(self.paula.pk),
                "start_on": str(day),
                "count": "3",
            },
        )
        slots = response.context["slots"]
        self.assertEqual(
            [s["start"] for s in slots],
            [fixtures.at(self, 14, 8), fixtures.at(self, 14, 10), fixtures.at(self, 14, 10, 30)],
        )
        self.assertTrue(all(s["room"] == self.consulting for s in slots))
        self.assertContains(response, reverse("scheduling:calendar_book"))
        carried = self.client.get(reverse("scheduling:free_slots"), {"patient": str(self.pat.pk)})
        self.assertContains(carried, f'name="patient" value="{self.pat.pk}"')
        for params, field in (
            ({"kind": "nap"}, "kind"),
            ({"kind": "dosing", "count": "0"}, "count"),
        ):
            response = self.client.get(reverse("scheduling:free_slots"), params)
            self.assertEqual(response.status_code, 400)
            self.assertIn(field, response.context["form"].errors)

    # ---- Today and time zones ---------------------------------------------------------------

    def test_todays_appointments_on_each_roles_today_page(self) -> None:
        self.every_day_open()
        today = services.today(self.clinic)
        start = datetime.combine(today, time(9), tzinfo=ZoneInfo(self.clinic.timezone))
        slot = services.Slot(self.paula, start, start + timedelta(hours=1))
        services.book(
            patient=self.pat, kind="consultation", slot=slot, by=self.alice, past_reason="Test"
        )
        line = "09:00–10:00 Consultation · Pat Doe"
        for person, shown in (
            (self.paula, True),
            (self.alice, True),
            (self.adam, True),
            (self.tara, False),
        ):
            self.login(person)
            response = self.client.get("/today/")
            self.assertEqual(response.status_code, 200)
            if shown:
                self.assertContains(response, line)
            else:
                self.assertNotContains(response, line)
                self.assertContains(response, "No appointments today.")

    def test_an_0800_booking_shows_0800_with_the_process_in_utc(self) -> None:
        self.every_day_open()
        self.clinic.timezone = "America/New_York"
        self.clinic.save(update_fields=["timezone"])
        day = fixtures.at(self, 14, 8).date()
        with timezone.override(ZoneInfo("UTC")):
            self.login(self.alice)
            self.client.post(
                reverse("scheduling:calendar_book"),
                {
                    "patient": self.pat.pk,
                    "kind": "consultation",
                    "start": f"{day.isoformat()}T08:00",
                    "staff": self.paula.pk,
                },
            )
            appointment = Appointment.objects.get()
            self.assertEqual(appointment.start, datetime.combine(day, time(8), tzinfo=NY))
            response = self.client.get(reverse("scheduling:calendar"), {"date": day.isoformat()})
            self.assertContains(response, "08:00–09:00")
            utc_hour = appointment.start.astimezone(ZoneInfo("UTC")).strftime("%H:%M")
            self.assertNotContains(response, f"{utc_hour}–")
            page = self.client.get(reverse("scheduling:appointment", args=[appointment.pk]))
            self.assertContains(page, "08:00–09:00")
