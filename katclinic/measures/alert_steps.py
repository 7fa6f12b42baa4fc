"""The two steps every clinical alert takes after it is raised: acknowledged, then closed.

Safety alerts (this app) and take-home session alerts (athome) move through the same
states with the same rules and the same audit events; each app locks its own row inside
its transaction and hands it here. An open alert closed directly is acknowledged on the
way by the person closing it, so a closed alert always names who saw it first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.measures.models import AlertState


class AlertError(ValueError):
    """A step that the alert's state does not allow; `field` names what it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Alert(Protocol):
    """What the steps read and fill on an alert row."""

    @property
    def pk(self) -> int: ...
    @property
    def clinic_id(self) -> int: ...
    @property
    def patient_id(self) -> int: ...

    state: str
    acknowledged_at: datetime | None
    acknowledged_by: User | None
    closed_at: datetime | None
    closed_by: User | None
    note: str

    def save(self, *, update_fields: list[str] | None = None) -> None: ...


def _record(alert: Alert, *, by: User, request: HttpRequest | None, detail: dict[str, str]) -> None:
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=alert.clinic_id,
        patient_id=alert.patient_id,
        obj=alert,
        detail=detail,
    )


def _in_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an alert step runs inside the caller's transaction, on a locked row")


def acknowledge[A: Alert](locked: A, *, by: User, request: HttpRequest | None = None) -> A:
    """Acknowledge an open alert; ``locked`` was fetched ``select_for_update`` by the caller."""
    _in_transaction()
    if locked.state != AlertState.OPEN:
        raise AlertError("alert", "This alert was already acknowledged.")
    locked.state, locked.acknowledged_at, locked.acknowledged_by = (
        AlertState.ACKNOWLEDGED,
        timezone.now(),
        by,
    )
    locked.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
    _record(locked, by=by, request=request, detail={"step": "acknowledged"})
    return locked


def _clean_note(note: str) -> str:
    """The closing note without its surrounding space; an empty one is refused."""
    if not note.strip():
        raise AlertError("note", "Say what was done before closing the alert.")
    return note.strip()


def close[A: Alert](
    locked: A,
    *,
    note: str,
    by: User,
    request: HttpRequest | None = None,
    detail: dict[str, str] | None = None,
) -> A:
    """Close an open or acknowledged alert with what was done.

    ``locked`` was fetched ``select_for_update`` by the caller, which sets any fields of
    its own (a safety alert's action) before this saves the whole row; ``detail`` adds to
    the audit event.
    """
    _in_transaction()
    note = _clean_note(note)
    if locked.state == AlertState.CLOSED:
        raise AlertError("alert", "This alert is already closed.")
    now = timezone.now()
    if locked.acknowledged_at is None:
        locked.acknowledged_at, locked.acknowledged_by = now, by
    locked.state, locked.closed_at, locked.closed_by, locked.note = (
        AlertState.CLOSED,
        now,
        by,
        note,
    )
    locked.save()
    _record(locked, by=by, request=request, detail={"step": "closed", **(detail or {})})
    return locked
