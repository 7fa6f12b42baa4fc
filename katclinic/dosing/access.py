"""Fetching dosing objects for a request: the active clinic's only, else a recorded 404."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from django.db import transaction
from django.db.models import Model, QuerySet

from katclinic.clinics.access import deny, require_perm
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.dosing.models import (
    DosingSession,
    GateCheck,
    InSessionAlert,
    RemsForm,
    StockLot,
    SupportNote,
)
from katclinic.dosing.services import LockedSession
from katclinic.lib import rows


def _get[M: Model](
    request: StaffRequest, model: type[M], pk: int, perm: Perm, related: tuple[str, ...] = ()
) -> M:
    clinic = require_perm(request, perm)
    rows = model._default_manager.all()
    row = _in_clinic(rows.select_related(*related) if related else rows, pk, clinic)
    if row is None:
        _not_found(request, model)
    return row


def _in_clinic[M: Model](rows: QuerySet[M], pk: int, clinic: Clinic) -> M | None:
    # At most one row matches, so no ORDER BY to build or run.
    return next(iter(rows.filter(pk=pk, clinic=clinic).order_by()[:1]), None)


def _not_found(request: StaffRequest, model: type[Model]) -> NoReturn:
    deny(request, reason=f"no such {model._meta.model_name} in the active clinic", not_found=True)


# The session as every session page and action reads it, compiled once (katclinic.lib.rows):
# `_in_clinic(DosingSession.objects.select_related(...), pk, clinic)`.
_SESSION = rows.Compiled(
    DosingSession,
    lambda session, clinic: (
        DosingSession.objects.select_related(
            "patient", "plan__protocol_version", "clinic", "rems_form"
        )
        .filter(pk=session, clinic_id=clinic)
        .order_by()[:1]
    ),
    "session",
    "clinic",
)
_ID_RANGE = range(-(2**63), 2**63)


def get_session_for_user(
    request: StaffRequest, session_id: int, perm: Perm = Perm.VIEW_CLINICAL
) -> DosingSession:
    clinic = require_perm(request, perm)
    # An id no column can hold matches no row, as the ORM's lookup would say.
    found = _SESSION(session=session_id, clinic=clinic.pk) if session_id in _ID_RANGE else []
    if not found:
        _not_found(request, DosingSession)
    return found[0]


@contextmanager
def locked_session_for_user(
    request: StaffRequest, session_id: int, perm: Perm
) -> Iterator[LockedSession]:
    """`get_session_for_user` for a change: the same rule and the same recorded 404, with the
    row locked by the statement that finds it, and the block run in that transaction (an
    exception out of the block rolls it back). The denial is recorded after the transaction,
    so that it is kept."""
    clinic = require_perm(request, perm)
    with transaction.atomic():
        session = DosingSession.objects.fetch_locked(session_id, clinic)
        if session is not None:
            yield LockedSession(session)
            return
    _not_found(request, DosingSession)


def get_gate_check(request: StaffRequest, check_id: int) -> GateCheck:
    return _get(request, GateCheck, check_id, Perm.OVERRIDE_SOFT_STOP, ("session",))


def get_alert(request: StaffRequest, alert_id: int) -> InSessionAlert:
    return _get(request, InSessionAlert, alert_id, Perm.RUN_SESSION, ("session",))


def get_note(request: StaffRequest, note_id: int) -> SupportNote:
    return _get(request, SupportNote, note_id, Perm.WRITE_SUPPORT_NOTE, ("session",))


def get_rems_form(request: StaffRequest, form_id: int) -> RemsForm:
    return _get(request, RemsForm, form_id, Perm.RUN_SESSION, ("session__patient",))


def get_lot(request: StaffRequest, lot_id: int) -> StockLot:
    return _get(request, StockLot, lot_id, Perm.KEEP_LEDGER)
