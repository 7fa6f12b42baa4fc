from typing import Any

from katclinic.access_spec import Url, api_url
from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import REGISTRY
from katclinic.fhir.tests.factories import pat_rows
from katclinic.fhir.versions import stamped


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


def _charge_line_row(t: Any) -> Any:
    from katclinic.billing.tests.access_spec import _charge

    return _charge(t, posted=True).lines.get()


def _charge_line(t: Any) -> int:
    return int(_charge_line_row(t).pk)


def _own(perm: Perm, kwargs: Any) -> Url:
    """A read of something in pat's compartment: pat may, quinn and clinic B get 404."""
    return api_url(perm, kwargs=kwargs, patient_self=True, clinic_object=True)


def _version(type_name: str, row: Any) -> str:
    return str(stamped(REGISTRY[type_name], [row])[0]["meta"]["versionId"])


def _vread(perm: Perm, type_name: str, row: Any) -> Url:
    """The current version of a row in pat's compartment (as its read), read as served."""

    def kwargs(t: Any) -> dict[str, Any]:
        stored = REGISTRY[type_name].rows(t.clinic).get(pk=row(t).pk)
        return {"resource_id": stored.pk, "version_id": _version(type_name, stored)}

    return _own(perm, kwargs)


def _questionnaire(t: Any) -> dict[str, Any]:
    definition = REGISTRY["Questionnaire"].lookup(REGISTRY["Questionnaire"].rows(t.clinic), "phq9")
    return {"resource_id": "phq9", "version_id": _version("Questionnaire", definition)}


SPEC: dict[str, Url] = {
    # Anything nothing serves is a 404 OperationOutcome for everyone, signed in or not.
    "fhir:unknown": Url(
        "public", api=True, anonymous=(404,), ok=(404,), kwargs=lambda t: {"rest": "Basic/1"}
    ),
    "fhir_root:unknown": Url(
        "public", api=True, anonymous=(404,), ok=(404,), kwargs=lambda t: {"rest": "R5/metadata"}
    ),
    "fhir:patient_vread": _vread(Perm.VIEW_DEMOGRAPHICS, "Patient", lambda t: t.pat),
    "fhir:questionnaire_vread": api_url("signed_in", kwargs=_questionnaire),
    "fhir:questionnaireresponse_vread": _vread(
        Perm.VIEW_CLINICAL, "QuestionnaireResponse", lambda t: pat_rows(t)["response"]
    ),
    "fhir:observation_vread": _vread(
        Perm.VIEW_CLINICAL, "Observation", lambda t: pat_rows(t)["response"]
    ),
    "fhir:flag_vread": _vread(Perm.VIEW_CLINICAL, "Flag", lambda t: pat_rows(t)["alert"]),
    "fhir:appointment_vread": _vread(
        Perm.VIEW_DEMOGRAPHICS, "Appointment", lambda t: pat_rows(t)["appointment"]
    ),
    "fhir:consent_vread": _vread(
        Perm.VIEW_DEMOGRAPHICS, "Consent", lambda t: pat_rows(t)["consent"]
    ),
    "fhir:medicationadministration_vread": _vread(
        Perm.VIEW_CLINICAL,
        "MedicationAdministration",
        lambda t: (
            REGISTRY["MedicationAdministration"]
            .rows(t.clinic)
            .get(pk=pat_rows(t)["administration"].pk)
        ),
    ),
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
    "fhir:chargeitem_vread": _vread(Perm.VIEW_BILLING, "ChargeItem", _charge_line_row),
    "fhir:flag_read": _own(Perm.VIEW_CLINICAL, lambda t: {"resource_id": pat_rows(t)["alert"].pk}),
}
