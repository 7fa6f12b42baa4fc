"""Granted scopes in plain words, for the consent page and the list of connected apps."""

from __future__ import annotations

from katclinic.smart.scopes import ResourceScope, Scopes

TYPE_WORDS = {
    "*": "whole record",
    "Patient": "name, date of birth and contact details",
    "Observation": "questionnaire scores and measurements",
    "QuestionnaireResponse": "questionnaire answers",
    "Questionnaire": "the questionnaires the clinic uses",
    "Appointment": "appointments",
    "Flag": "safety alerts",
    "Consent": "signed consent forms",
    "MedicationAdministration": "medication given in treatment sessions",
    "MedicationRequest": "treatment plans as signed: the ketamine or esketamine prescribed",
    "ChargeItem": "charges",
    "Coverage": "insurance details (insurer, plan and member number)",
    "Claim": "insurance claims the clinic sent",
    "ExplanationOfBenefit": "insurers' answers to claims: what was paid and what is left to pay",
    "Condition": "diagnoses",
    "AllergyIntolerance": "allergies",
    "MedicationStatement": "medications taken now or in the past",
    "Practitioner": "names of the clinic's staff",
    "Organization": "the clinic's name and contact details",
    "Group": "treatment programs and who takes part in them",
    "Encounter": "visits and treatment sessions",
}


# Not part of anyone's own record: named without "your" or "the patient's".
SHARED = frozenset({"Questionnaire", "Practitioner", "Organization", "Group"})


def _what(scope: ResourceScope) -> str:
    return TYPE_WORDS.get(scope.type_name, scope.type_name)


def describe(scopes: Scopes, *, patient_user: bool) -> list[str]:
    lines = []
    for scope in scopes.resources:
        verb = "read and search" if scope.read and scope.search else "read"
        if not scope.read:
            verb = "search"
        if scope.type_name in SHARED:
            whose = ""
        elif patient_user:
            whose = "your"
        elif scope.level == "patient":
            whose = "the chosen patient's"
        else:
            whose = "any patient's (as far as your role allows)"
        lines.append(" ".join(part for part in (verb.capitalize(), whose, _what(scope)) if part))
    if scopes.fhir_user:
        entry = "your record" if patient_user else "your staff entry"
        lines.append(f"Know who you are: your account and {entry}")
    elif scopes.openid:
        lines.append("Know who you are: your account")
    if scopes.offline:
        lines.append("Stay connected until you disconnect it, without asking again")
    return lines
