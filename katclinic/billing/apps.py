from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "katclinic.billing"
    label = "billing"
    verbose_name = "Billing and payments"

    def ready(self) -> None:
        from katclinic.billing import clinic_settings, demo
        from katclinic.demo.generator import HISTORY_BUILDERS

        del clinic_settings  # imported for its define(...) calls
        if demo.build not in HISTORY_BUILDERS:
            HISTORY_BUILDERS.append(demo.build)
