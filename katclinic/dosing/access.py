"""Fetching dosing objects for a request: the active clinic's only, else a recorded 404."""

from __future__ import annotations

from django.db.models import Model

from katclinic.clinics.access import deny, require_perm
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.dosing.models import (
    DosingSession,
    GateCheck,
    InSessionAlert,
    RemsForm,
    StockLot,
    SupportNote,
)


def _get[M: Model](
    request: StaffRequest, model: type[M], pk: int, perm: Perm, related: tuple[str, ...] = ()
) -> M:
    clinic = require_perm(request, perm)
    rows = model._default_manager.filter(pk=pk, clinic=clinic)
    row = (rows.select_related(*related) if related else rows).first()
    if row is None:
        deny(
            request, reason=f"no such {model._meta.model_name} in the active clinic", not_found=True
        )
    return row


def get_session_for_user(
    request: StaffRequest, session_id: int, perm: Perm = Perm.VIEW_CLINICAL
) -> DosingSession:
    return _get(
        request, DosingSession, session_id, perm, ("patient", "plan__protocol_version", "clinic")
    )


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
