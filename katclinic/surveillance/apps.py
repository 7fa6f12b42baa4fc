from datetime import timedelta

from django.apps import AppConfig


class SurveillanceConfig(AppConfig):
    name = "katclinic.surveillance"
    label = "surveillance"
    verbose_name = "Long-term safety surveillance"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import periodic, worklists
        from katclinic.measures.services import register_after_store
        from katclinic.patients.tabs import ChartTab, register
        from katclinic.surveillance import clinic_settings, jobs, services, sources, worklist
        from katclinic.surveillance.exposure import register_source

        del clinic_settings  # imported for its settings definitions
        register_source("clinic", sources.clinic_doses)
        register_after_store(services.raise_for_positive_screen)
        register(
            ChartTab("surveillance", "Surveillance", "surveillance:review", Perm.VIEW_CLINICAL)
        )
        worklists.register(worklist.SECTION)
        periodic.register("surveillance.run", timedelta(hours=1), jobs.run_surveillance_task)
