from datetime import timedelta

from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "katclinic.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        from katclinic.clinics.permissions import Perm
        from katclinic.core import periodic, worklists
        from katclinic.patients.tabs import ChartTab, register
        from katclinic.scheduling import clinic_settings, reminders, worklist  # noqa: F401

        register(
            ChartTab(
                "appointments",
                "Appointments",
                "scheduling:patient_appointments",
                Perm.VIEW_DEMOGRAPHICS,
            )
        )
        periodic.register(
            "scheduling.send_due_reminders", timedelta(minutes=5), reminders.send_due_reminders
        )
        worklists.register(worklist.SECTION)
