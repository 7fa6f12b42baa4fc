from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "katclinic.accounts"
    label = "accounts"
