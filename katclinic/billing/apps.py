from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "katclinic.billing"
    label = "billing"
    verbose_name = "Billing and payments"

    def ready(self) -> None:
        from katclinic.billing import clinic_settings, worklist
        from katclinic.clinics.permissions import Perm
        from katclinic.core import worklists
        from katclinic.patients.tabs import ChartTab, register

        del clinic_settings  # imported for its settings definitions
        worklists.register(worklist.SECTION)
        register(ChartTab("billing", "Billing", "billing:account", Perm.VIEW_BILLING))
