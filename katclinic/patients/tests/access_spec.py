from katclinic.access_spec import Url, api_url, patient_kwargs
from katclinic.clinics.permissions import Perm

SPEC = {
    "patients:list": Url(Perm.VIEW_PATIENT_LIST),
    "patients:register": Url(
        Perm.EDIT_DEMOGRAPHICS,
        method="POST",
        data=lambda t: {
            "first_name": "New",
            "last_name": "Person",
            "date_of_birth": "1990-01-01",
            "sex_at_birth": "female",
            "phone": "555-0199",
        },
    ),
    "patients:chart": Url(Perm.VIEW_DEMOGRAPHICS, kwargs=patient_kwargs, clinic_object=True),
    "patients:edit": Url(
        Perm.EDIT_DEMOGRAPHICS,
        kwargs=patient_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {
            "first_name": "Changed",
            "last_name": "Doe",
            "date_of_birth": "1985-04-12",
            "sex_at_birth": "unknown",
            "phone": "555-0101",
        },
    ),
    "patients:add_item": Url(
        Perm.EDIT_CLINICAL,
        kwargs=lambda t: {"patient_id": t.pat.pk, "kind": "weight"},
        clinic_object=True,
        method="POST",
        data=lambda t: {"value": "150", "unit": "lb", "measured_on": "2026-01-05"},
    ),
}

SPEC |= {
    "api:patients_list": api_url(Perm.VIEW_PATIENT_LIST),
    "api:patients_detail": api_url(
        Perm.VIEW_DEMOGRAPHICS, kwargs=patient_kwargs, clinic_object=True, patient_self=True
    ),
}
