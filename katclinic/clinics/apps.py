from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "katclinic.clinics"
    label = "clinics"

    def ready(self) -> None:
        from katclinic.clinics import clinic_settings

        del clinic_settings  # imported for its settings definitions
