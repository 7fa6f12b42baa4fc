from katclinic.access_spec import Url, api_url, patient_kwargs
from katclinic.clinics.permissions import Perm

SPEC: dict[str, Url] = {
    "surveillance:tasks": Url(Perm.VIEW_CLINICAL),
    "surveillance:review": Url(Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True),
    # Posted empty: the allowed role gets the page back with field errors, nothing stored.
    "surveillance:close_task": Url(
        Perm.REVIEW_SURVEILLANCE,
        kwargs=patient_kwargs,
        method="POST",
        clinic_object=True,
        ok=(200, 302, 400),
    ),
    "surveillance:decide": Url(
        Perm.REVIEW_SURVEILLANCE,
        kwargs=patient_kwargs,
        method="POST",
        clinic_object=True,
        ok=(200, 302, 400),
    ),
    "api:surveillance_exposure": api_url(
        Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True
    ),
    "api:surveillance_tasks": api_url(
        Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True
    ),
    "api:surveillance_decisions": api_url(
        Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True
    ),
}
