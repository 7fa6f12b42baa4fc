from datetime import timedelta

import icalendar
from django.core import mail
from django.urls import reverse

from katclinic.api.models import ApiToken
from katclinic.clinics.models import ClinicSetting
from katclinic.scheduling import ical, services
from katclinic.scheduling.models import AppointmentRequest, CalendarFeed, Room
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase


class CalendarFeedTest(ClinicTestCase):
    def setUp(self) -> None:
        chair = fixtures.chairs(self)[0]
        start = fixtures.at(self, 0, 9)
        services.book(
            patient=self.pat,
            kind="dosing",
            by=self.alice,
            slot=services.Slot(self.nick, start, start + timedelta(hours=3), None, chair),
        )

    def test_the_feed_shows_type_place_and_time_but_no_patient(self) -> None:
        token = ical.issue_feed(clinic=self.clinic, staff=self.nick)
        response = self.client.get(reverse("scheduling:ical_feed", args=[token]))
        text = response.content.decode()
        self.assertIn("SUMMARY:Dosing session", text)
        self.assertIn("LOCATION:Treatment room / Chair 1", text)
        for identifier in ("Pat", "Doe", "PD", self.pat.mrn, "1985"):
            self.assertNotIn(identifier, text)

    def test_long_lines_are_folded_and_special_characters_escaped(self) -> None:
        # RFC 5545 section 3.1: lines longer than 75 octets are folded; ; , and \\ escaped.
        self.clinic.name = "North Clinic; ketamine, esketamine and integration " + "x" * 80
        self.clinic.save(update_fields=["name"])
        token = ical.issue_feed(clinic=self.clinic, staff=self.nick)
        text = self.client.get(reverse("scheduling:ical_feed", args=[token])).content.decode()
        self.assertTrue(all(len(line.encode()) <= 75 for line in text.split("\r\n")), text)
        self.assertIn("X-WR-CALNAME:North Clinic\\; ketamine\\, esketamine", text)
        Room.objects.filter(clinic=self.clinic, name="Treatment room").update(
            name="Room 2; east, upstairs"
        )
        text = self.client.get(reverse("scheduling:ical_feed", args=[token])).content.decode()
        self.assertIn("LOCATION:Room 2\\; east\\, upstairs / Chair 1", text)
        parsed = icalendar.Calendar.from_ical(text)
        events = parsed.walk("VEVENT")
        self.assertEqual(str(events[0]["LOCATION"]), "Room 2; east, upstairs / Chair 1")
        self.assertEqual([str(e["SUMMARY"]) for e in events], ["Dosing session"])
        self.assertEqual(str(events[0]["STATUS"]), "TENTATIVE")

    def test_a_revoked_or_replaced_feed_stops_working(self) -> None:
        self.login(self.nick)
        self.client.post(reverse("scheduling:calendar_feed"), {"action": "issue"})
        old = ical.issue_feed(clinic=self.clinic, staff=self.nick)
        new = ical.issue_feed(clinic=self.clinic, staff=self.nick)
        self.assertEqual(
            self.client.get(reverse("scheduling:ical_feed", args=[old])).status_code, 404
        )
        self.assertEqual(
            self.client.get(reverse("scheduling:ical_feed", args=[new])).status_code, 200
        )
        self.client.post(reverse("scheduling:calendar_feed"), {"action": "revoke"})
        self.assertEqual(
            self.client.get(reverse("scheduling:ical_feed", args=[new])).status_code, 404
        )
        feeds = CalendarFeed.objects.filter(staff=self.nick)
        self.assertEqual(feeds.count(), 3)
        self.assertFalse(feeds.filter(revoked_at__isnull=True).exists(), "every feed revoked")

    def test_only_the_token_digest_is_stored(self) -> None:
        token = ical.issue_feed(clinic=self.clinic, staff=self.nick)
        feed = ical.feed_for_token(token)
        assert feed is not None
        self.assertNotIn(token, feed.token_hash)

    def test_the_appointments_api_lists_the_clinic(self) -> None:
        _, raw = ApiToken.issue(
            user=self.alice, clinic=self.clinic, name="t", scopes=["appointments:read"]
        )
        response = self.client.get(
            reverse("api:appointments_list"), headers={"Authorization": f"Bearer {raw}"}
        )
        self.assertEqual(response.json()["items"][0]["kind"], "dosing")


class OnlineRequestTest(ClinicTestCase):
    def test_requests_are_refused_unless_the_clinic_offers_them(self) -> None:
        url = reverse("scheduling:request_slot", args=[self.clinic.slug])
        self.assertEqual(self.client.get(url).status_code, 404)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                url, {"name": "Robin Lee", "email": "robin@example.org", "preferred_times": "Tue"}
            )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(AppointmentRequest.objects.exists())
        self.assertEqual(mail.outbox, [])

    def test_a_request_is_stored_listed_and_front_desk_is_emailed(self) -> None:
        ClinicSetting.objects.create(
            clinic=self.clinic, key="scheduling_online_requests", value=True, changed_by=self.adam
        )
        ClinicSetting.objects.create(
            clinic=self.clinic,
            key="scheduling_front_desk_email",
            value="desk@example.org",
            changed_by=self.adam,
        )
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                reverse("scheduling:request_slot", args=[self.clinic.slug]),
                {
                    "name": "Robin Lee",
                    "email": "robin@example.org",
                    "preferred_times": "Tuesday mornings",
                },
            )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(AppointmentRequest.objects.get().name, "Robin Lee")
        self.assertEqual(mail.outbox[0].to, ["desk@example.org"])
        self.assertNotIn("Robin", mail.outbox[0].body)
        self.login(self.alice)
        self.assertContains(self.client.get(reverse("scheduling:requests")), "Robin Lee")
