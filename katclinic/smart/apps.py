from django.apps import AppConfig


class SmartConfig(AppConfig):
    name = "katclinic.smart"
    label = "smart"
    verbose_name = "SMART on FHIR apps"
