"""Sending text messages: one interface, a real HTTP backend and a development backend.

The backend is chosen by the environment: `SMS_BACKEND=twilio` sends through a
Twilio-compatible REST API (`SMS_API_URL`, `SMS_ACCOUNT_SID`, `SMS_AUTH_TOKEN`, `SMS_FROM`);
unset, the development and demo servers and the tests use the console backend, which only
records and logs; a production server with no provider refuses to send (each text reminder
records the refusal and is retried, then marked failed), so phone numbers and message
text never land in its log.
"""

from __future__ import annotations

import base64
import logging
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import ClassVar, Protocol

from django.conf import settings

from katclinic.lib.env import envsecret, envstr

log = logging.getLogger(__name__)
TWILIO_URL = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"


class SmsError(RuntimeError):
    """The provider refused or could not be reached; the caller retries later."""


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> None: ...


@dataclass(frozen=True)
class SentSms:
    to: str
    body: str


class ConsoleSmsBackend:
    """Keeps every message in `outbox` (tests read it) and logs it; sends nothing."""

    outbox: ClassVar[list[SentSms]] = []

    def send(self, *, to: str, body: str) -> None:
        if not to.strip():
            raise SmsError("no phone number on record")
        ConsoleSmsBackend.outbox.append(SentSms(to, body))
        log.info("SMS to %s: %s", to, body)


@dataclass(frozen=True)
class TwilioCompatibleBackend:
    """POSTs To/From/Body form fields with basic auth, as Twilio and compatible services take."""

    url: str
    account_sid: str
    auth_token: str
    sender: str
    timeout: float = 10.0

    def send(self, *, to: str, body: str) -> None:
        data = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body}).encode()
        request = urllib.request.Request(self.url, data=data, method="POST")  # noqa: S310 - https URL from config
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request.add_header("Authorization", f"Basic {credentials}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if response.status >= 300:
                    raise SmsError(f"provider answered {response.status}")
        except OSError as exc:
            raise SmsError(f"provider unreachable: {exc}") from exc


def get_backend() -> SmsBackend:
    if envstr("SMS_BACKEND") == "twilio":
        sid = envstr("SMS_ACCOUNT_SID")
        url = envstr("SMS_API_URL") or TWILIO_URL.format(sid=sid)
        if not url.startswith("https://"):
            raise SmsError("SMS_API_URL must be an https URL")
        return TwilioCompatibleBackend(url, sid, envsecret("SMS_AUTH_TOKEN"), envstr("SMS_FROM"))
    if settings.DEBUG or settings.TESTING or settings.DEMO_MODE:
        return ConsoleSmsBackend()
    raise SmsError("no SMS provider is configured (set SMS_BACKEND); the text was not sent")
