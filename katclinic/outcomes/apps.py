from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "katclinic.outcomes"
    label = "outcomes"
