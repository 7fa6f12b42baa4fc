"""The CapabilityStatement, built from the registry so it lists exactly what is served."""

from __future__ import annotations

from typing import Any

from katclinic.fhir.registry import REGISTRY

FHIR_VERSION = "4.0.1"
TRANSACTION_TYPES = ("Patient", "QuestionnaireResponse")


def capability_statement(base_url: str, date: str) -> dict[str, Any]:
    resources = []
    for resource_type in REGISTRY.values():
        entry: dict[str, Any] = {
            "type": resource_type.name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": p.name, "type": p.type, "documentation": p.documentation}
                for p in resource_type.all_params()
            ],
        }
        notes = [resource_type.documentation] if resource_type.documentation else []
        if resource_type.name in TRANSACTION_TYPES:
            entry["interaction"].append({"code": "create"})
            notes.append("create only inside a transaction Bundle posted to the base")
        if notes:
            entry["documentation"] = " ".join(notes)
        if resource_type.name == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": {"name": "KAT Clinic FHIR facade"},
        "implementation": {"description": "KAT Clinic", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Bearer tokens with the fhir:read / fhir:write scopes. "
                "A patient's token reads only that patient's compartment and must name it "
                "(patient=Patient/<id>, or _id for Patient).",
                "security": {
                    "service": [{"text": "Bearer token issued by KAT Clinic"}],
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}],
            }
        ],
    }
