from dataclasses import replace
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
        served = REGISTRY[type_name]
        stored = served.lookup(served.rows(t.clinic), str(row(t).pk))
        return {"resource_id": stored.pk, "version_id": _version(type_name, stored)}

    return _own(perm, kwargs)


def _questionnaire(t: Any) -> dict[str, Any]:
    definition = REGISTRY["Questionnaire"].lookup(REGISTRY["Questionnaire"].rows(t.clinic), "phq9")
    return {"resource_id": "phq9", "version_id": _version("Questionnaire", definition)}


def _chart_row(kind: str) -> Any:
    """pat's diagnosis, allergy or medication, recorded once through the patients services."""

    def row(t: Any) -> Any:
        from katclinic.patients import models, services

        model = {"diagnosis": models.Diagnosis, "allergy": models.Allergy}.get(
            kind, models.Medication
        )
        found = model._default_manager.filter(patient=t.pat).first()
        if found is not None:
            return found
        if kind == "diagnosis":
            return services.add_diagnosis(
                patient=t.pat,
                data={"icd10_code": "F33.2", "description": "Major depressive disorder"},
                by=t.paula,
            )
        if kind == "allergy":
            return services.add_allergy(patient=t.pat, data={"substance": "Penicillin"}, by=t.paula)
        return services.add_medication(patient=t.pat, data={"name": "Sertraline"}, by=t.paula)

    return row


def _coverage_row(t: Any) -> Any:
    from katclinic.insurance.tests.access_spec import _coverage

    return _coverage(t)


def _claim_row(t: Any) -> Any:
    from katclinic.insurance.models import Claim
    from katclinic.insurance.tests.access_spec import _claim

    return Claim.objects.get(pk=_claim(t)["claim_id"])


def _answer_row(t: Any) -> Any:
    """A payer's answer matched to pat's claim, on the matrix remittance."""
    from katclinic.insurance.models import Remittance, RemittanceClaim
    from katclinic.insurance.tests.access_spec import _remittance

    claim = _claim_row(t)
    remittance = Remittance.objects.get(pk=_remittance(t)["remittance_id"])
    found, _ = RemittanceClaim.objects.get_or_create(
        clinic=t.clinic,
        remittance=remittance,
        claim=claim,
        defaults={
            "control_number": claim.control_number,
            "status_code": "1",
            "status_label": "Processed as primary",
            "charge_cents": claim.total_cents,
            "paid_cents": 0,
            "patient_responsibility_cents": 0,
        },
    )
    return found


def _group_row(t: Any) -> Any:
    """The IV protocol's Group, pat a member: her session follows a signed plan under it."""
    from katclinic.dosing.tests.factories import protocol_version

    pat_rows(t)
    return protocol_version(t.clinic, "iv_ketamine_elektd")


def _served(type_name: str, row: Any) -> Any:
    """The row as the facade reads it (with its annotations)."""
    return lambda t: REGISTRY[type_name].rows(t.clinic).get(pk=row(t).pk)


def _compartment(perm: Perm, type_name: str, row: Any) -> dict[str, Url]:
    """Search, read and vread of a type in pat's compartment."""
    slug = type_name.lower()
    return {
        f"fhir:{slug}_search": api_url(perm),
        f"fhir:{slug}_read": _own(perm, lambda t: {"resource_id": row(t).pk}),
        f"fhir:{slug}_vread": _vread(perm, type_name, _served(type_name, row)),
    }


def _directory(type_name: str, row: Any) -> dict[str, Url]:
    """A type holding no patient data: any signed-in token of the clinic reads it."""
    slug = type_name.lower()

    def versioned(t: Any) -> dict[str, Any]:
        stored = _served(type_name, row)(t)
        return {"resource_id": stored.pk, "version_id": _version(type_name, stored)}

    # The outsider's token is for another clinic, where this clinic's row is not found (404);
    # test_chart_resources pins who gets which.
    ok = (200, 404)
    return {
        f"fhir:{slug}_search": api_url("signed_in"),
        f"fhir:{slug}_read": api_url(
            "signed_in", ok=ok, kwargs=lambda t: {"resource_id": row(t).pk}
        ),
        f"fhir:{slug}_vread": api_url("signed_in", ok=ok, kwargs=versioned),
    }


def _plan_version_row(t: Any) -> Any:
    """pat's signed plan version (the one her session's dose was given under)."""
    return pat_rows(t)["administration"].session.plan.versions.get(number=1)


def _session_row(t: Any) -> Any:
    """pat's dosing session (the one its administration was given in)."""
    return pat_rows(t)["administration"].session


SPEC: dict[str, Url] = {
    **_compartment(Perm.VIEW_CLINICAL, "Encounter", _session_row),
    **_compartment(Perm.VIEW_CLINICAL, "Condition", _chart_row("diagnosis")),
    **_compartment(Perm.VIEW_CLINICAL, "AllergyIntolerance", _chart_row("allergy")),
    **_compartment(Perm.VIEW_CLINICAL, "MedicationStatement", _chart_row("medication")),
    **_compartment(Perm.VIEW_CLINICAL, "MedicationRequest", _plan_version_row),
    **_compartment(Perm.MANAGE_COVERAGE, "Coverage", _coverage_row),
    **_compartment(Perm.MANAGE_CLAIMS, "Claim", _claim_row),
    **_compartment(Perm.MANAGE_CLAIMS, "ExplanationOfBenefit", _answer_row),
    # A Group names other patients: staff with the clinical chart read it; patients never do.
    "fhir:group_search": api_url(Perm.VIEW_CLINICAL),
    "fhir:group_read": api_url(
        Perm.VIEW_CLINICAL, kwargs=lambda t: {"resource_id": _group_row(t).pk}, clinic_object=True
    ),
    "fhir:group_vread": api_url(
        Perm.VIEW_CLINICAL,
        kwargs=lambda t: {
            "resource_id": _group_row(t).pk,
            "version_id": _version("Group", _served("Group", _group_row)(t)),
        },
        clinic_object=True,
    ),
    **_directory("Practitioner", lambda t: t.paula),
    **_directory("Organization", lambda t: t.clinic),
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


def _for_services(name: str, spec: Url) -> Url:
    """Reads, searches and $everything are open to a backend service's system/ token."""
    reads = name.endswith(("_read", "_search", "_vread")) or name == "fhir:patient_everything"
    return replace(spec, system=True) if reads else spec


SPEC = {name: _for_services(name, spec) for name, spec in SPEC.items()}
