from django.apps import AppConfig


class InsuranceConfig(AppConfig):
    name = "katclinic.insurance"
    label = "insurance"
    verbose_name = "Insurance and claims"

    def ready(self) -> None:
        from katclinic.core import worklists
        from katclinic.insurance import clinic_settings, worklist
        from katclinic.patients.tabs import ChartTab, register

        del clinic_settings  # imported for its settings definitions
        register(ChartTab("insurance", "Insurance", "insurance:patient", worklist.VIEW_PERM))
        for section in worklist.SECTIONS:
            worklists.register(section)
