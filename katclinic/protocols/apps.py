from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "katclinic.protocols"
    label = "protocols"
