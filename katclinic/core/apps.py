from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "katclinic.core"
    label = "core"
