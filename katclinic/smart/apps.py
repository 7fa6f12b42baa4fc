from typing import Any

from django.apps import AppConfig
from django.core import checks


def check_id_token_key(**kwargs: Any) -> list[checks.CheckMessage]:
    """A configured id_token key that cannot sign stops the server at start, not at the
    first sign-in."""
    from django.conf import settings

    from katclinic.smart.idtoken import KeyProblem, signing_key

    if not settings.SMART_ID_TOKEN_KEY:
        return []
    try:
        signing_key()
    except KeyProblem as problem:
        return [checks.Error(str(problem), id="smart.E001")]
    return []


class SmartConfig(AppConfig):
    name = "katclinic.smart"
    label = "smart"
    verbose_name = "SMART on FHIR apps"

    def ready(self) -> None:
        checks.register(check_id_token_key, checks.Tags.security, deploy=False)
