"""At-home doses respect the whole record: any other dose, open safety alerts and the
observation time after the dose. Each refusal is shown with its upstream fact removed."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from katclinic.athome import services
from katclinic.athome.models import CheckIn, HomeSession, PostSessionCheckIn, SessionState
from katclinic.athome.tests.factories import GOOD, prescription, taken_session
from katclinic.athome.tests.test_after_session import CALM
from katclinic.clinics.registry import set_setting
from katclinic.dosing.doses import last_dose_at
from katclinic.dosing.models import Administration
from katclinic.dosing.tests import factories as dosing
from katclinic.measures import safety
from katclinic.measures.models import SafetyAlert
from katclinic.testing import ClinicTestCase


class WholeRecordTest(ClinicTestCase):
    def setUp(self) -> None:
        self.rx = prescription(self.pat, self.paula)

    def clinic_dose(self, *, hours_ago: float) -> Administration:
        plan = dosing.signed_plan(self.pat, self.paula)
        sess = dosing.session(self.pat, plan, self.nick)
        lot = dosing.stock(self.clinic, self.nick)
        return Administration.objects.create(
            clinic=self.clinic,
            session=sess,
            product=lot.product,
            stock_lot=lot,
            lot_number=lot.lot_number,
            expiry=lot.expiry,
            dose_mg=Decimal("56"),
            route="intranasal",
            started_at=timezone.now() - timedelta(hours=hours_ago),
            given_by=self.nick,
        )

    def open_alert(self) -> SafetyAlert:
        return SafetyAlert.objects.create(
            clinic=self.clinic, patient=self.pat, kind="phq9_item9", reason="PHQ-9 item 9: 1"
        )

    def assert_start_refused(self, words: str) -> None:
        with self.assertRaisesMessage(services.AtHomeError, words):
            services.start_session(patient=self.pat)
        self.assertFalse(HomeSession.objects.exists())

    def test_a_clinic_dose_the_same_hour_refuses_the_session_and_stores_nothing(self) -> None:
        self.clinic_dose(hours_ago=1)
        self.assert_start_refused("counting doses in clinic and at home")

    def test_without_the_clinic_dose_the_session_starts(self) -> None:
        session = services.start_session(patient=self.pat)
        self.assertEqual(session.state, SessionState.CHECKING_IN)

    def test_an_old_enough_clinic_dose_lets_the_session_start(self) -> None:
        self.clinic_dose(hours_ago=80)  # past the protocol's 72 h and the clinic's 48 h
        self.assertEqual(services.start_session(patient=self.pat).state, SessionState.CHECKING_IN)

    def test_the_clinic_interval_applies_when_longer_than_the_protocols(self) -> None:
        self.clinic_dose(hours_ago=80)
        set_setting(
            clinic=self.clinic,
            key="athome.min_hours_after_any_dose",
            raw=96,
            by=self.adam,
            reason="longer gap",
        )
        self.assert_start_refused("counting doses in clinic and at home")

    def test_last_dose_covers_clinic_and_home(self) -> None:
        self.assertIsNone(last_dose_at(patient=self.pat))
        given = self.clinic_dose(hours_ago=100)
        self.assertEqual(last_dose_at(patient=self.pat), given.started_at)
        home = taken_session(self.pat, hours_ago=3)
        self.assertEqual(last_dose_at(patient=self.pat), home.taken_at)

    def test_an_open_safety_alert_refuses_the_session_and_stores_nothing(self) -> None:
        self.open_alert()
        self.assert_start_refused("call the clinic")

    def test_an_acknowledged_alert_still_refuses_until_closed(self) -> None:
        alert = safety.acknowledge_alert(alert=self.open_alert(), by=self.paula)
        self.assert_start_refused("call the clinic")
        safety.close_alert(
            alert=alert, action="patient_contacted", note="Spoke with Pat; safe.", by=self.paula
        )
        self.assertEqual(services.start_session(patient=self.pat).state, SessionState.CHECKING_IN)

    def test_an_alert_raised_after_the_start_refuses_the_check_in(self) -> None:
        session = services.start_session(patient=self.pat)
        self.open_alert()
        with self.assertRaisesMessage(services.AtHomeError, "call the clinic"):
            services.submit_checkin(session=session, answers=GOOD)
        self.assertFalse(CheckIn.objects.exists())
        session.refresh_from_db()
        self.assertEqual(session.state, SessionState.CHECKING_IN)

    def test_a_clinic_dose_after_the_check_in_refuses_taking_the_dose(self) -> None:
        session = services.start_session(patient=self.pat)
        services.submit_checkin(session=session, answers=GOOD)
        self.clinic_dose(hours_ago=0.5)
        with self.assertRaisesMessage(services.AtHomeError, "counting doses"):
            services.mark_taken(session=session)
        session.refresh_from_db()
        self.assertEqual((session.state, session.taken_at), (SessionState.OPEN, None))

    def test_the_portal_shows_the_refusal_and_stores_nothing(self) -> None:
        self.open_alert()
        self.login(self.pat_user)
        response = self.client.post(reverse("athome:start", args=[self.pat.pk]), follow=True)
        self.assertContains(response, "call the clinic")
        self.assertFalse(HomeSession.objects.exists())


class ObservationTimeTest(ClinicTestCase):
    """The sublingual protocol observes for 120 minutes after the dose."""

    def setUp(self) -> None:
        prescription(self.pat, self.paula)
        self.login(self.pat_user)

    def post(self, session: HomeSession) -> Any:
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(reverse("athome:after", args=[self.pat.pk, session.pk]), CALM)

    def test_the_post_session_check_in_at_minute_0_is_refused_and_nothing_stored(self) -> None:
        session = taken_session(self.pat, hours_ago=0)
        response = self.post(session)
        self.assertContains(response, "once your observation time has passed", status_code=400)
        self.assertFalse(PostSessionCheckIn.objects.exists())
        session.refresh_from_db()
        self.assertEqual(session.state, SessionState.TAKEN)

    def test_before_the_observation_time_ends_it_is_still_refused(self) -> None:
        session = taken_session(self.pat, hours_ago=1.9)
        self.assertEqual(self.post(session).status_code, 400)
        self.assertFalse(PostSessionCheckIn.objects.exists())

    def test_after_the_observation_time_it_is_accepted(self) -> None:
        session = taken_session(self.pat, hours_ago=2.1)
        self.assertEqual(self.post(session).status_code, 302)
        self.assertTrue(PostSessionCheckIn.objects.filter(session=session).exists())

    def test_the_session_page_says_when_the_check_in_opens_instead_of_offering_it(self) -> None:
        session = taken_session(self.pat, hours_ago=0.5)
        page = self.client.get(reverse("athome:my_session", args=[self.pat.pk, session.pk]))
        self.assertContains(page, "once your observation time has passed")
        self.assertNotContains(page, "Send post-session check-in")
