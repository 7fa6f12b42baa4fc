"""Places and hours: chairs and what they hold, opening hours, closures, staff hours and leave,
and the warning before a change strands booked appointments."""

from datetime import time, timedelta
from typing import Any

from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.protocols.tests import fixtures as plan_fixtures
from katclinic.scheduling import places, services
from katclinic.scheduling.models import (
    Appointment,
    Chair,
    ClinicClosure,
    Room,
    StaffAvailability,
    StaffLeave,
)
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase


def _form_errors(response: Any) -> dict[str, Any]:
    return dict(response.context["form"].errors)


def _week(**days: tuple[str, str]) -> dict[str, str]:
    data = {}
    for key in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        opens, closes = days.get(key, ("", ""))
        data[f"{key}_opens"], data[f"{key}_closes"] = opens, closes
    return data


class PlacesTest(ClinicTestCase):
    def setUp(self) -> None:
        self.chair = fixtures.chairs(self)[0]
        self.room = self.chair.room
        self.nasal = places.save_chair(
            clinic=self.clinic,
            by=self.adam,
            room=self.room,
            name="Nasal chair",
            supports=["supports_intranasal"],
        )

    def book_page(self, **data: Any) -> Any:
        self.login(self.alice)
        return self.client.post(reverse("scheduling:book", args=[self.pat.pk]), data)

    def consult(self, days: int, hour: int, staff: Any = None) -> Appointment:
        start = fixtures.at(self, days, hour)
        slot = services.Slot(staff or self.paula, start, start + timedelta(minutes=30))
        return services.book(patient=self.pat, kind="consultation", slot=slot, by=self.alice)

    # ---- chairs and routes ----------------------------------------------------------------

    def test_a_chair_that_cannot_do_iv_is_refused_for_an_iv_booking(self) -> None:
        response = self.book_page(
            kind="dosing",
            route="iv",
            start=fixtures.at(self, 0, 9).strftime("%Y-%m-%dT%H:%M"),
            staff=self.nick.pk,
            chair=self.nasal.pk,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("not equipped for IV infusion", str(_form_errors(response)["chair"]))
        self.assertContains(response, "Not booked", count=1, status_code=400)
        self.assertContains(response, "not equipped for IV infusion", count=1, status_code=400)
        self.assertFalse(Appointment.objects.exists())
        # The plan's route counts when none is typed in: an IV plan on the intranasal chair.
        plan = plan_fixtures.signed(self).plan
        start = fixtures.at(self, 0, 9)
        slot = services.Slot(self.nick, start, start + timedelta(hours=2), None, self.nasal)
        with self.assertRaisesMessage(services.ScheduleConflict, "not equipped for IV"):
            services.book(patient=self.pat, kind="dosing", slot=slot, by=self.alice, plan=plan)
        self.assertFalse(Appointment.objects.exists())
        # The same booking on a chair equipped for IV goes through.
        response = self.book_page(
            kind="dosing",
            route="iv",
            start=fixtures.at(self, 0, 9).strftime("%Y-%m-%dT%H:%M"),
            staff=self.nick.pk,
            chair=self.chair.pk,
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Appointment.objects.get().chair, self.chair)

    def test_the_booking_page_takes_the_route_from_the_patients_active_plan(self) -> None:
        plan_fixtures.signed(self)
        data = {
            "kind": "dosing",
            "start": fixtures.at(self, 0, 9).strftime("%Y-%m-%dT%H:%M"),
            "staff": self.nick.pk,
            "chair": self.nasal.pk,
        }
        response = self.book_page(**data)
        self.assertEqual(response.status_code, 400)
        self.assertIn("not equipped for IV infusion", str(_form_errors(response)["chair"]))
        self.assertFalse(Appointment.objects.exists())
        self.assertEqual(self.book_page(**{**data, "chair": self.chair.pk}).status_code, 302)

    def test_retiring_a_room_retires_its_chairs_after_listing_their_sessions(self) -> None:
        start = fixtures.at(self, 1, 13)
        slot = services.Slot(self.nick, start, start + timedelta(hours=2), None, self.nasal)
        booked = services.book(patient=self.quinn, kind="dosing", slot=slot, by=self.alice)
        self.login(self.adam)
        url = reverse("scheduling:room_edit", args=[self.room.pk])
        response = self.client.post(url, {"name": self.room.name})
        self.assertContains(response, "Quinn Roe", status_code=409)
        self.assertEqual(Chair.objects.filter(room=self.room, is_active=True).count(), 2)
        response = self.client.post(url, {"name": self.room.name, "confirmed": str(booked.pk)})
        self.assertEqual(response.status_code, 302)
        self.room.refresh_from_db()
        self.assertFalse(self.room.is_active)
        self.assertFalse(Chair.objects.filter(room=self.room, is_active=True).exists())
        self.assertEqual(Chair.objects.filter(room=self.room).count(), 2)
        # A chair cannot come back into service in a retired room.
        response = self.client.post(
            reverse("scheduling:chair_edit", args=[self.chair.pk]),
            {"room": self.room.pk, "name": "Chair 1", "supports_iv": "on", "is_active": "on"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("room", _form_errors(response))
        self.chair.refresh_from_db()
        self.assertFalse(self.chair.is_active)

    def test_an_admin_adds_a_room_and_a_chair_with_what_it_supports(self) -> None:
        self.login(self.adam)
        response = self.client.post(
            reverse("scheduling:room_add"), {"name": "Infusion suite", "is_active": "on"}
        )
        self.assertRedirects(response, reverse("scheduling:places"))
        room = Room.objects.get(clinic=self.clinic, name="Infusion suite")
        response = self.client.post(
            reverse("scheduling:chair_add"),
            {"room": room.pk, "name": "Bay 1", "supports_iv": "on", "is_active": "on"},
        )
        self.assertEqual(response.status_code, 302)
        chair = Chair.objects.get(name="Bay 1")
        self.assertEqual((chair.clinic, chair.room), (self.clinic, room))
        self.assertTrue(chair.supports("iv"))
        self.assertFalse(chair.supports("intranasal"))
        self.assertTrue(
            AuditEvent.objects.filter(
                clinic_id=self.clinic.pk,
                action="create",
                object_type__icontains="chair",
                object_id=str(chair.pk),
            ).exists()
        )
        page = self.client.get(reverse("scheduling:places"))
        self.assertContains(page, "Bay 1")
        self.assertContains(page, "IV infusion")
        self.assertNotContains(page, "supports_iv")

    def test_retiring_a_chair_with_sessions_warns_and_keeps_them(self) -> None:
        start = fixtures.at(self, 1, 10)
        slot = services.Slot(self.nick, start, start + timedelta(hours=2), None, self.chair)
        booked = services.book(patient=self.pat, kind="dosing", slot=slot, by=self.alice)
        self.login(self.adam)
        url = reverse("scheduling:chair_edit", args=[self.chair.pk])
        data = {
            "room": self.room.pk,
            "name": self.chair.name,
            "supports_iv": "on",
            "supports_intranasal": "on",
        }
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Pat Doe", status_code=409)
        self.assertContains(response, "10:00", status_code=409)
        self.assertContains(response, "Nick", status_code=409)
        self.chair.refresh_from_db()
        self.assertTrue(self.chair.is_active)
        response = self.client.post(url, {**data, "confirmed": str(booked.pk)})
        self.assertEqual(response.status_code, 302)
        self.chair.refresh_from_db()
        self.assertFalse(self.chair.is_active)
        booked.refresh_from_db()
        self.assertEqual((booked.state, booked.chair), ("booked", self.chair))
        event = AuditEvent.objects.filter(
            object_type__icontains="chair", object_id=str(self.chair.pk), action="update"
        ).last()
        assert event is not None
        self.assertEqual(event.detail["stranded_appointments_confirmed"], [booked.pk])
        # A retired chair takes no new bookings.
        later = fixtures.at(self, 2, 10)
        with self.assertRaisesMessage(services.ScheduleConflict, "is retired"):
            services.book(
                patient=self.quinn,
                kind="dosing",
                slot=services.Slot(self.nick, later, later + timedelta(hours=1), None, self.chair),
                by=self.alice,
            )

    def test_taking_iv_off_a_chair_lists_its_iv_sessions(self) -> None:
        plan = plan_fixtures.signed(self).plan
        start = fixtures.at(self, 1, 9)
        slot = services.Slot(self.nick, start, start + timedelta(hours=2), None, self.chair)
        booked = services.book(patient=self.pat, kind="dosing", slot=slot, by=self.alice, plan=plan)
        with self.assertRaises(places.Stranded) as caught:
            places.save_chair(
                clinic=self.clinic,
                by=self.adam,
                room=self.room,
                name=self.chair.name,
                supports=["supports_intranasal"],
                chair=self.chair,
            )
        self.assertEqual([a.pk for a in caught.exception.appointments], [booked.pk])
        self.chair.refresh_from_db()
        self.assertTrue(self.chair.supports_iv)

    # ---- closures -------------------------------------------------------------------------

    def test_a_holiday_that_strands_appointments_lists_them_before_confirming(self) -> None:
        booked = self.consult(3, 10)
        other_day = self.consult(4, 10)
        day = fixtures.at(self, 3, 9).date()
        self.login(self.adam)
        data = {"starts_on": day.isoformat(), "ends_on": day.isoformat(), "reason": "Holiday"}
        response = self.client.post(reverse("scheduling:closures"), data)
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "1 booked appointment would fall", status_code=409)
        self.assertContains(response, "Pat Doe", status_code=409)
        self.assertContains(response, f"{day:%a} {day.day} {day:%b %Y} 10:00", status_code=409)
        self.assertContains(response, "Paula", status_code=409)
        self.assertContains(response, "America/New_York time", status_code=409)
        self.assertContains(response, f'value="{booked.pk}"', status_code=409)
        self.assertFalse(ClinicClosure.objects.exists())
        # A confirmation that does not cover what is booked now is asked again.
        stale = self.client.post(
            reverse("scheduling:closures"), {**data, "confirmed": str(other_day.pk)}
        )
        self.assertEqual(stale.status_code, 409)
        self.assertFalse(ClinicClosure.objects.exists())
        response = self.client.post(
            reverse("scheduling:closures"), {**data, "confirmed": str(booked.pk)}
        )
        self.assertRedirects(response, reverse("scheduling:closures"))
        closure = ClinicClosure.objects.get()
        self.assertEqual(
            (closure.starts_on, closure.reason, closure.clinic), (day, "Holiday", self.clinic)
        )
        booked.refresh_from_db()
        self.assertEqual(booked.state, "booked")
        event = AuditEvent.objects.get(
            object_type__icontains="closure", object_id=str(closure.pk), action="create"
        )
        self.assertEqual(event.detail["stranded_appointments_confirmed"], [booked.pk])
        # Nothing more can be booked that day.
        response = self.book_page(
            kind="consultation",
            start=fixtures.at(self, 3, 14).strftime("%Y-%m-%dT%H:%M"),
            staff=self.paula.pk,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("closed", str(_form_errors(response)["start"]))
        self.assertEqual(Appointment.objects.count(), 2)

    def test_a_closure_over_empty_days_is_saved_at_once_and_can_be_removed(self) -> None:
        day = fixtures.at(self, 10, 9).date()
        self.login(self.adam)
        response = self.client.post(
            reverse("scheduling:closures"),
            {"starts_on": day.isoformat(), "ends_on": day.isoformat(), "reason": "Training"},
        )
        self.assertEqual(response.status_code, 302)
        closure = ClinicClosure.objects.get()
        self.client.post(reverse("scheduling:closure_remove", args=[closure.pk]))
        self.assertFalse(ClinicClosure.objects.exists())
        self.assertTrue(
            AuditEvent.objects.filter(
                object_type__icontains="closure", object_id=str(closure.pk), detail__removed=True
            ).exists()
        )

    # ---- staff hours and leave ------------------------------------------------------------

    def test_leave_blocks_booking(self) -> None:
        day = fixtures.at(self, 2, 9).date()
        self.login(self.adam)
        response = self.client.post(
            reverse("scheduling:leave_add", args=[self.paula.pk]),
            {"starts_on": day.isoformat(), "ends_on": day.isoformat(), "note": "Conference"},
        )
        self.assertEqual(response.status_code, 302)
        leave = StaffLeave.objects.get()
        self.assertEqual(
            (leave.staff, leave.clinic, leave.starts_on), (self.paula, self.clinic, day)
        )
        response = self.book_page(
            kind="consultation",
            start=fixtures.at(self, 2, 11).strftime("%Y-%m-%dT%H:%M"),
            staff=self.paula.pk,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("Paula is on leave", str(_form_errors(response)["staff"]))
        self.assertFalse(Appointment.objects.exists())

    def test_leave_over_booked_appointments_warns_first(self) -> None:
        booked = self.consult(2, 11)
        day = fixtures.at(self, 2, 9).date()
        self.login(self.adam)
        url = reverse("scheduling:leave_add", args=[self.paula.pk])
        data = {"starts_on": day.isoformat(), "ends_on": day.isoformat()}
        response = self.client.post(url, data)
        self.assertContains(response, "Pat Doe", status_code=409)
        self.assertFalse(StaffLeave.objects.exists())
        self.client.post(url, {**data, "confirmed": str(booked.pk)})
        self.assertTrue(StaffLeave.objects.filter(staff=self.paula).exists())

    def test_working_hours_are_edited_and_limit_bookings(self) -> None:
        self.login(self.adam)
        url = reverse("scheduling:staff_hours", args=[self.paula.pk])
        response = self.client.post(url, _week(mon=("09:00", "13:00"), tue=("12:00", "17:30")))
        self.assertRedirects(response, url)
        self.assertEqual(
            sorted(
                StaffAvailability.objects.filter(staff=self.paula, clinic=self.clinic).values_list(
                    "weekday", "starts", "ends"
                )
            ),
            [(0, time(9), time(13)), (1, time(12), time(17, 30))],
        )
        page = self.client.get(url)
        self.assertContains(page, 'value="12:00"')
        response = self.book_page(
            kind="consultation",
            start=fixtures.at(self, 0, 14).strftime("%Y-%m-%dT%H:%M"),
            staff=self.paula.pk,
        )
        self.assertIn("does not work then", str(_form_errors(response)["staff"]))
        self.assertFalse(Appointment.objects.exists())
        # Shortening the hours over a booking lists it first.
        booked = self.consult(0, 10)
        self.login(self.adam)
        response = self.client.post(url, _week(mon=("11:00", "13:00")))
        self.assertContains(response, "Pat Doe", status_code=409)
        self.assertEqual(StaffAvailability.objects.filter(staff=self.paula).count(), 2)
        self.client.post(url, {**_week(mon=("11:00", "13:00")), "confirmed": str(booked.pk)})
        self.assertEqual(StaffAvailability.objects.filter(staff=self.paula).count(), 1)

    def test_staff_see_their_own_hours_and_leave_but_cannot_change_them(self) -> None:
        places.set_working_hours(
            clinic=self.clinic, staff=self.nick, hours={2: (time(7), time(15))}, by=self.adam
        )
        day = fixtures.at(self, 20, 9).date()
        places.add_leave(
            clinic=self.clinic,
            staff=self.nick,
            starts_on=day,
            ends_on=day,
            note="Holiday",
            by=self.adam,
        )
        self.login(self.nick)
        page = self.client.get(reverse("scheduling:my_hours"))
        self.assertContains(page, "07:00–15:00")
        self.assertContains(page, "Holiday")
        self.assertNotContains(page, "Record leave")
        response = self.client.post(
            reverse("scheduling:staff_hours", args=[self.nick.pk]), _week(mon=("08:00", "09:00"))
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(StaffAvailability.objects.get(staff=self.nick).weekday, 2)
        response = self.client.post(
            reverse("scheduling:leave_remove", args=[StaffLeave.objects.get().pk])
        )
        self.assertEqual(response.status_code, 403)
        self.assertTrue(StaffLeave.objects.exists())

    def test_staff_of_another_clinic_are_not_found(self) -> None:
        self.login(self.adam)
        response = self.client.get(reverse("scheduling:staff_hours", args=[self.oscar.pk]))
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, self.oscar.full_name, status_code=404)

    # ---- opening hours --------------------------------------------------------------------

    def test_opening_hours_are_edited_and_limit_bookings(self) -> None:
        self.login(self.adam)
        url = reverse("scheduling:opening_hours")
        week = _week(**{d: ("09:00", "17:00") for d in ("mon", "tue", "wed", "thu")})
        response = self.client.post(url, week)
        self.assertRedirects(response, url)
        self.clinic.refresh_from_db()
        self.assertEqual(self.clinic.opening_hours["mon"], ["09:00", "17:00"])
        self.assertNotIn("fri", self.clinic.opening_hours)
        event = AuditEvent.objects.filter(object_type__icontains="clinic", action="update").last()
        assert event is not None
        self.assertIn("opening_hours", event.detail)
        response = self.book_page(
            kind="consultation",
            start=fixtures.at(self, 4, 10).strftime("%Y-%m-%dT%H:%M"),
            staff=self.paula.pk,
        )
        self.assertIn("clinic is closed", str(_form_errors(response)["start"]))
        self.assertFalse(Appointment.objects.exists())

    def test_shorter_opening_hours_list_the_appointments_they_strand(self) -> None:
        booked = self.consult(0, 8)
        self.consult(0, 12)
        self.login(self.adam)
        url = reverse("scheduling:opening_hours")
        week = _week(mon=("09:00", "17:00"))
        response = self.client.post(url, week)
        self.assertContains(response, "1 booked appointment would fall", status_code=409)
        self.assertContains(response, "08:00", status_code=409)
        self.clinic.refresh_from_db()
        self.assertEqual(self.clinic.opening_hours["mon"], ["08:00", "18:00"])
        self.client.post(url, {**week, "confirmed": str(booked.pk)})
        self.clinic.refresh_from_db()
        self.assertEqual(self.clinic.opening_hours, {"mon": ["09:00", "17:00"]})

    # ---- bad input ------------------------------------------------------------------------

    def assert_refused(self, url: str, data: dict[str, Any], field: str) -> None:
        before = self.snapshot()
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 400, (data, field))
        self.assertIn(field, _form_errors(response), (data, response.context["form"].errors))
        self.assertEqual(self.snapshot(), before)

    def snapshot(self) -> tuple[Any, ...]:
        self.clinic.refresh_from_db()
        return (
            list(Room.objects.values_list("pk", "name", "is_active")),
            list(Chair.objects.values_list("pk", "name", "is_active", "supports_iv", "room")),
            list(ClinicClosure.objects.values_list("pk")),
            list(StaffLeave.objects.values_list("pk")),
            list(StaffAvailability.objects.values_list("pk", "weekday", "starts", "ends")),
            self.clinic.opening_hours,
        )

    def test_bad_input_on_every_form_names_the_field_and_changes_nothing(self) -> None:
        other_room = Room.objects.create(clinic=self.other_clinic, name="Elsewhere")
        self.login(self.adam)
        room_add = reverse("scheduling:room_add")
        room_edit = reverse("scheduling:room_edit", args=[self.room.pk])
        for data in (
            {"name": ""},
            {"name": "   "},
            {"name": "x" * 101},
            {"name": "Consulting room"},
        ):
            self.assert_refused(room_add, data, "name")
            self.assert_refused(room_edit, data, "name")
        self.assert_refused(room_add, {"name": "New", "confirmed": "1,x"}, "confirmed")
        chair = {"room": self.room.pk, "name": "Chair 9", "supports_iv": "on"}
        chair_add = reverse("scheduling:chair_add")
        chair_edit = reverse("scheduling:chair_edit", args=[self.chair.pk])
        for url in (chair_add, chair_edit):
            self.assert_refused(url, {**chair, "room": other_room.pk}, "room")
            self.assert_refused(url, {**chair, "room": "abc"}, "room")
            self.assert_refused(url, {**chair, "room": ""}, "room")
            self.assert_refused(url, {**chair, "name": ""}, "name")
            self.assert_refused(url, {**chair, "name": "Nasal chair"}, "name")
            self.assert_refused(url, {**chair, "supports_iv": ""}, "supports_iv")
        hours = reverse("scheduling:opening_hours")
        staff_hours = reverse("scheduling:staff_hours", args=[self.nick.pk])
        for url in (hours, staff_hours):
            self.assert_refused(url, _week(mon=("09:00", "")), "mon_closes")
            self.assert_refused(url, _week(tue=("", "17:00")), "tue_opens")
            self.assert_refused(url, _week(wed=("17:00", "09:00")), "wed_closes")
            self.assert_refused(url, _week(thu=("noon", "17:00")), "thu_opens")
            self.assert_refused(url, _week(fri=("09:00", "25:00")), "fri_closes")
            self.assert_refused(url, {**_week(), "confirmed": "one"}, "confirmed")
        day = fixtures.at(self, 5, 9).date().isoformat()
        earlier = fixtures.at(self, 4, 9).date().isoformat()
        closure = {"starts_on": day, "ends_on": day, "reason": "Holiday"}
        closures = reverse("scheduling:closures")
        self.assert_refused(closures, {**closure, "starts_on": "2026-13-40"}, "starts_on")
        self.assert_refused(closures, {**closure, "ends_on": ""}, "ends_on")
        self.assert_refused(closures, {**closure, "ends_on": earlier}, "ends_on")
        self.assert_refused(closures, {**closure, "ends_on": "2099-01-01"}, "ends_on")
        self.assert_refused(closures, {**closure, "reason": ""}, "reason")
        self.assert_refused(closures, {**closure, "reason": "  "}, "reason")
        self.assert_refused(closures, {**closure, "reason": "x" * 201}, "reason")
        leave = reverse("scheduling:leave_add", args=[self.nick.pk])
        for data, field in (
            ({"starts_on": "soon", "ends_on": day}, "starts_on"),
            ({"starts_on": day, "ends_on": earlier}, "ends_on"),
            ({"starts_on": day, "ends_on": day, "note": "x" * 201}, "note"),
        ):
            before = self.snapshot()
            response = self.client.post(leave, data)
            self.assertEqual(response.status_code, 400)
            self.assertIn(field, response.context["leave_form"].errors)
            self.assertEqual(self.snapshot(), before)

    def test_bad_booking_route_names_the_field(self) -> None:
        response = self.book_page(
            kind="dosing",
            route="rectal",
            start=fixtures.at(self, 0, 9).strftime("%Y-%m-%dT%H:%M"),
            staff=self.nick.pk,
            chair=self.chair.pk,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("route", _form_errors(response))
        self.assertFalse(Appointment.objects.exists())
