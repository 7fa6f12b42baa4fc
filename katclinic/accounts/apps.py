from datetime import timedelta

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "katclinic.accounts"
    label = "accounts"

    def ready(self) -> None:
        from katclinic.accounts.prune import prune_login_failures_task
        from katclinic.core import periodic

        periodic.register("accounts.prune", timedelta(hours=1), prune_login_failures_task)
