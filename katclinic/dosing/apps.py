from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "katclinic.dosing"
    label = "dosing"
