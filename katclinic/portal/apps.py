from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "katclinic.portal"
    label = "portal"
