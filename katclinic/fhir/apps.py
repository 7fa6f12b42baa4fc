from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "katclinic.fhir"
    label = "fhir"
