"""How long a finished Bulk Data export stays downloadable. Security policy, not clinical."""

from decimal import Decimal

from katclinic.clinics.registry import define_int

EXPORT_FILE_HOURS = define_int(
    key="bulk_export_file_hours",
    label="Hours the files of a bulk data export stay downloadable",
    default=24,
    unit="hours",
    source=(
        "Clinic security policy: exported records are deleted a day after the export. The "
        "FHIR Bulk Data Access IG 2.0.0 (HL7, 2021) leaves the time to the server and asks "
        "that the manifest's files stay available for a reasonable time "
        "(https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status)."
    ),
    minimum=Decimal(1),
    maximum=Decimal(168),
    group="Security: data export",
)

EXPORT_RUNNING_MINUTES = define_int(
    key="bulk_export_running_minutes",
    label="Minutes a bulk data export may run before it is marked failed",
    default=120,
    unit="minutes",
    source=(
        "Operations policy: an export still running after two hours has lost its worker (a "
        "crash or restart), so it is marked failed and the client is told to start a new one. "
        "The FHIR Bulk Data Access IG 2.0.0 (HL7, 2021) has the status request answer an "
        "error status with an OperationOutcome once processing has failed "
        "(https://hl7.org/fhir/uv/bulkdata/export.html#response---error-status-1)."
    ),
    minimum=Decimal(5),
    maximum=Decimal(1440),
    group="Security: data export",
)
