from typing import Any

from katclinic.access_spec import Url, api_url, patient_kwargs
from katclinic.clinics.permissions import Perm
from katclinic.protocols.tests import fixtures as plan_fixtures
from katclinic.scheduling.tests import fixtures


def _appointment(t: Any) -> dict[str, int]:
    return {"appointment_id": fixtures.appointment(t).pk}


def _booking(t: Any) -> dict[str, Any]:
    start = fixtures.next_start(t)
    return {"kind": "consultation", "start": start.strftime("%Y-%m-%dT%H:%M"), "staff": t.paula.pk}


def _room(t: Any) -> dict[str, int]:
    return {"room_id": fixtures.chairs(t)[0].room_id}


def _chair(t: Any) -> dict[str, int]:
    return {"chair_id": fixtures.chairs(t)[0].pk}


def _closure(t: Any) -> dict[str, int]:
    return {"closure_id": fixtures.closure(t).pk}


def _leave(t: Any) -> dict[str, int]:
    return {"leave_id": fixtures.leave(t).pk}


def _dates(t: Any) -> dict[str, str]:
    day = fixtures.at(t, 400, 9).date().isoformat()
    return {"starts_on": day, "ends_on": day, "reason": "Public holiday", "note": "Away"}


def _own_visit(t: Any) -> dict[str, int]:
    return {"patient_id": t.pat.pk, "appointment_id": fixtures.appointment(t).pk}


def _patient(t: Any) -> dict[str, int]:
    fixtures.chairs(t)
    return patient_kwargs(t)


SPEC = {
    "scheduling:day": Url(Perm.VIEW_PATIENT_LIST),
    "scheduling:patient_appointments": Url(
        Perm.VIEW_DEMOGRAPHICS, kwargs=_patient, clinic_object=True
    ),
    "scheduling:book": Url(
        Perm.SCHEDULE, kwargs=_patient, clinic_object=True, method="POST", data=_booking
    ),
    "scheduling:change_state": Url(
        Perm.SCHEDULE,
        kwargs=_appointment,
        clinic_object=True,
        method="POST",
        data=lambda t: {"state": "cancelled", "reason": "Patient asked to cancel"},
    ),
    "scheduling:reschedule": Url(Perm.SCHEDULE, kwargs=_appointment, clinic_object=True),
    "scheduling:plan_schedule": Url(
        Perm.SCHEDULE,
        kwargs=lambda t: {"plan_id": plan_fixtures.signed(t).plan_id},
        clinic_object=True,
    ),
    "scheduling:failed_reminders": Url(Perm.SCHEDULE),
    "scheduling:requests": Url(Perm.SCHEDULE),
    "scheduling:calendar_feed": Url(Perm.VIEW_PATIENT_LIST),
    "scheduling:ical_feed": Url(
        "public", kwargs=lambda t: {"token": fixtures.feed_token(t)}, ok=(200,), anonymous=(200,)
    ),
    "scheduling:request_slot": Url(
        "public",
        kwargs=lambda t: {"clinic_slug": fixtures.enable_requests(t)},
        ok=(200,),
        anonymous=(200,),
    ),
    "scheduling:places": Url(Perm.MANAGE_CLINIC),
    "scheduling:room_add": Url(
        Perm.MANAGE_CLINIC, method="POST", data=lambda t: {"name": "Room added", "is_active": "on"}
    ),
    "scheduling:room_edit": Url(Perm.MANAGE_CLINIC, kwargs=_room, clinic_object=True),
    "scheduling:chair_add": Url(Perm.MANAGE_CLINIC),
    "scheduling:chair_edit": Url(Perm.MANAGE_CLINIC, kwargs=_chair, clinic_object=True),
    "scheduling:opening_hours": Url(Perm.MANAGE_CLINIC),
    "scheduling:closures": Url(Perm.MANAGE_CLINIC, method="POST", data=_dates),
    "scheduling:closure_remove": Url(
        Perm.MANAGE_CLINIC, kwargs=_closure, clinic_object=True, method="POST"
    ),
    "scheduling:staff_hours": Url(
        Perm.MANAGE_CLINIC, kwargs=lambda t: {"user_id": t.nick.pk}, clinic_object=True
    ),
    "scheduling:leave_add": Url(
        Perm.MANAGE_CLINIC,
        kwargs=lambda t: {"user_id": t.nick.pk},
        clinic_object=True,
        method="POST",
        data=_dates,
    ),
    "scheduling:leave_remove": Url(
        Perm.MANAGE_CLINIC, kwargs=_leave, clinic_object=True, method="POST"
    ),
    "scheduling:my_hours": Url(Perm.VIEW_PATIENT_LIST),
    "scheduling:calendar": Url(Perm.VIEW_PATIENT_LIST),
    "scheduling:calendar_book": Url(Perm.SCHEDULE),
    "scheduling:free_slots": Url(Perm.SCHEDULE),
    "scheduling:appointment": Url(Perm.VIEW_PATIENT_LIST, kwargs=_appointment, clinic_object=True),
    "scheduling:appointment_state": Url(
        Perm.SCHEDULE,
        kwargs=_appointment,
        clinic_object=True,
        method="POST",
        data=lambda t: {"state": "confirmed"},
    ),
    "scheduling:move": Url(Perm.SCHEDULE, kwargs=_appointment, clinic_object=True),
    "scheduling:undo": Url(
        Perm.SCHEDULE,
        kwargs=_appointment,
        clinic_object=True,
        method="POST",
        ok=(302, 409),
    ),
    # The provider's webhook: without its signature everyone is refused and nothing is stored.
    "scheduling:sms_inbound": Url(
        "public",
        method="POST",
        data=lambda t: {"From": "+15550101", "Body": "C"},
        ok=(403,),
        anonymous=(403,),
    ),
    "scheduling:my_book": Url("patient_self", kwargs=_patient),
    "scheduling:my_visit": Url("patient_self", kwargs=_own_visit),
    "api:appointments_list": api_url(Perm.VIEW_PATIENT_LIST),
    "api:appointments_for_patient": api_url(
        Perm.VIEW_DEMOGRAPHICS, kwargs=patient_kwargs, clinic_object=True, patient_self=True
    ),
}
