from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "katclinic.audit"
    label = "audit"
