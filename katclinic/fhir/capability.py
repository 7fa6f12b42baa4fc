"""The CapabilityStatement, built from the registry so it lists exactly what is served."""

from __future__ import annotations

from typing import Any

from katclinic.fhir.definitions import definition
from katclinic.fhir.includes import choices
from katclinic.fhir.registry import REGISTRY

FHIR_VERSION = "4.0.1"
TRANSACTION_TYPES = ("Patient", "QuestionnaireResponse")


def _controls(sorts: list[str]) -> list[tuple[str, str, str]]:
    """The search result parameters every type accepts."""
    return [
        ("_count", "number", "Page size; 0 answers the total only"),
        ("_offset", "number", "Where the page starts"),
        ("_sort", "string", f"Order by {', '.join(sorts)}; prefix - for descending"),
        ("_summary", "token", "count (the total only) or false"),
        ("_total", "token", "accurate (the default), estimate or none"),
        ("_elements", "string", "Top-level elements to return (id, meta and mandatory kept)"),
    ]


# FHIR Bulk Data Access 2.0 (https://hl7.org/fhir/uv/bulkdata/).
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata"
BULK_EXPORT_NOTE = (
    "Bulk Data $export (system, Patient and Group level; a Group is a protocol's patients) "
    "for a SMART backend service's token with system/ scopes: Prefer: respond-async, _type, "
    "_since, _typeFilter (a search of the type's parameters), "
    "_outputFormat=application/fhir+ndjson."
)
SMART_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def _security(oauth: dict[str, str]) -> dict[str, Any]:
    """SMART App Launch 2.x: the OAuth endpoints as the oauth-uris extension
    (https://hl7.org/fhir/smart-app-launch/conformance.html)."""
    return {
        "cors": True,
        "extension": [
            {
                "url": SMART_OAUTH_URIS,
                "extension": [{"url": name, "valueUri": uri} for name, uri in oauth.items()],
            }
        ],
        "service": [
            {
                "coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}],
                "text": "SMART App Launch (OAuth 2.0 with PKCE), or a bearer token issued "
                "by KAT Clinic",
            }
        ],
        "description": "Apps registered by the clinic connect with SMART App Launch 2.0; "
        "see .well-known/smart-configuration under this base.",
    }


def _search_param(type_name: str, name: str, kind: str, text: str) -> dict[str, str]:
    found = {"name": name}
    if (url := definition(type_name, name)) is not None:
        found["definition"] = url
    return found | {"type": kind, "documentation": text}


def capability_statement(base_url: str, date: str, oauth: dict[str, str]) -> dict[str, Any]:
    resources = []
    for resource_type in REGISTRY.values():
        entry: dict[str, Any] = {
            "type": resource_type.name,
            "interaction": [{"code": "read"}, {"code": "vread"}, {"code": "search-type"}],
            # Only the current version is kept; vread answers it by its versionId.
            "versioning": "versioned",
            "readHistory": False,
            "conditionalRead": "full-support",
            "searchParam": [
                _search_param(resource_type.name, p.name, p.type, p.documentation)
                for p in resource_type.all_params()
            ]
            + [
                {"name": name, "type": kind, "documentation": text}
                for name, kind, text in _controls(sorted(resource_type.sort_fields()))
            ],
        }
        if resource_type.profiles:
            entry["supportedProfile"] = list(resource_type.profiles)
        forward, reverse = choices(resource_type)
        if forward:
            entry["searchInclude"] = forward
        if reverse:
            entry["searchRevInclude"] = reverse
        notes = [resource_type.documentation] if resource_type.documentation else []
        if resource_type.name in TRANSACTION_TYPES:
            entry["interaction"].append({"code": "create"})
            entry["conditionalCreate"] = True
            notes.append(
                "create by POST to the type (If-None-Exist for conditional create; Prefer: "
                "return=minimal, representation or OperationOutcome) or in a transaction or "
                "batch Bundle posted to the base"
            )
        if notes:
            entry["documentation"] = " ".join(notes)
        if resource_type.name == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                },
                {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/patient-export"},
            ]
        if resource_type.name == "Group":
            entry["operation"] = [
                {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/group-export"}
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": {"name": "KAT Clinic FHIR facade"},
        "implementation": {"description": "KAT Clinic", "url": base_url},
        "instantiates": [f"{BULK_DATA}/CapabilityStatement/bulk-data"],
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Bearer tokens with the fhir:read / fhir:write scopes, or "
                "a SMART app's token (read only, limited to its scopes). "
                "A patient's token reads only that patient's compartment and must name it "
                "(patient=Patient/<id>, or _id for Patient). Unknown search parameters are "
                "refused (400) unless the request says Prefer: handling=lenient; a code this "
                "server does not use finds nothing. Only the current version of a resource is "
                "kept: meta.versionId, ETag, If-None-Match and If-Modified-Since refer to it. "
                "_include and _revinclude follow the references each type lists (searchInclude, "
                "searchRevInclude); included resources are read with the same access as a "
                "search of their type. A resource declares a US Core 6.1.0 profile in "
                "meta.profile only where it meets that profile's mandatory and must-support "
                "elements (supportedProfile lists them per type: Patient, Encounter, "
                "Observation for LOINC-coded screening totals and for the blood pressure, "
                "heart rate, respiratory rate and pulse oximetry of dosing sessions, "
                "QuestionnaireResponse, Condition, Organization, MedicationRequest); each "
                "other type's documentation says why not.",
                "security": _security(oauth),
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "operation": [
                    {
                        "name": "export",
                        "definition": f"{BULK_DATA}/OperationDefinition/export",
                        "documentation": BULK_EXPORT_NOTE,
                    }
                ],
            }
        ],
    }
