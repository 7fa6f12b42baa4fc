from datetime import timedelta

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "katclinic.portal"
    label = "portal"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import periodic, worklists
        from katclinic.patients.tabs import ChartTab, register
        from katclinic.portal import clinic_settings, worklist_sections
        from katclinic.portal.prune import prune_link_requests_task

        del clinic_settings  # imported for its settings definitions
        register(ChartTab("journal", "Journal", "portal:journal_tab", Perm.VIEW_CLINICAL))
        register(ChartTab("portal", "Portal", "portal:invite", Perm.EDIT_DEMOGRAPHICS))
        for section in worklist_sections.SECTIONS:
            worklists.register(section)
        periodic.register("portal.prune", timedelta(hours=1), prune_link_requests_task)
