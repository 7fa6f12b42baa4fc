from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "katclinic.api"
    label = "api"
