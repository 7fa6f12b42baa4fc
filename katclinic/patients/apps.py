from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "katclinic.patients"
    label = "patients"
