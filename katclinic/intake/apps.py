from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "katclinic.intake"
    label = "intake"
