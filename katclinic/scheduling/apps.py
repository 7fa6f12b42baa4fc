from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "katclinic.scheduling"
    label = "scheduling"
