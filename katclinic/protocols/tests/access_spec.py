from katclinic.access_spec import Url, api_url, patient_kwargs
from katclinic.clinics.permissions import Perm
from katclinic.protocols.tests import fixtures


def _protocol_kwargs(t: object) -> dict[str, int]:
    return {"version_id": fixtures.protocol(t).pk}


def _draft_kwargs(t: object) -> dict[str, int]:
    return {"version_id": fixtures.draft(t).pk}


def _plan_kwargs(t: object) -> dict[str, int]:
    return {"plan_id": fixtures.signed(t, "esketamine_trd").plan_id}


def _ready_patient(t: object) -> dict[str, int]:
    fixtures.ready_clinic(t)
    return patient_kwargs(t)


SPEC = {
    "protocols:library": Url(Perm.VIEW_PATIENT_LIST),
    "protocols:detail": Url(Perm.VIEW_PATIENT_LIST, kwargs=_protocol_kwargs, clinic_object=True),
    "protocols:new_version": Url(Perm.MANAGE_CLINIC),
    "protocols:set_status": Url(
        Perm.MANAGE_CLINIC,
        kwargs=_protocol_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"status": "active"},
    ),
    "protocols:adoption": Url(Perm.MANAGE_CLINIC),
    "protocols:adopt": Url(
        Perm.MANAGE_CLINIC,
        kwargs=lambda t: {"key": "esketamine_trd"},
        method="POST",
        data=lambda t: {"activate": "on"},
    ),
    "protocols:edit_fields": Url(Perm.MANAGE_CLINIC, kwargs=_protocol_kwargs, clinic_object=True),
    "protocols:patient_plans": Url(Perm.VIEW_CLINICAL, kwargs=_ready_patient, clinic_object=True),
    "protocols:create_plan": Url(Perm.SIGN_PLAN, kwargs=_ready_patient, clinic_object=True),
    "protocols:edit_draft": Url(Perm.SIGN_PLAN, kwargs=_draft_kwargs, clinic_object=True),
    "protocols:sign": Url(Perm.SIGN_PLAN, kwargs=_draft_kwargs, clinic_object=True, method="POST"),
    "protocols:amend": Url(Perm.SIGN_PLAN, kwargs=_plan_kwargs, clinic_object=True),
    "api:plans_for_patient": api_url(
        Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True, patient_self=True
    ),
}
