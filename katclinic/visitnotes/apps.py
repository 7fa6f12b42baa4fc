from django.apps import AppConfig


class VisitNotesConfig(AppConfig):
    name = "katclinic.visitnotes"
    label = "visitnotes"
    verbose_name = "Visit notes"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import worklists
        from katclinic.patients.tabs import ChartTab, register
        from katclinic.visitnotes import worklist

        register(ChartTab("visitnotes", "Notes", "visitnotes:chart", Perm.VIEW_CLINICAL))
        worklists.register(worklist.TODAY)
        worklists.register(worklist.NOTES_DUE)
