"""Appointment: search by patient, date (start) and status."""

from __future__ import annotations

from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import ResourceType, choice_token, date_param, register
from katclinic.fhir.resources.appointment import STATUS, to_fhir_appointment
from katclinic.scheduling.models import Appointment

_BY_STATUS: dict[str, list[str]] = {}
for _state, _code in STATUS.items():
    _BY_STATUS.setdefault(_code, []).append(_state)

APPOINTMENT = register(
    ResourceType(
        name="Appointment",
        # Front desk books visits, so reading them needs demographics, not the clinical chart.
        perm=Perm.VIEW_DEMOGRAPHICS,
        rows=lambda clinic: (
            Appointment.objects.filter(clinic=clinic)
            .select_related("staff")
            .order_by("-start", "-pk")
        ),
        render=to_fhir_appointment,
        changed_at=lambda row: row.created_at,
        mandatory=("status", "participant"),
        params=(
            date_param("date", "start", "When the appointment starts"),
            choice_token(
                "status", "booked, checked-in, fulfilled, cancelled or noshow", "state", _BY_STATUS
            ),
        ),
    )
)
