"""The nurse's session page runs a fixed set of statements, however many readings and alerts
the session has: every list is read once in the view, none from inside the template."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import Action, AuditEvent
from katclinic.dosing import access, integrations, services, views
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing.forms import DischargeForm, SideEffectForm
from katclinic.dosing.models import DosingSession, InSessionAlert
from katclinic.dosing.rems_form import ensure_rems_form
from katclinic.dosing.tests import factories as f
from katclinic.measures.models import AlertState, CloseAction, SafetyAlert
from katclinic.patients.models import Allergy
from katclinic.testing import ClinicTestCase

# Session, user, roles; the session with its patient, plan, clinic and REMS form; the audit
# event; readings, doses, alerts; the clinic's settings (the checkpoint grace and the limits
# the vitals chart draws); the signed plan version; events, gate, allergies, medications,
# safety alerts, side effects, readiness assessments, notes.
SESSION_PAGE_STATEMENTS = 18

# The readings table's body as `dosing/session.html` wrote it before the view built it.
TEMPLATE_READINGS = """\
  {% for row in readings %}<tr{% if row.alerts %} class="out-of-range"{% endif %}><td>{{ row.when }}</td><td>{{ row.reading.label }}{% if row.reading.recheck_of_id %} <span class="badge">recheck</span>{% endif %}</td><td>{{ row.bp }}</td>{% for value in row.values %}<td>{{ value }}</td>{% endfor %}</tr>
  {% for a in row.alerts %}<tr class="out-of-range"><td></td><td colspan="7"><span class="badge danger">{{ a.get_level_display }}</span> {{ a.measure }} {{ a.value }} (limit {{ a.limit }}): {{ a.action }}</td></tr>{% endfor %}{% endfor %}
"""

NORMAL = {"systolic": 126, "diastolic": 80, "heart_rate": 74, "spo2": 98, "moaas": 5}
HIGH = {"systolic": 200, "diastolic": 118, "heart_rate": 74, "spo2": 98, "moaas": 5}
# Above the default recheck limit (systolic 160) and below the others.
RECHECK = {"systolic": 165, "diastolic": 90, "heart_rate": 74, "spo2": 98, "moaas": 5}


def _values(rows: list[Any]) -> list[dict[str, Any]]:
    return [{f.attname: getattr(r, f.attname) for f in type(r)._meta.concrete_fields} for r in rows]


class SessionPageStatementsTest(ClinicTestCase):
    def setUp(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        self.sess = f.ready_to_dose(
            self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=55)
        )
        services.record_administration(
            session=self.sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=50),
            by=self.nick,
        )
        services.finish_dosing(session=self.sess, by=self.nick)
        self.url = reverse("dosing:session", args=[self.sess.pk])
        self.login(self.nick)

    def readings(self, count: int, values: dict[str, int]) -> None:
        for n in range(count):
            mon.record_checkpoint(
                session=DosingSession.objects.get(pk=self.sess.pk),
                label="extra reading",
                taken_at=timezone.now() - timedelta(minutes=40) + timedelta(minutes=n),
                by=self.nick,
                values=values,
            )

    def test_the_page_runs_the_same_statements_with_twenty_readings_and_their_alerts(self) -> None:
        self.readings(2, NORMAL)
        self.client.get(self.url)  # per-process caches (parsed protocol, links) warm up
        with self.assertNumQueries(SESSION_PAGE_STATEMENTS):
            self.assertEqual(self.client.get(self.url).status_code, 200)
        self.readings(16, NORMAL)
        self.readings(2, HIGH)
        self.assertTrue(InSessionAlert.objects.filter(session=self.sess).exists())
        with self.assertNumQueries(SESSION_PAGE_STATEMENTS):
            page = self.client.get(self.url)
        self.assertContains(page, 'class="out-of-range"')
        self.assertContains(page, "200/118")

    def test_the_rechecks_worked_out_from_the_page_rows_are_the_pending_rechecks(self) -> None:
        self.readings(2, RECHECK)
        sess = DosingSession.objects.get(pk=self.sess.pk)
        alerts = list(sess.alerts.all())
        pending = mon.pending_rechecks(sess)
        self.assertEqual(mon.rechecks_pending_in(alerts, sess.checkpoints.all()), pending)
        self.assertTrue(pending, "a reading above the recheck limit asks for one")
        recheck = pending[0]
        mon.record_checkpoint(
            session=sess,
            label="recheck",
            taken_at=timezone.now(),
            by=self.nick,
            values=NORMAL,
            recheck_of=recheck,
        )
        after = mon.rechecks_pending_in(list(sess.alerts.all()), sess.checkpoints.all())
        self.assertNotIn(recheck, after)
        self.assertEqual(after, mon.pending_rechecks(sess))

    def test_the_pages_compiled_lists_are_the_related_managers_rows(self) -> None:
        # Each list the page reads through katclinic.lib.rows.Compiled, in its order, with
        # the same joined rows.
        self.readings(3, HIGH)
        mon.record_side_effect(
            session=self.sess, data={"kind": "nausea", "severity": "mild"}, by=self.nick
        )
        Allergy.objects.create(
            clinic=self.clinic, patient=self.pat, recorded_by=self.nick, substance="Latex"
        )
        Allergy.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            recorded_by=self.nick,
            substance="Penicillin",
            is_active=False,
        )
        sess = DosingSession.objects.get(pk=self.sess.pk)
        patient = sess.patient
        expected: dict[str, tuple[list[Any], Any]] = {
            "readings": (views._READINGS(session=sess.pk), sess.checkpoints.all()),
            "doses": (
                views._DOSES(session=sess.pk),
                sess.administrations.select_related("given_by"),
            ),
            "alerts": (
                views._ALERTS(session=sess.pk),
                sess.alerts.select_related("acknowledged_by"),
            ),
            "events": (views._EVENTS(session=sess.pk), sess.events.select_related("by")),
            "side effects": (views._SIDE_EFFECTS(session=sess.pk), sess.side_effects.all()),
            "assessments": (
                views._ASSESSMENTS(session=sess.pk),
                sess.discharge_assessments.all(),
            ),
            "notes": (views._NOTES(session=sess.pk), sess.support_notes.select_related("author")),
            "allergies": (
                views._ALLERGIES(patient=patient.pk),
                patient.allergies.filter(is_active=True),
            ),
            "medications": (
                views._MEDICATIONS(patient=patient.pk),
                patient.medications.filter(is_active=True),
            ),
        }
        for name, (found, orm) in expected.items():
            with self.subTest(name):
                self.assertEqual(_values(found), _values(list(orm)))
        self.assertEqual([a.substance for a in expected["allergies"][0]], ["Latex"])
        self.assertTrue(expected["alerts"][0] and expected["events"][0])
        self.assertTrue(expected["doses"][0] and expected["side effects"][0])
        with self.assertNumQueries(0):
            self.assertEqual(
                [a.given_by.full_name for a in expected["doses"][0]],
                [a.given_by.full_name for a in expected["doses"][1]],
            )
            self.assertEqual(
                [e.by.full_name for e in expected["events"][0]],
                [e.by.full_name for e in expected["events"][1]],
            )
        gate = list(sess.gate_checks.select_related("overridden_by").order_by("-evaluation", "pk"))
        newest = [c for c in gate if c.evaluation == gate[0].evaluation]
        self.assertEqual(_values(services.latest_gate(sess)), _values(newest))
        self.assertTrue(newest)

    def test_the_compiled_session_fetch_is_the_orms_with_its_joined_rows(self) -> None:
        orm = (
            DosingSession.objects.select_related(
                "patient", "plan__protocol_version", "clinic", "rems_form"
            )
            .filter(clinic=self.clinic)
            .get(pk=self.sess.pk)
        )
        found = access._SESSION(session=self.sess.pk, clinic=self.clinic.pk)
        self.assertEqual(_values(found), _values([orm]))
        with self.assertNumQueries(0):
            session = found[0]
            joined = [session.patient, session.plan, session.plan.protocol_version, session.clinic]
            rems = getattr(session, "rems_form", None)
        orm_joined = [orm.patient, orm.plan, orm.plan.protocol_version, orm.clinic]
        self.assertEqual(_values(joined), _values(orm_joined))
        self.assertEqual(rems is None, getattr(orm, "rems_form", None) is None)
        ensure_rems_form(self.sess)
        with_form = access._SESSION(session=self.sess.pk, clinic=self.clinic.pk)[0]
        with self.assertNumQueries(0):
            self.assertEqual(with_form.rems_form.session_id, self.sess.pk)
        self.assertEqual(access._SESSION(session=self.sess.pk, clinic=self.other_clinic.pk), [])

    def test_another_clinics_session_is_a_recorded_404_and_an_impossible_id_a_404(self) -> None:
        self.login(self.oscar)
        denials = AuditEvent.objects.filter(action=Action.DENIED, user=self.oscar)
        self.assertEqual(self.client.get(self.url).status_code, 404)
        self.assertEqual(denials.count(), 1)
        self.login(self.nick)
        # No column holds this id: not found, never a database error.
        url = reverse("dosing:session", args=[2**63])
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertEqual(access._SESSION(session=2**63 - 1, clinic=self.clinic.pk), [])

    def test_the_readings_rows_are_the_markup_the_template_wrote(self) -> None:
        self.readings(2, NORMAL)
        self.readings(1, HIGH)
        self.readings(1, RECHECK)
        sess = DosingSession.objects.get(pk=self.sess.pk)
        recheck = mon.pending_rechecks(sess)[0]
        mon.record_checkpoint(
            session=sess,
            label="recheck",
            taken_at=timezone.now(),
            by=self.nick,
            values={"systolic": 150, "diastolic": 85, "respiratory_rate": 14},
            recheck_of=recheck,
        )
        readings, alerts = list(sess.checkpoints.all()), list(sess.alerts.all())
        by_reading: dict[int, list[InSessionAlert]] = {}
        for a in alerts:
            by_reading.setdefault(a.checkpoint_id, []).append(a)
        rows = [
            {
                "reading": c,
                "when": f"{timezone.localtime(c.taken_at):%H:%M}",
                "bp": f"{c.systolic}/{c.diastolic}" if c.systolic else "",
                "values": [
                    "" if v is None else v
                    for v in (c.heart_rate, c.spo2, c.respiratory_rate, c.moaas, c.cadss6)
                ],
                "alerts": by_reading.get(c.pk, []),
            }
            for c in readings
        ]
        expected = Template(TEMPLATE_READINGS).render(Context({"readings": rows}))
        built = Template("  {{ readings }}\n").render(
            Context({"readings": views._readings(readings, alerts)})
        )
        self.assertEqual(built, expected)
        self.assertIn('colspan="7"', built)
        self.assertIn('<span class="badge">recheck</span>', built)
        self.assertIn("<td>14</td>", built)
        self.assertEqual(built.count("<tr"), len(readings) + len(alerts))

    def test_the_readings_rows_escape_what_staff_typed(self) -> None:
        self.readings(1, HIGH)
        sess = DosingSession.objects.get(pk=self.sess.pk)
        reading = sess.checkpoints.get(label="extra reading")
        reading.label = "<b>odd</b>"
        alert = sess.alerts.all()[0]
        alert.action = "Call <i>now</i> & wait"
        html = views._readings([reading], [alert])
        self.assertIn("&lt;b&gt;odd&lt;/b&gt;", html)
        self.assertIn("Call &lt;i&gt;now&lt;/i&gt; &amp; wait", html)
        self.assertNotIn("<b>", html)

    def test_the_static_forms_markup_is_the_forms_and_the_urls_are_reversed(self) -> None:
        page = self.client.get(self.url)
        for name, form_class in (
            ("side_effect_form", SideEffectForm),
            ("discharge_form", DischargeForm),
        ):
            with self.subTest(name):
                shown = page.context[name]
                self.assertEqual(str(shown), form_class().render())
                self.assertFalse(shown.errors)
                self.assertIn(str(shown), page.content.decode())
        urls = page.context["urls"]
        for name in views._SESSION_URLS:
            self.assertEqual(urls[name], reverse(f"dosing:{name}", args=[self.sess.pk]))
        template = Path(views.__file__).parent / "templates" / "dosing" / "session.html"
        used = set(re.findall(r"\burls\.(\w+)", template.read_text()))
        self.assertTrue(used)
        self.assertLessEqual(used, set(views._SESSION_URLS))

    def test_a_refused_side_effect_shows_the_bound_form_with_its_errors(self) -> None:
        url = reverse("dosing:side_effect", args=[self.sess.pk])
        page = self.client.post(url, {"kind": "other", "severity": "mild", "other": ""})
        self.assertEqual(page.status_code, 400)
        self.assertContains(page, "Name the side effect.", status_code=400)
        self.assertContains(page, "<details open>", status_code=400)

    def test_the_compiled_open_safety_alerts_are_the_measures_apps_open_alerts(self) -> None:
        now = timezone.now()
        handled: dict[str, dict[str, Any]] = {
            AlertState.OPEN: {},
            AlertState.ACKNOWLEDGED: {"acknowledged_at": now},
            AlertState.CLOSED: {
                "acknowledged_at": now,
                "closed_at": now,
                "action": CloseAction.CSSRS_DONE,
                "note": "Low risk on the C-SSRS",
            },
        }
        for state, times in handled.items():
            SafetyAlert.objects.create(
                clinic=self.clinic,
                patient=self.pat,
                kind="phq9_item9",
                reason="q9",
                state=state,
                **times,
            )
        SafetyAlert.objects.create(
            clinic=self.clinic, patient=self.quinn, kind="phq9_item9", reason="q9"
        )
        expected = list(SafetyAlert.objects.open_alerts(self.pat).order_by("pk"))
        found = integrations._OPEN_SAFETY_ALERTS(patient=self.pat.pk)
        self.assertEqual(_values(found), _values(expected))
        self.assertEqual([a.state for a in found], [AlertState.OPEN, AlertState.ACKNOWLEDGED])
        self.assertEqual(len(integrations.open_safety_alerts(self.pat).items), 2)
        page = self.client.get(self.url)
        self.assertEqual(page.content.decode().count('<span class="badge danger">PHQ-9'), 2)
