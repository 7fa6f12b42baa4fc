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
