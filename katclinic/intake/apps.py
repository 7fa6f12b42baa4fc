from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "katclinic.intake"
    label = "intake"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.intake import clinic_settings
        from katclinic.patients.tabs import ChartTab, register

        del clinic_settings  # imported for its settings definitions
        register(ChartTab("intake", "Intake", "intake:chart_tab", Perm.VIEW_CLINICAL))
