"""Dosing sessions and everything recorded during one, plus the controlled-substance ledger.

State changes go through `katclinic.dosing.services`; each is one `SessionEvent` row. Ledger
entries are append-only (database triggers refuse UPDATE and DELETE; a mistake is put right
with a correction entry) and carry the running balance, which the database keeps >= 0.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.dosing.ledger import EntryKind
from katclinic.dosing.statemachine import ACTIVE_STATES, SessionState
from katclinic.lib import rows
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan, ProtocolVersion

USER = settings.AUTH_USER_MODEL
STATE_CHOICES = [(s.value, s.value.replace("_", " ").capitalize()) for s in SessionState]


class Pregnancy(models.TextChoices):
    NOT_PREGNANT = "not_pregnant", "Not pregnant (confirmed)"
    PREGNANT = "pregnant", "Pregnant"
    UNKNOWN = "unknown", "Not known"
    NOT_APPLICABLE = "not_applicable", "Does not apply"


class DosingSessionQuerySet(models.QuerySet["DosingSession"]):
    def for_clinic(self, clinic: Clinic) -> DosingSessionQuerySet:
        return self.filter(clinic=clinic)

    def in_progress(self) -> DosingSessionQuerySet:
        return self.filter(state__in=[s.value for s in ACTIVE_STATES])

    def locked(self) -> DosingSessionQuerySet:
        """Rows to change, locked until the transaction ends, with what the services read.

        Only the session row is locked: locking the joined clinic row too deadlocked on
        PostgreSQL against any commit whose foreign keys check that clinic.
        """
        return self.select_for_update(of=("self",)).select_related(
            "plan__protocol_version", "patient", "clinic"
        )

    def fetch_locked(self, pk: int, clinic: Clinic) -> DosingSession | None:
        """``locked().filter(pk=pk, clinic=clinic).first()`` as one plain statement: the
        nurse's reading form runs it on every post (see katclinic.lib.rows). The session
        comes with its plan, the plan's protocol version and the patient, and with
        ``clinic``, the row the request loaded already, as its clinic."""
        if self.query.has_filters():
            raise TypeError("fetch_locked() reads from DosingSession.objects, not a filtered set")
        if not -(2**63) <= pk < 2**63:
            return None  # no row has such an id, and the database could not bind it
        connection = rows.connection_for(DosingSession)
        if not connection.in_atomic_block:
            raise transaction.TransactionManagementError("lock the session in a transaction")
        lock = " FOR UPDATE OF s" if connection.features.has_select_for_update_of else ""
        sql = (
            f"SELECT {rows.columns(DosingSession, 's')}, {rows.columns(Plan, 'pl')}, "  # noqa: S608
            f"{rows.columns(ProtocolVersion, 'pv')}, {rows.columns(Patient, 'p')} "
            f"FROM {rows.table(DosingSession)} s "
            f"JOIN {rows.table(Plan)} pl ON pl.id = s.plan_id "
            f"JOIN {rows.table(ProtocolVersion)} pv ON pv.id = pl.protocol_version_id "
            f"JOIN {rows.table(Patient)} p ON p.id = s.patient_id "
            f"WHERE s.id = %s AND s.clinic_id = %s{lock}"
        )
        row = rows.fetch_one(DosingSession, sql, [pk, clinic.pk])
        if row is None:
            return None
        session = rows.hydrate(DosingSession, row)
        at = rows.width(DosingSession)
        session.plan = rows.hydrate(Plan, row, at)
        at += rows.width(Plan)
        session.plan.protocol_version = rows.hydrate(ProtocolVersion, row, at)
        session.patient = rows.hydrate(Patient, row, at + rows.width(ProtocolVersion))
        session.clinic = clinic
        return session


class DosingSession(models.Model):
    """One dosing visit: gate, administrations, monitoring and discharge, under one plan."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="dosing_sessions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="dosing_sessions")
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dosing_sessions",
    )
    chair = models.CharField(max_length=40)
    route = models.CharField(max_length=20)
    scheduled_for = models.DateTimeField()
    state = models.CharField(max_length=24, choices=STATE_CHOICES, default=SessionState.SCHEDULED)
    # Pre-dose facts, entered by the nurse before the gate is run.
    last_food_at = models.DateTimeField(null=True, blank=True)
    last_liquid_at = models.DateTimeField(null=True, blank=True)
    escort_confirmed = models.BooleanField(default=False)
    no_driving_agreed = models.BooleanField(default=False)
    pregnancy_status = models.CharField(
        max_length=16, choices=Pregnancy.choices, default=Pregnancy.UNKNOWN
    )
    questionnaires_confirmed = models.BooleanField(
        default=False, help_text="Staff confirm questionnaires done on paper or in the clinic"
    )
    meds_reviewed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    meds_reviewed_at = models.DateTimeField(null=True, blank=True)
    dose_started_at = models.DateTimeField(null=True, blank=True)
    clinically_ready_at = models.DateTimeField(
        null=True, blank=True, help_text="When every criterion but the minimum time was first met"
    )
    discharged_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = DosingSessionQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-scheduled_for", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in SessionState]), name="session_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="stopped_early") | ~Q(stop_reason=""),
                name="session_stop_needs_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="discharged") | Q(discharged_at__isnull=False),
                name="session_discharge_has_time",
            ),
            models.CheckConstraint(
                condition=Q(pregnancy_status__in=Pregnancy.values), name="session_pregnancy_valid"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["clinic", "state"])]

    def __str__(self) -> str:
        return f"Session {self.pk} ({self.state})"

    @property
    def is_esketamine(self) -> bool:
        return self.route == "intranasal"


class SessionEvent(models.Model):
    """One state change of a session: who moved it, when, from where to where, and why."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24)
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state or 'new'} -> {self.to_state}"


class RemsEnrollment(models.Model):
    """The patient's Spravato REMS enrolment, as confirmed by staff."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.OneToOneField(
        Patient, on_delete=models.PROTECT, related_name="rems_enrollment"
    )
    enrolled_on = models.DateField()
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"REMS enrolment of patient {self.patient_id}"


class GateCheck(models.Model):
    """One pre-dose check as evaluated; `evaluation` groups the checks of one run."""

    class Result(models.TextChoices):
        PASS = "pass", "Pass"
        FAIL = "fail", "Fail"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="gate_checks")
    evaluation = models.PositiveIntegerField()
    key = models.CharField(max_length=40)
    label = models.CharField(max_length=100)
    stop = models.CharField(max_length=4, choices=[("hard", "Hard stop"), ("soft", "Soft stop")])
    result = models.CharField(max_length=16, choices=Result.choices)
    reason = models.TextField()
    evaluated_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    evaluated_at = models.DateTimeField(default=timezone.now)
    overridden_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["evaluation", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["session", "evaluation", "key"], name="gate_check_once"
            ),
            models.CheckConstraint(
                condition=Q(overridden_by__isnull=True)
                | (Q(stop="soft") & Q(result="fail") & ~Q(override_reason="")),
                name="gate_override_only_soft_fail_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.result}"

    @property
    def blocks(self) -> bool:
        return self.result == "fail" and (self.stop == "hard" or self.overridden_by_id is None)


class StockLot(models.Model):
    """One lot of one controlled product held by a clinic; its ledger is its entries."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    product = models.CharField(max_length=200)
    lot_number = models.CharField(max_length=60)
    expiry = models.DateField()
    concentration_mg_per_ml = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["product", "expiry", "lot_number"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["clinic", "product", "lot_number"], name="stock_lot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} lot {self.lot_number}"


class Administration(models.Model):
    """One dose (or one nasal device, or an adjunct) given in a session."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(
        DosingSession, on_delete=models.PROTECT, related_name="administrations"
    )
    is_adjunct = models.BooleanField(default=False)
    product = models.CharField(max_length=200)
    stock_lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, null=True, blank=True, related_name="administrations"
    )
    concentration_mg_per_ml = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True
    )
    lot_number = models.CharField(max_length=60)
    expiry = models.DateField()
    dose_mg = models.DecimalField(max_digits=7, decimal_places=2)
    dose_mg_per_kg = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    route = models.CharField(max_length=20)
    device_number = models.PositiveSmallIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    rate_mg_per_h = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    given_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    # Why a dose entered well after it was given was not recorded at the time; empty otherwise.
    late_entry_reason = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["started_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(dose_mg__gt=0), name="administration_dose_positive"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="administration_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(is_adjunct=True) | Q(stock_lot__isnull=False),
                name="administration_dose_from_stock",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.dose_mg} mg"


class Checkpoint(models.Model):
    """One set of observations; measures not taken are empty."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="checkpoints")
    label = models.CharField(max_length=100)
    taken_at = models.DateTimeField()
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField(null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    moaas = models.PositiveSmallIntegerField("MOAA/S", null=True, blank=True)
    cadss6 = models.PositiveSmallIntegerField("CADSS-6", null=True, blank=True)
    recheck_of = models.ForeignKey(
        "InSessionAlert", on_delete=models.PROTECT, null=True, blank=True, related_name="rechecks"
    )
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["taken_at", "pk"]
        # The FHIR Observation search pages each measure's checkpoints of a clinic by when
        # they were taken, newest first: this index reads a page's rows in that order.
        indexes: ClassVar = [
            models.Index(fields=["clinic", "taken_at"], name="checkpoint_clinic_taken")
        ]
        constraints: ClassVar = [
            # MOAA/S is 0-5 (BMC Anesthesiol 2022); CADSS-6 is six items of 0-4.
            models.CheckConstraint(
                condition=Q(moaas__isnull=True) | Q(moaas__lte=5), name="checkpoint_moaas_range"
            ),
            models.CheckConstraint(
                condition=Q(cadss6__isnull=True) | Q(cadss6__lte=24), name="checkpoint_cadss6_range"
            ),
            models.CheckConstraint(
                condition=Q(spo2__isnull=True) | Q(spo2__lte=100), name="checkpoint_spo2_range"
            ),
            models.CheckConstraint(
                condition=Q(systolic__isnull=True)
                | Q(diastolic__isnull=True)
                | Q(systolic__gt=models.F("diastolic")),
                name="checkpoint_bp_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} at {self.taken_at:%H:%M}"


class InSessionAlert(models.Model):
    """A reading outside the clinic's limits, with the action expected of staff."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="alerts")
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="alerts")
    measure = models.CharField(max_length=20)
    value = models.IntegerField()
    limit = models.IntegerField()
    level = models.CharField(
        max_length=20,
        choices=[
            ("recheck", "Recheck"),
            ("notify_prescriber", "Notify prescriber"),
            ("stop", "Stop dosing"),
        ],
    )
    action = models.TextField()
    source = models.TextField()
    raised_at = models.DateTimeField(default=timezone.now)
    recheck_due_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["raised_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(acknowledged_by__isnull=True) | ~Q(acknowledgement=""),
                name="alert_ack_needs_note",
            )
        ]

    def __str__(self) -> str:
        return f"{self.measure} {self.value} ({self.level})"


class SideEffect(models.Model):
    """A side effect from the structured checklist; `serious` makes it an adverse event,
    which must say what was done and the follow-up."""

    class Kind(models.TextChoices):
        NAUSEA = "nausea", "Nausea"
        VOMITING = "vomiting", "Vomiting"
        DIZZINESS = "dizziness", "Dizziness"
        HEADACHE = "headache", "Headache"
        SEDATION = "sedation", "Sedation"
        DISSOCIATION = "dissociation", "Dissociation"
        ANXIETY = "anxiety", "Anxiety"
        BP_RISE = "bp_rise", "Blood pressure rise"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(
        DosingSession, on_delete=models.PROTECT, related_name="side_effects"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    other = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    action = models.TextField(blank=True)
    serious = models.BooleanField(default=False)
    what_was_done = models.TextField(blank=True)
    follow_up = models.TextField(blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(serious=False) | (~Q(what_was_done="") & ~Q(follow_up="")),
                name="serious_event_needs_action_and_follow_up",
            ),
            models.CheckConstraint(
                condition=~Q(kind="other") | ~Q(other=""), name="side_effect_other_named"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity})"


class DischargeAssessment(models.Model):
    """One judgement of readiness to leave, with what was still unmet."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(
        DosingSession, on_delete=models.PROTECT, related_name="discharge_assessments"
    )
    dissociation_resolved = models.BooleanField()
    respiratory_depression_resolved = models.BooleanField()
    vitals_acceptable = models.BooleanField()
    escort_present = models.BooleanField()
    allowed = models.BooleanField()
    unmet = models.JSONField(default=list)
    assessed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["assessed_at", "pk"]

    def __str__(self) -> str:
        return f"Assessment {self.pk}: {'ready' if self.allowed else 'not ready'}"


class SupportNote(models.Model):
    """A therapist's note on a session. Signed notes never change; later words are addenda."""

    class Kind(models.TextChoices):
        PREPARATION = "preparation", "Preparation"
        SESSION = "session", "During the session"
        INTEGRATION = "integration", "Integration"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="support_notes")
    session = models.ForeignKey(
        DosingSession, on_delete=models.PROTECT, related_name="support_notes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    intention = models.TextField(blank=True)
    concerns = models.TextField(blank=True)
    agreed_support = models.TextField(blank=True)
    supportive_touch_consent = models.BooleanField(null=True, blank=True)
    observations = models.TextField(blank=True)
    guidance = models.TextField(blank=True)
    integration = models.TextField(blank=True)
    addendum_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="addenda"
    )
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering: ClassVar = ["created_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(kind__in=["preparation", "session", "integration"]),
                name="support_note_kind_valid",
            ),
            models.CheckConstraint(
                condition=(Q(signed_at__isnull=True) & Q(content_hash=""))
                | (Q(signed_at__isnull=False) & ~Q(content_hash="")),
                name="support_note_signature_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} note {self.pk}"


class RemsFormQuerySet(models.QuerySet["RemsForm"]):
    def for_clinic(self, clinic: Clinic) -> RemsFormQuerySet:
        return self.filter(clinic=clinic)

    def due(self) -> RemsFormQuerySet:
        return self.filter(completed_at__isnull=True)


class RemsForm(models.Model):
    """The Spravato REMS monitoring form of one session; `data` holds rems.FIELDS by key."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.OneToOneField(
        DosingSession, on_delete=models.PROTECT, related_name="rems_form"
    )
    data = models.JSONField(default=dict)
    due_on = models.DateField()
    completed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = RemsFormQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["due_on", "pk"]

    def __str__(self) -> str:
        return f"REMS form of session {self.session_id}"


LEDGER_KINDS = [(k.value, k.value.replace("_", " ").capitalize()) for k in EntryKind]


class LedgerEntry(models.Model):
    """One movement or count of a controlled product lot. Append-only."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=LEDGER_KINDS)
    quantity_mg = models.DecimalField(max_digits=10, decimal_places=2)
    balance_after_mg = models.DecimalField(max_digits=10, decimal_places=2)
    discrepancy_mg = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger"
    )
    counterparty = models.CharField(
        max_length=200, blank=True, help_text="Supplier, receiving clinic or reverse distributor"
    )
    reason = models.TextField(blank=True)
    from_draw = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounted_by",
        help_text="The draw this dose or waste came out of",
    )
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(balance_after_mg__gte=0), name="ledger_balance_never_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in EntryKind]), name="ledger_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["waste", "correction"])
                | (Q(witness__isnull=False) & ~Q(witness=models.F("recorded_by"))),
                name="ledger_waste_witnessed_by_another",
            ),
            models.CheckConstraint(
                condition=~Q(kind="administration") | Q(administration__isnull=False),
                name="ledger_administration_linked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity_mg} mg"


class BoardDisplayQuerySet(models.QuerySet["BoardDisplay"]):
    def for_clinic(self, clinic: Clinic) -> BoardDisplayQuerySet:
        return self.filter(clinic=clinic)

    def active(self) -> BoardDisplayQuerySet:
        return self.filter(revoked_at__isnull=True)


class BoardDisplay(models.Model):
    """A link that shows one clinic's floor board (initials only) on a wall screen, and
    nothing else. Only the token's hash is stored; revoking it stops the screen at once."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=80)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = BoardDisplayQuerySet.as_manager()

    def __str__(self) -> str:
        return self.label
