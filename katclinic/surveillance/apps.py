from datetime import timedelta

from django.apps import AppConfig


class SurveillanceConfig(AppConfig):
    name = "katclinic.surveillance"
    label = "surveillance"
    verbose_name = "Long-term safety surveillance"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import periodic, worklists
        from katclinic.patients.tabs import ChartTab, register
        from katclinic.surveillance import clinic_settings, jobs, worklist

        del clinic_settings  # imported for its settings definitions
        register(
            ChartTab("surveillance", "Surveillance", "surveillance:review", Perm.VIEW_CLINICAL)
        )
        worklists.register(worklist.SECTION)
        periodic.register("surveillance.run", timedelta(hours=1), jobs.run_surveillance_task)
