"""The canonical definition of each search parameter the facade serves, for the
CapabilityStatement's ``searchParam.definition``.

Types that declare a US Core 6.1.0 profile name US Core's SearchParameters
(https://hl7.org/fhir/us/core/STU6.1/search-parameters.html) where US Core defines one;
every other parameter names the FHIR R4 SearchParameter it implements
(https://hl7.org/fhir/R4/searchparameter-registry.html). A parameter of this server's own
(``category`` of a MedicationAdministration, ``subject`` on a type without a subject
element) has no definition and says so in its documentation.

R4 defines some parameters once for several types under a shared id (``clinical-patient``,
``clinical-code``, ``medications-status``); there is no ``medications-patient`` or
``medications-code``. ``tests/test_definitions.py`` pins every definition served against
the ids read from the R4 and US Core 6.1.0 specifications.
"""

from __future__ import annotations

US_CORE = "http://hl7.org/fhir/us/core/SearchParameter/us-core-"
R4 = "http://hl7.org/fhir/SearchParameter/"

# US Core SearchParameters by type: the parameter names each defines.
_US_CORE: dict[str, tuple[str, ...]] = {
    "Patient": ("_id", "birthdate", "family", "gender", "given", "identifier", "name"),
    "Encounter": ("_id", "class", "date", "identifier", "patient", "status"),
    "Observation": ("category", "code", "date", "patient", "status"),
    "Condition": ("category", "clinical-status", "code", "onset-date", "patient", "recorded-date"),
    "Organization": ("name",),
    "Practitioner": ("_id", "identifier", "name"),
    "AllergyIntolerance": ("clinical-status", "patient"),
    "QuestionnaireResponse": ("_id", "authored", "patient", "questionnaire", "status"),
    "MedicationRequest": ("authoredon", "encounter", "intent", "patient", "status"),
}

# FHIR R4 SearchParameters: (type, parameter) -> the SearchParameter's id.
_R4: dict[tuple[str, str], str] = {
    ("Encounter", "subject"): "Encounter-subject",
    ("Observation", "subject"): "Observation-subject",
    ("Observation", "encounter"): "clinical-encounter",
    ("Condition", "subject"): "Condition-subject",
    ("QuestionnaireResponse", "subject"): "QuestionnaireResponse-subject",
    ("Questionnaire", "url"): "Questionnaire-url",
    ("Questionnaire", "code"): "Questionnaire-code",
    ("Questionnaire", "status"): "Questionnaire-status",
    ("Questionnaire", "name"): "Questionnaire-name",
    ("Flag", "patient"): "clinical-patient",
    ("Flag", "subject"): "Flag-subject",
    ("Flag", "date"): "clinical-date",
    ("Consent", "patient"): "clinical-patient",
    ("Consent", "date"): "clinical-date",
    ("Consent", "status"): "Consent-status",
    ("Appointment", "patient"): "Appointment-patient",
    ("Appointment", "date"): "Appointment-date",
    ("Appointment", "status"): "Appointment-status",
    ("MedicationAdministration", "patient"): "clinical-patient",
    ("MedicationAdministration", "subject"): "MedicationAdministration-subject",
    ("MedicationAdministration", "effective-time"): "MedicationAdministration-effective-time",
    ("MedicationAdministration", "code"): "clinical-code",
    ("MedicationAdministration", "status"): "medications-status",
    ("MedicationAdministration", "request"): "MedicationAdministration-request",
    ("MedicationRequest", "subject"): "MedicationRequest-subject",
    ("MedicationRequest", "requester"): "MedicationRequest-requester",
    ("MedicationRequest", "identifier"): "clinical-identifier",
    ("ChargeItem", "patient"): "ChargeItem-patient",
    ("ChargeItem", "subject"): "ChargeItem-subject",
    ("ChargeItem", "code"): "ChargeItem-code",
    ("ChargeItem", "occurrence"): "ChargeItem-occurrence",
    ("AllergyIntolerance", "date"): "clinical-date",
    ("MedicationStatement", "patient"): "clinical-patient",
    ("MedicationStatement", "subject"): "MedicationStatement-subject",
    ("MedicationStatement", "status"): "medications-status",
    ("MedicationStatement", "effective"): "MedicationStatement-effective",
    ("Organization", "identifier"): "Organization-identifier",
    ("Coverage", "patient"): "Coverage-patient",
    ("Coverage", "beneficiary"): "Coverage-beneficiary",
    ("Coverage", "status"): "Coverage-status",
    ("Claim", "patient"): "Claim-patient",
    ("Claim", "created"): "Claim-created",
    ("Claim", "use"): "Claim-use",
    ("Claim", "status"): "Claim-status",
    ("ExplanationOfBenefit", "patient"): "ExplanationOfBenefit-patient",
    ("ExplanationOfBenefit", "created"): "ExplanationOfBenefit-created",
    ("ExplanationOfBenefit", "status"): "ExplanationOfBenefit-status",
    ("ExplanationOfBenefit", "claim"): "ExplanationOfBenefit-claim",
    ("Group", "member"): "Group-member",
    ("Group", "identifier"): "Group-identifier",
    ("Group", "type"): "Group-type",
    ("Group", "actual"): "Group-actual",
}


def definition(type_name: str, param: str) -> str | None:
    """The canonical URL of the SearchParameter ``param`` implements on ``type_name``."""
    if param in _US_CORE.get(type_name, ()):
        return f"{US_CORE}{type_name.lower()}-{param.removeprefix('_')}"
    if param == "_id":
        return f"{R4}Resource-id"
    found = _R4.get((type_name, param))
    return f"{R4}{found}" if found else None
