"""The whole patient path as a stateful property test, on the real database, across apps.

Hypothesis drives random sequences of clinical actions: screening decisions, consent given
and withdrawn, plans created and signed, safety alerts raised and closed, sessions opened,
pre-dose checks, doses (inside and outside the plan) and discharge. Nothing is mocked:
each app asks the others through their real functions. After every step the invariants
hold: no dose without a current eligible decision, current consent and a signed plan for
the route, no dose outside the plan's limits, a ledger that never goes negative and
reconciles, and no discharge before every criterion was met.

`make test` runs a short version; `make statemachine` runs it long (STATEMACHINE_EXAMPLES).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from katclinic.dosing import ledger_services
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services as dosing
from katclinic.dosing.models import Administration, DosingSession, LedgerEntry
from katclinic.dosing.statemachine import SessionState as S
from katclinic.dosing.tests import factories as f
from katclinic.intake.models import ConsentSignature, ConsentWithdrawal
from katclinic.intake.queries import eligibility_status
from katclinic.intake.services import consent_status, withdraw_consent
from katclinic.intake.tests.factories import program_consent, signed_decision
from katclinic.measures.models import SafetyAlert
from katclinic.measures.safety import close_alert
from katclinic.protocols import services as plans
from katclinic.protocols.models import Plan, PlanVersion
from katclinic.protocols.tests import fixtures
from katclinic.testing import ClinicTestCase

KEY, ROUTE = "iv_ketamine_elektd", "iv"
EXAMPLES = int(os.environ.get("STATEMACHINE_EXAMPLES", "10"))
STEPS = int(os.environ.get("STATEMACHINE_STEPS", "25"))
REVIEW_REASON = "Reviewed with the patient: blood pressure controlled on two readings."


class PatientPath(RuleBasedStateMachine):
    t: Any  # the ClinicTestCase whose people and clinic the machine uses

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()  # each run is rolled back in teardown
        # Each run starts from the test's rolled-back database, whatever earlier runs changed.
        self.t.clinic.opening_hours = fixtures.WEEKDAYS_9_TO_6
        self.t.clinic.save(update_fields=["opening_hours"])
        fixtures.ready_clinic(self.t)
        self.pat = self.t.pat
        self.lot = f.stock(self.t.clinic, self.t.nick, key=KEY, mg="5000")
        self.received = Decimal("5000")
        self.started: list[int] = []

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # ---- what the other apps say now -----------------------------------------------------

    def eligibility_refusal(self, plan_version: PlanVersion | None = None) -> str:
        reason = REVIEW_REASON if plan_version is not None else ""
        return eligibility_status(self.pat, route=ROUTE).refusal(review_reason=reason)

    def consent_current(self) -> bool:
        return bool(consent_status(self.pat, route=ROUTE).current)

    def signed_version(self) -> PlanVersion | None:
        return (
            PlanVersion.objects.filter(plan__patient=self.pat)
            .exclude(signed_at=None)
            .order_by("-pk")
            .first()
        )

    def active_session(self) -> DosingSession | None:
        return (
            DosingSession.objects.filter(patient=self.pat)
            .exclude(state__in=[S.DISCHARGED, S.STOPPED_EARLY])
            .first()
        )

    def open_alert(self) -> bool:
        return SafetyAlert.objects.open_alerts(self.pat).exists()

    # ---- upstream facts ----------------------------------------------------------------

    @rule(decision=st.sampled_from(["eligible", "not_eligible", "needs_review"]))
    def screen_and_decide(self, decision: str) -> None:
        signed_decision(self.pat, route=ROUTE, by=self.t.paula, decision=decision)

    @rule()
    def consent(self) -> None:
        if not self.consent_current():
            program_consent(self.pat, by=self.t.nick)

    @rule()
    def withdraw(self) -> None:
        for signature in ConsentSignature.objects.filter(patient=self.pat).exclude(
            pk__in=ConsentWithdrawal.objects.values("signature_id")
        ):
            withdraw_consent(signature=signature, reason="changed mind", by=self.t.nick)

    @rule()
    def raise_alert(self) -> None:
        SafetyAlert.objects.create(
            clinic=self.t.clinic, patient=self.pat, kind="phq9_item9", reason="item 9 = 2"
        )

    @rule()
    def close_alerts(self) -> None:
        for alert in SafetyAlert.objects.open_alerts(self.pat):
            close_alert(alert=alert, action="safety_plan", note="Seen today.", by=self.t.paula)

    # ---- plans ------------------------------------------------------------------------

    @rule(with_reason=st.booleans())
    def create_plan(self, with_reason: bool) -> None:
        before = PlanVersion.objects.count()
        allowed = (
            eligibility_status(self.pat, route=ROUTE).refusal(
                review_reason=REVIEW_REASON if with_reason else ""
            )
            == ""
            and self.consent_current()
        )
        try:
            plans.create_plan(
                patient=self.pat,
                protocol_version=fixtures.protocol(self.t, KEY),
                phase="induction",
                start_on=fixtures.next_monday(),
                requested_mg=None,
                eligibility_reason=REVIEW_REASON if with_reason else "",
                by=self.t.paula,
            )
        except plans.PlanError:
            assert PlanVersion.objects.count() == before, "a refused plan stored a version"
            assert not allowed or Plan.objects.filter(patient=self.pat).exists()
            return
        assert allowed, "a plan was created without eligibility and consent"

    def has_draft(self) -> bool:
        return PlanVersion.objects.filter(plan__patient=self.pat, signed_at=None).exists()

    def session_in(self, *states: S) -> bool:
        session = self.active_session()
        return session is not None and session.state in states

    @rule()
    def consent_and_eligible(self) -> None:
        """The common path, so random runs reach dosing often."""
        self.consent()
        signed_decision(self.pat, route=ROUTE, by=self.t.paula, decision="eligible")

    @rule()
    def prescribe(self) -> None:
        """Create and sign in one step, as a prescriber usually does."""
        self.create_plan(with_reason=False)
        if self.has_draft():
            self.sign_plan()

    @precondition(lambda self: self.has_draft())
    @rule()
    def sign_plan(self) -> None:
        draft = PlanVersion.objects.filter(plan__patient=self.pat, signed_at=None).first()
        if draft is None:
            return
        try:
            plans.sign_plan(version=draft, prescriber=self.t.paula)
        except plans.PlanError:
            draft.refresh_from_db()
            assert draft.signed_at is None
            return
        assert self.eligibility_refusal(draft) == "", "a plan was signed without eligibility"

    # ---- the session ------------------------------------------------------------------

    @precondition(lambda self: self.signed_version() is not None and self.active_session() is None)
    @rule(factor=st.sampled_from(["0.1", "1", "3"]))
    def open_session_and_check(self, factor: str) -> None:
        if self.active_session() is not None:
            return
        version = self.signed_version()
        assert version is not None
        try:
            session = f.session(self.pat, version.plan, self.t.nick)
            dosing.transition(session=session, to=S.CHECKED_IN, by=self.t.nick)
            f.pre_dose(session, self.t.nick)
        except dosing.DosingError:
            return
        self.start_dosing()
        self.administer(factor)

    @precondition(lambda self: self.session_in(S.PRE_DOSE_CHECKS))
    @rule()
    def start_dosing(self) -> None:
        session = self.active_session()
        if session is None or session.state != S.PRE_DOSE_CHECKS:
            return
        dosing.evaluate_gate(session, by=self.t.nick, now=timezone.now())
        try:
            dosing.start_dosing(session=session, by=self.t.nick)
        except dosing.DosingError:
            session.refresh_from_db()
            assert session.state == S.PRE_DOSE_CHECKS
            return
        assert PlanVersion.objects.filter(plan=session.plan).exclude(signed_at=None).exists(), (
            "dosing began under an unsigned plan"
        )
        assert eligibility_status(self.pat, route=ROUTE).state in ("eligible", "needs_review")
        assert self.consent_current(), "dosing began without current consent"
        assert not self.open_alert(), "dosing began with an open safety alert"
        self.started.append(session.pk)

    @precondition(lambda self: self.session_in(S.DOSING))
    @rule(factor=st.sampled_from(["0.1", "0.5", "1", "1.5", "3"]))
    def administer(self, factor: str) -> None:
        session = self.active_session()
        if session is None or session.state != S.DOSING:
            return
        low, high, planned = plans.plan_dose_limits(session.plan)
        dose = (Decimal(planned) * Decimal(factor)).quantize(Decimal("0.1"))
        before = Administration.objects.count()
        try:
            dosing.record_administration(
                session=session,
                lot=self.lot,
                dose_mg=dose,
                started_at=timezone.now(),
                by=self.t.nick,
            )
        except (dosing.DosingError, ledger_services.LedgerRefused):
            assert Administration.objects.count() == before, "a refused dose was stored"
            return
        assert dose <= Decimal(high), f"{dose} mg above the plan's {high} mg"

    @precondition(lambda self: self.session_in(S.MONITORING, S.READY_FOR_DISCHARGE))
    @rule()
    def try_discharge(self) -> None:
        session = self.active_session()
        if session is None or session.state not in (S.MONITORING, S.READY_FOR_DISCHARGE):
            return
        try:
            mon.discharge(session=session, by=self.t.nick)
        except dosing.DosingError:
            return
        session.refresh_from_db()
        assessed = session.discharge_assessments.order_by("-pk").first()
        assert assessed is not None and assessed.allowed, "discharged before every criterion"

    @precondition(lambda self: self.session_in(S.DOSING))
    @rule()
    def finish(self) -> None:
        session = self.active_session()
        if session is not None and session.state == S.DOSING:
            if session.administrations.exists():
                dosing.finish_dosing(session=session, by=self.t.nick)

    # ---- invariants ------------------------------------------------------------------

    @invariant()
    def every_session_stayed_inside_its_plan(self) -> None:
        """A session's doses add up to at most the plan's maximum, its first dose is at least
        the minimum, and doses were given only in sessions that passed the gate."""
        for session in DosingSession.objects.filter(patient=self.pat).select_related("plan"):
            given = list(
                session.administrations.filter(is_adjunct=False).order_by("started_at", "pk")
            )
            if not given:
                continue
            low, high, _ = plans.plan_dose_limits(session.plan)
            assert sum(a.dose_mg for a in given) <= high
            assert given[0].dose_mg >= low
            assert session.pk in self.started, "a dose in a session that never passed the gate"

    @invariant()
    def the_ledger_reconciles(self) -> None:
        balance = ledger_services.balance(self.lot)
        assert balance >= 0
        drawn = LedgerEntry.objects.filter(lot=self.lot, kind="draw").aggregate(
            total=Sum("quantity_mg")
        )["total"] or Decimal("0")
        assert balance == self.received - drawn, (balance, self.received, drawn)
        for draw in LedgerEntry.objects.filter(lot=self.lot, kind="draw"):
            assert ledger_services.unaccounted_mg(draw) >= 0


class PatientPathTest(ClinicTestCase):
    def test_random_clinical_paths_keep_every_safety_invariant(self) -> None:
        machine = type("Machine", (PatientPath,), {"t": self})
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
