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
        from katclinic.portal.home import register as register_card
        from katclinic.surveillance.exposure import register_source

        del clinic_settings  # imported for its settings definitions
        register(ChartTab("athome", "At-home", "athome:patient", Perm.VIEW_CLINICAL))
        for section in worklist.SECTIONS:
            worklists.register(section)
        register_card(worklist.CARD)
        register_source("home", services.home_doses)
        periodic.register(
            "athome.missed_checkins", timedelta(minutes=5), services.mark_missed_checkins_task
        )
