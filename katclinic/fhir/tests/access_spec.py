from typing import Any

from katclinic.access_spec import Url, api_url
from katclinic.clinics.permissions import Perm
from katclinic.fhir.tests.factories import pat_rows


def _bundle(t: Any) -> dict[str, Any]:
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "Import", "given": ["Ivy"]}],
        "birthDate": "1990-02-03",
        "gender": "female",
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": patient, "request": {"method": "POST", "url": "Patient"}}],
    }


def _charge_line(t: Any) -> int:
    from katclinic.billing.tests.access_spec import _charge

    return int(_charge(t, posted=True).lines.get().pk)


def _own(perm: Perm, kwargs: Any) -> Url:
    """A read of something in pat's compartment: pat may, quinn and clinic B get 404."""
    return api_url(perm, kwargs=kwargs, patient_self=True, clinic_object=True)


SPEC: dict[str, Url] = {
    "fhir:metadata": Url("public", api=True, anonymous=(200,), ok=(200,)),
    "fhir:transaction": api_url(Perm.EDIT_DEMOGRAPHICS, method="POST", data=_bundle),
    "fhir:patient_everything": _own(Perm.VIEW_CLINICAL, lambda t: {"patient_id": t.pat.pk}),
    # Searches: a patient's token must name its own record, so a bare search is refused.
    "fhir:patient_search": api_url(Perm.VIEW_PATIENT_LIST),
    "fhir:patient_read": _own(Perm.VIEW_DEMOGRAPHICS, lambda t: {"resource_id": t.pat.pk}),
    "fhir:questionnaire_search": api_url("signed_in"),
    "fhir:questionnaire_read": api_url("signed_in", kwargs=lambda t: {"resource_id": "phq9"}),
    "fhir:questionnaireresponse_search": api_url(Perm.VIEW_CLINICAL),
    "fhir:questionnaireresponse_read": _own(
        Perm.VIEW_CLINICAL, lambda t: {"resource_id": pat_rows(t)["response"].pk}
    ),
    "fhir:observation_search": api_url(Perm.VIEW_CLINICAL),
    "fhir:observation_read": _own(
        Perm.VIEW_CLINICAL, lambda t: {"resource_id": pat_rows(t)["response"].pk}
    ),
    "fhir:flag_search": api_url(Perm.VIEW_CLINICAL),
    "fhir:appointment_search": api_url(Perm.VIEW_DEMOGRAPHICS),
    "fhir:consent_search": api_url(Perm.VIEW_DEMOGRAPHICS),
    "fhir:consent_read": _own(
        Perm.VIEW_DEMOGRAPHICS, lambda t: {"resource_id": pat_rows(t)["consent"].pk}
    ),
    "fhir:appointment_read": _own(
        Perm.VIEW_DEMOGRAPHICS, lambda t: {"resource_id": pat_rows(t)["appointment"].pk}
    ),
    "fhir:medicationadministration_search": api_url(Perm.VIEW_CLINICAL),
    "fhir:medicationadministration_read": _own(
        Perm.VIEW_CLINICAL, lambda t: {"resource_id": pat_rows(t)["administration"].pk}
    ),
    "fhir:chargeitem_search": api_url(Perm.VIEW_BILLING),
    "fhir:chargeitem_read": _own(Perm.VIEW_BILLING, lambda t: {"resource_id": _charge_line(t)}),
    "fhir:flag_read": _own(Perm.VIEW_CLINICAL, lambda t: {"resource_id": pat_rows(t)["alert"].pk}),
}
