from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "katclinic.protocols"
    label = "protocols"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.patients.tabs import ChartTab, register
        from katclinic.protocols import clinic_settings  # noqa: F401

        register(ChartTab("plan", "Plan", "protocols:patient_plans", Perm.VIEW_CLINICAL))
