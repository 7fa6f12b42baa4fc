from datetime import timedelta

from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "katclinic.bulk"
    label = "bulk"
    verbose_name = "FHIR Bulk Data export"

    def ready(self) -> None:
        from katclinic.bulk import clinic_settings, exporter
        from katclinic.core import periodic

        del clinic_settings  # imported for its settings definitions
        periodic.register("bulk_prune_exports", timedelta(hours=1), exporter.prune_exports)
        periodic.register(
            "bulk_fail_stuck_exports", timedelta(minutes=5), exporter.fail_stuck_exports
        )
