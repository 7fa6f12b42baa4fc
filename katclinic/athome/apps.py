from django.apps import AppConfig


class AtHomeConfig(AppConfig):
    name = "katclinic.athome"
    label = "athome"
    verbose_name = "Take-home sessions"
