from katclinic.access_spec import Url, patient_kwargs
from katclinic.clinics.permissions import Perm

SPEC: dict[str, Url] = {
    "outcomes:dashboard": Url(Perm.VIEW_OUTCOMES),
    "outcomes:dashboard_csv": Url(Perm.EXPORT_DATA, kwargs=lambda t: {"table": "induction"}),
    "outcomes:research_export": Url(Perm.EXPORT_DATA),
    "outcomes:progress": Url(Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True),
    "outcomes:progress_pdf": Url(Perm.EXPORT_DATA, kwargs=patient_kwargs, clinic_object=True),
    "outcomes:record_pdf": Url(Perm.EXPORT_DATA, kwargs=patient_kwargs, clinic_object=True),
}
