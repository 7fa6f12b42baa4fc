from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "katclinic.measures"
    label = "measures"
