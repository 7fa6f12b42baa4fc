from django.apps import AppConfig


class SurveillanceConfig(AppConfig):
    name = "katclinic.surveillance"
    label = "surveillance"
    verbose_name = "Long-term safety surveillance"
