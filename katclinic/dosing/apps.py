from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "katclinic.dosing"
    label = "dosing"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import worklists
        from katclinic.dosing import clinic_settings, worklist  # noqa: F401 - registers settings
        from katclinic.patients.tabs import ChartTab, register

        register(ChartTab("sessions", "Sessions", "dosing:patient_sessions", Perm.VIEW_CLINICAL))
        worklists.register(worklist.SECTION)
