from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "katclinic.billing"
    label = "billing"
    verbose_name = "Billing and payments"

    def ready(self) -> None:
        from katclinic.billing import clinic_settings

        del clinic_settings  # imported for its define(...) calls
