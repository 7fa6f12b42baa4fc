"""The dosing pages as each role meets them: the floor board, notes, forms that refuse, the API."""

from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.registry import set_setting
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services
from katclinic.dosing.models import (
    Administration,
    Checkpoint,
    DosingSession,
    InSessionAlert,
    SupportNote,
)
from katclinic.dosing.statemachine import SessionState as S
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase, json_block

# The test clinic works in its default zone; forms take its wall-clock time.
CLINIC_ZONE = ZoneInfo("America/New_York")


class PagesTest(ClinicTestCase):
    def dosing_session(self) -> DosingSession:
        self.lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=55))
        services.record_administration(
            session=sess,
            lot=self.lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=50),
            by=self.nick,
        )
        return sess

    def test_the_floor_board_shows_each_chair_with_initials_only(self) -> None:
        self.dosing_session()
        self.login(self.nick)
        # Session, user, roles, the grace setting, the sessions in chairs (with initials and
        # protocol), their alerts and their readings.
        with self.assertNumQueries(7):
            response = self.client.get(
                reverse("dosing:board_rows"), headers={"X-Background-Refresh": "1"}
            )
        self.assertContains(response, "Chair 1 · PD")
        self.assertContains(response, "Dosing")
        self.assertContains(response, "check overdue")
        for private in ("Pat", "Doe", "K000001", "1985"):
            self.assertNotContains(response, private)

    def test_the_board_says_a_recheck_is_overdue_until_its_reading_is_recorded(self) -> None:
        sess = self.dosing_session()
        # Above the default recheck limit (systolic 160), long enough ago to be overdue.
        mon.record_checkpoint(
            session=DosingSession.objects.get(pk=sess.pk),
            label="extra reading",
            taken_at=timezone.now() - timedelta(minutes=45),
            by=self.nick,
            values={"systolic": 165, "diastolic": 90, "heart_rate": 74, "spo2": 98, "moaas": 5},
        )
        alert = InSessionAlert.objects.get(session=sess, level="recheck")
        due = alert.recheck_due_at
        self.assertIsNotNone(due)
        assert due is not None
        self.assertLess(due, timezone.now())
        self.login(self.nick)
        board = reverse("dosing:board_rows")
        # As many statements with alerts as without: the readings say which are rechecked.
        with self.assertNumQueries(7):
            response = self.client.get(board, headers={"X-Background-Refresh": "1"})
        self.assertContains(response, "Recheck overdue")
        self.assertContains(response, "1 alert open")
        mon.record_checkpoint(
            session=DosingSession.objects.get(pk=sess.pk),
            label="recheck",
            taken_at=timezone.now(),
            by=self.nick,
            values={"systolic": 126, "diastolic": 80, "heart_rate": 74, "spo2": 98, "moaas": 5},
            recheck_of=alert,
        )
        response = self.client.get(board, headers={"X-Background-Refresh": "1"})
        self.assertNotContains(response, "Recheck overdue")
        self.assertContains(response, "1 alert open")

    def test_the_board_page_polls_every_ten_seconds_as_a_background_refresh(self) -> None:
        self.login(self.tara)
        response = self.client.get(reverse("dosing:board"))
        self.assertContains(response, 'hx-trigger="every 10s"')
        self.assertContains(response, "X-Background-Refresh")

    def test_a_therapist_writes_a_note_linked_to_the_session_but_cannot_record_a_dose(self) -> None:
        sess = self.dosing_session()
        self.login(self.tara)
        response = self.client.post(
            reverse("dosing:note_new", args=[sess.pk]),
            {
                "kind": "preparation",
                "intention": "Meet whatever comes with curiosity",
                "supportive_touch_consent": "true",
                "agreed_support": "Hand on shoulder if asked",
                "sign": "on",
            },
        )
        self.assertRedirects(response, reverse("dosing:session", args=[sess.pk]))
        note = SupportNote.objects.get()
        self.assertEqual(
            (note.session, note.author, note.supportive_touch_consent), (sess, self.tara, True)
        )
        self.assertIsNotNone(note.signed_at)
        response = self.client.post(
            reverse("dosing:administer", args=[sess.pk]),
            {
                "lot": self.lot.pk,
                "dose_mg": "28",
                "started_at": timezone.localtime(timezone=CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M"),
            },
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Administration.objects.count(), 1)

    def test_a_signed_note_is_changed_only_by_an_addendum(self) -> None:
        sess = f.session(self.pat, f.signed_plan(self.pat, self.paula), self.nick)
        self.login(self.tara)
        self.client.post(
            reverse("dosing:note_new", args=[sess.pk]), {"kind": "session", "observations": "Calm"}
        )
        note = SupportNote.objects.get()
        self.client.post(reverse("dosing:note_sign", args=[note.pk]))
        self.assertEqual(
            self.client.post(reverse("dosing:note_sign", args=[note.pk])).status_code, 400
        )
        self.client.post(
            reverse("dosing:note_addendum", args=[note.pk]), {"text": "Later: tearful at 60 min"}
        )
        note.refresh_from_db()
        self.assertEqual(note.observations, "Calm")
        self.assertEqual(
            list(note.addenda.values_list("observations", flat=True)), ["Later: tearful at 60 min"]
        )

    def test_an_invalid_reading_re_renders_with_the_field_error_and_stores_nothing(self) -> None:
        sess = self.dosing_session()
        self.login(self.nick)
        response = self.client.post(
            reverse("dosing:checkpoint", args=[sess.pk]),
            {
                "label": "about 40 minutes",
                "taken_at": timezone.localtime(timezone=CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M"),
                "systolic": "90",
                "diastolic": "120",
            },
        )
        self.assertContains(response, "Diastolic must be below systolic.", status_code=400)
        self.assertEqual(
            Checkpoint.objects.filter(session=sess).exclude(label="pre-dose").count(), 0
        )

    def test_a_high_reading_posted_by_the_nurse_is_highlighted_with_its_action(self) -> None:
        sess = self.dosing_session()
        services.finish_dosing(session=sess, by=self.nick)
        self.login(self.nick)
        self.client.post(
            reverse("dosing:checkpoint", args=[sess.pk]),
            {
                "label": "about 40 minutes",
                "taken_at": timezone.localtime(timezone=CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M"),
                "systolic": "165",
                "diastolic": "100",
                "heart_rate": "80",
            },
        )
        response = self.client.get(reverse("dosing:session", args=[sess.pk]))
        self.assertContains(response, 'class="out-of-range"')
        self.assertContains(response, "Recheck systolic blood pressure in 5 minutes.")
        self.assertContains(response, 'id="vitals-data"')

    def test_a_refused_dose_re_renders_the_session_with_the_reason(self) -> None:
        sess = self.dosing_session()
        self.login(self.nick)
        response = self.client.post(
            reverse("dosing:administer", args=[sess.pk]),
            {
                "lot": self.lot.pk,
                "dose_mg": "56",
                "started_at": timezone.localtime(timezone=CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M"),
            },
        )
        self.assertContains(response, "record each device separately", status_code=400)
        self.assertEqual(Administration.objects.count(), 1)

    def test_the_sessions_tab_lists_the_patients_sessions_and_audits_the_view(self) -> None:
        sess = f.session(self.pat, f.signed_plan(self.pat, self.paula), self.nick)
        f.session(self.pat, f.signed_plan(self.pat, self.paula), self.nick)
        self.login(self.tara)
        url = reverse("dosing:patient_sessions", args=[self.pat.pk])
        self.client.get(url)
        # The session and user, memberships, the patient, the audit event and the sessions
        # with their protocols' titles, however many sessions.
        with self.assertNumQueries(6):
            response = self.client.get(url)
        self.assertContains(response, reverse("dosing:session", args=[sess.pk]))
        self.assertContains(response, f"<td>{sess.plan.protocol_version.title}</td>")
        self.assertContains(response, f"<td>{sess.chair}</td>")
        self.assertContains(response, f'<span class="badge">{sess.get_state_display()}</span>')
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.VIEW, patient_id=self.pat.pk, detail__section="sessions"
            ).exists()
        )

    def test_the_api_returns_a_session_with_its_administrations_and_checkpoints(self) -> None:
        sess = self.dosing_session()
        _, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="t", scopes=[Scope.SESSIONS_READ]
        )
        response = self.client.get(
            f"/api/sessions/{sess.pk}", headers={"Authorization": f"Bearer {raw}"}
        )
        body = response.json()
        self.assertEqual(body["state"], S.DOSING)
        self.assertEqual([a["dose_mg"] for a in body["administrations"]], ["28.00"])
        self.assertEqual([c["label"] for c in body["checkpoints"]], ["pre-dose"])
        listing = self.client.get(
            f"/api/sessions/patients/{self.pat.pk}", headers={"Authorization": f"Bearer {raw}"}
        )
        self.assertEqual([s["id"] for s in listing.json()], [sess.pk])

    def test_the_api_gives_only_the_latest_checkpoints_when_asked_for_recent_ones(self) -> None:
        sess = self.dosing_session()
        first = Checkpoint.objects.get(session=sess)
        for minutes in (10, 20, 30):
            reading = Checkpoint.objects.get(pk=first.pk)
            reading.pk = None
            reading.label = f"+{minutes} min"
            reading.taken_at = first.taken_at + timedelta(minutes=minutes)
            reading.save()
        _, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="t", scopes=[Scope.SESSIONS_READ]
        )
        auth = {"Authorization": f"Bearer {raw}"}
        body = self.client.get(f"/api/sessions/{sess.pk}?recent=2", headers=auth).json()
        self.assertEqual([c["label"] for c in body["checkpoints"]], ["+20 min", "+30 min"])
        everything = self.client.get(f"/api/sessions/{sess.pk}", headers=auth).json()
        self.assertEqual(len(everything["checkpoints"]), 4)
        events = AuditEvent.objects.count()
        for bad in ("0", "501", "two"):
            response = self.client.get(f"/api/sessions/{sess.pk}?recent={bad}", headers=auth)
            self.assertEqual(response.status_code, 422, bad)
            self.assertIn("recent", response.content.decode())
        self.assertEqual(AuditEvent.objects.count(), events)

    def test_the_api_refuses_a_token_without_the_sessions_scope(self) -> None:
        sess = self.dosing_session()
        _, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="t", scopes=[Scope.PATIENTS_READ]
        )
        response = self.client.get(
            f"/api/sessions/{sess.pk}", headers={"Authorization": f"Bearer {raw}"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("state", response.json())
        self.assertDenialsRecorded(f"/api/sessions/{sess.pk}")

    def test_the_session_page_offers_the_next_step_at_every_stage(self) -> None:
        f.consent(self.pat, self.nick)
        sess = f.session(self.pat, f.signed_plan(self.pat, self.paula), self.nick)
        self.login(self.paula)
        url = reverse("dosing:session", args=[sess.pk])
        self.assertContains(self.client.get(url), "Check in")
        services.transition(session=sess, to=S.CHECKED_IN, by=self.nick)
        self.assertContains(self.client.get(url), "Record and run the checks")
        f.pre_dose(
            sess, self.nick, vitals={"systolic": 150, "diastolic": 85, "heart_rate": 70, "spo2": 98}
        )
        page = self.client.get(url)
        self.assertContains(page, "Start dosing")
        self.assertContains(page, 'action="/dosing/checks/')
        self.client.post(
            reverse("dosing:override", args=[sess.gate_checks.get(key="vitals_within_limits").pk]),
            {"reason": "Manual recheck 134/84"},
        )
        self.assertRedirects(self.client.post(reverse("dosing:start_dosing", args=[sess.pk])), url)
        self.assertContains(self.client.get(url), "Record dose")


class VitalsChartTest(ClinicTestCase):
    """The session page's chart data: every reading, its units and the limits in force."""

    def dosed_session(self) -> DosingSession:
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=55))
        services.record_administration(
            session=sess,
            lot=f.stock(self.clinic, self.nick),
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=50),
            by=self.nick,
        )
        return sess

    def reading(self, sess: DosingSession, label: str, **values: str) -> None:
        taken = timezone.localtime(timezone=CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M")
        answer = self.client.post(
            reverse("dosing:checkpoint", args=[sess.pk]),
            {"label": label, "taken_at": taken} | values,
        )
        self.assertEqual(answer.status_code, 302)

    def chart(self, sess: DosingSession) -> dict[str, Any]:
        [chart] = json_block(
            self.client.get(reverse("dosing:session", args=[sess.pk])), "vitals-data"
        )
        return chart

    def test_every_reading_is_in_the_chart_with_its_unit_and_nothing_is_clamped(self) -> None:
        sess = self.dosed_session()
        self.login(self.nick)
        self.reading(sess, "about 40 minutes", systolic="232", diastolic="121", heart_rate="64")
        chart = self.chart(sess)
        series = {s["label"]: s for s in chart["series"]}
        self.assertEqual(list(series), ["Systolic", "Diastolic", "Heart rate", "SpO2"])
        # The pre-dose reading and the one just posted; the script grows the 40-200 axis to 240.
        self.assertEqual(sorted(p["y"] for p in series["Systolic"]["points"]), [128, 232])
        self.assertEqual(sorted(p["y"] for p in series["Heart rate"]["points"]), [64, 72])
        minutes = [p["x"] for p in series["Systolic"]["points"]]
        self.assertEqual(minutes, sorted(minutes))  # drawn in time order
        self.assertEqual([p["y"] for p in series["SpO2"]["points"]], [98])
        self.assertEqual([s["unit"] for s in series.values()], ["mmHg", "mmHg", "bpm", "%"])
        self.assertTrue(all(s["marks"] for s in chart["series"]))
        self.assertEqual((chart["y"]["min"], chart["y"]["max"], chart["y"]["step"]), (40, 200, 20))
        self.assertEqual(chart["x"]["unit"], "min")
        self.assertIn("2 readings", chart["summary"])

    def test_the_limits_drawn_are_the_ones_in_force_for_the_session(self) -> None:
        sess = self.dosed_session()
        set_setting(
            clinic=self.clinic, key="dosing_stop_systolic", raw="171", by=self.adam, reason="test"
        )
        self.login(self.nick)
        levels = {level["label"]: level["y"] for level in self.chart(sess)["levels"]}
        self.assertEqual(levels["systolic stop > 171"], 171)
        self.assertEqual(levels["SpO2 stop < 92"], 92)

    def test_a_session_without_readings_has_no_chart(self) -> None:
        sess = f.session(self.pat, f.signed_plan(self.pat, self.paula, "esketamine_trd"), self.nick)
        self.login(self.nick)
        page = self.client.get(reverse("dosing:session", args=[sess.pk]))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'id="vitals-data"')
        self.assertNotContains(page, 'data-chart="vitals-data"')
