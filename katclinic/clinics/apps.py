from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "katclinic.clinics"
    label = "clinics"
