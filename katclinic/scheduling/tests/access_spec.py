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
    "api:appointments_list": api_url(Perm.VIEW_PATIENT_LIST),
    "api:appointments_for_patient": api_url(
        Perm.VIEW_DEMOGRAPHICS, kwargs=patient_kwargs, clinic_object=True, patient_self=True
    ),
}
