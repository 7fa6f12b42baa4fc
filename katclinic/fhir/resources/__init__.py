"""Pure mappings between KAT Clinic rows and FHIR resources, one module per resource type.

The facade speaks FHIR R4 (4.0.1). Tests validate what these modules emit with the
``fhir.resources`` R4B models: R4B changed none of the elements used here (Patient,
Questionnaire, QuestionnaireResponse, Observation, Flag, Consent, Appointment,
MedicationAdministration, MedicationRequest, Encounter, ChargeItem, Coverage, Claim, ExplanationOfBenefit, Condition,
AllergyIntolerance, MedicationStatement, Practitioner, Organization, Bundle,
OperationOutcome, CapabilityStatement), so a resource
valid under R4B is valid R4 on the wire.

Nothing here touches the database: each ``to_fhir_*`` reads only the row it is given
(and rows already joined to it), and each ``from_fhir_*`` returns plain field values or
raises ``InvalidResource`` naming every failing element. The models of the apps they map
are imported for annotations only (under ``TYPE_CHECKING``): a mapping reads the attributes
of the row it is handed and never queries a model.
"""
