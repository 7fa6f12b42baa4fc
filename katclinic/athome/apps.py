from datetime import timedelta

from django.apps import AppConfig


class AtHomeConfig(AppConfig):
    name = "katclinic.athome"
    label = "athome"
    verbose_name = "Take-home sessions"

    def ready(self) -> None:
        from katclinic.athome import clinic_settings, services, worklist
        from katclinic.clinics.permissions import Perm
        from katclinic.core import periodic, worklists
        from katclinic.patients.tabs import ChartTab, register

        del clinic_settings  # imported for its settings definitions
        register(ChartTab("athome", "At-home", "athome:patient", Perm.VIEW_CLINICAL))
        for section in worklist.SECTIONS:
            worklists.register(section)
        periodic.register(
            "athome.missed_checkins", timedelta(minutes=5), services.mark_missed_checkins_task
        )
