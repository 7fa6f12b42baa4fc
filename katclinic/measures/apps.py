from datetime import timedelta

from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "katclinic.measures"
    label = "measures"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import periodic
        from katclinic.measures import clinic_settings, safety, schedules
        from katclinic.patients.tabs import ChartTab, register

        del clinic_settings  # imported for its settings definitions
        register(ChartTab("measures", "Measures", "measures:chart", Perm.VIEW_CLINICAL))
        periodic.register("measures.schedules", timedelta(minutes=5), schedules.run_schedules_task)
        periodic.register(
            "measures.escalate_alerts", timedelta(minutes=1), safety.escalate_alerts_task
        )
