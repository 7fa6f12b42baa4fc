"""The treatment-floor board: what each chair needs next, without names (initials only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from katclinic.clinics.models import Clinic
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing.clinic_settings import CHECKPOINT_GRACE_MINUTES
from katclinic.dosing.models import DosingSession


@dataclass(frozen=True)
class Chair:
    session_id: int
    chair: str
    initials: str
    state: str
    elapsed_minutes: int
    since: str
    next_label: str
    next_due: datetime | None
    overdue: int
    open_alerts: int
    rechecks_overdue: int

    @property
    def needs_attention(self) -> bool:
        return bool(self.overdue or self.open_alerts or self.rechecks_overdue)


def _chair(session: DosingSession, now: datetime, grace: int) -> Chair:
    statuses = mon.flowsheet(session, now, grace=grace)
    waiting = [s for s in statuses if s.status in ("due", "upcoming", "overdue")]
    upcoming = min(waiting, key=lambda s: s.due_at) if waiting else None
    alerts = [a for a in session.alerts.all() if a.acknowledged_at is None]
    # A recheck reading belongs to its alert's session (the service refuses another's), so
    # the session's readings say which rechecks are still owed.
    rechecks = [
        a
        for a in mon.rechecks_pending_in(session.alerts.all(), session.checkpoints.all())
        if a.recheck_due_at is not None and a.recheck_due_at < now
    ]
    start = session.dose_started_at or session.scheduled_for
    return Chair(
        session_id=session.pk,
        chair=session.chair,
        initials=session.patient.initials,
        state=session.get_state_display(),
        elapsed_minutes=max(0, int((now - start).total_seconds() // 60)),
        since="since first dose" if session.dose_started_at else "since booked start",
        next_label=upcoming.label if upcoming else "",
        next_due=upcoming.due_at if upcoming else None,
        overdue=sum(1 for s in statuses if s.status == "overdue"),
        open_alerts=len(alerts),
        rechecks_overdue=len(rechecks),
    )


# What a chair's card is worked out from: the patient's names only for the initials, and the
# protocol's document for its checkpoints (parsed once per process).
_READ = (
    "pk",
    "chair",
    "state",
    "scheduled_for",
    "dose_started_at",
    "patient__first_name",
    "patient__last_name",
    "plan__protocol_version__data",
)


def floor(clinic: Clinic, now: datetime) -> list[Chair]:
    """Every chair in use, in a fixed number of queries however many chairs there are."""
    grace = CHECKPOINT_GRACE_MINUTES.value(clinic)
    sessions = (
        DosingSession.objects.for_clinic(clinic)
        .in_progress()
        .select_related("patient", "plan__protocol_version")
        .only(*_READ)
        .prefetch_related("alerts", "checkpoints")
        .order_by("chair", "pk")
    )
    return [_chair(s, now, grace) for s in sessions]
