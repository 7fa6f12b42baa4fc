from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "katclinic.messaging"
    label = "messaging"
    verbose_name = "Secure messages"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import worklists
        from katclinic.messaging import clinic_settings, worklist
        from katclinic.patients.tabs import ChartTab, register

        del clinic_settings  # imported for its settings definitions
        register(ChartTab("messages", "Messages", "messaging:chart_tab", Perm.HANDLE_MESSAGES))
        worklists.register(worklist.SECTION)
