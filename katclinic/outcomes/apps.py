from datetime import timedelta

from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "katclinic.outcomes"
    label = "outcomes"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import periodic, worklists
        from katclinic.outcomes import clinic_settings, services, worklist
        from katclinic.patients.tabs import ChartTab, register

        del clinic_settings  # imported for its settings definitions
        register(ChartTab("progress", "Progress", "outcomes:progress", Perm.VIEW_CLINICAL))
        worklists.register(worklist.SECTION)
        periodic.register("outcomes.refresh", timedelta(minutes=1), services.refresh_outcomes_task)
