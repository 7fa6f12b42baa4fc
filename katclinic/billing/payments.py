"""Payment providers behind one small interface.

A provider opens a hosted checkout for an amount and answers whether it was paid; the patient
types card details on the provider's page, so this server keeps only the provider's reference
(PCI DSS SAQ A scope). `console` is the default and sends nothing anywhere: it logs the
checkout and reports it paid once staff confirm. `stripe` calls Stripe Checkout over HTTPS.
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

log = logging.getLogger("katclinic.billing.payments")


class ProviderError(RuntimeError):
    """The provider refused or could not be reached."""


@dataclass(frozen=True)
class Checkout:
    provider: str
    reference: str
    url: str


class PaymentProvider(Protocol):
    name: str

    def create_checkout(
        self, *, amount_cents: int, currency: str, description: str, return_url: str
    ) -> Checkout: ...

    def is_paid(self, reference: str) -> bool: ...

    def refund(self, reference: str, amount_cents: int) -> str: ...


class ConsoleProvider:
    """Writes each checkout to the log; nothing leaves the server."""

    name = "console"

    def create_checkout(
        self, *, amount_cents: int, currency: str, description: str, return_url: str
    ) -> Checkout:
        reference = "console_" + secrets.token_hex(8)
        # No real checkout page: the link opens the patient's statements in the portal.
        url = f"{settings.SITE_URL.rstrip('/')}/portal/"
        log.info("checkout %s for %s %s: %s", reference, amount_cents, currency, description)
        return Checkout(self.name, reference, url)

    def is_paid(self, reference: str) -> bool:
        return reference.startswith("console_")

    def refund(self, reference: str, amount_cents: int) -> str:
        log.info("refund of %s cents on %s", amount_cents, reference)
        return "console_refund_" + secrets.token_hex(6)


class StripeCheckoutProvider:
    """Stripe Checkout through its HTTPS API, without an SDK. Never called in tests."""

    name = "stripe"
    base = "https://api.stripe.com/v1"

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ProviderError("The card payment provider has no secret key configured.")
        self.secret_key = secret_key

    def build_request(
        self, method: str, path: str, fields: dict[str, Any] | None = None
    ) -> urllib.request.Request:
        data = urllib.parse.urlencode(fields).encode() if fields else None
        request = urllib.request.Request(  # noqa: S310 - fixed https base URL
            f"{self.base}{path}", data=data, method=method
        )
        request.add_header("Authorization", f"Bearer {self.secret_key}")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        return request

    def _send(self, request: urllib.request.Request) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except OSError as exc:
            raise ProviderError(f"The card payment provider did not answer: {exc}") from exc

    def checkout_fields(
        self, *, amount_cents: int, currency: str, description: str, return_url: str
    ) -> dict[str, Any]:
        return {
            "mode": "payment",
            "success_url": return_url,
            "cancel_url": return_url,
            "line_items[0][quantity]": 1,
            "line_items[0][price_data][currency]": currency.lower(),
            "line_items[0][price_data][unit_amount]": amount_cents,
            "line_items[0][price_data][product_data][name]": description,
        }

    def create_checkout(
        self, *, amount_cents: int, currency: str, description: str, return_url: str
    ) -> Checkout:
        fields = self.checkout_fields(
            amount_cents=amount_cents,
            currency=currency,
            description=description,
            return_url=return_url,
        )
        answer = self._send(self.build_request("POST", "/checkout/sessions", fields))
        return Checkout(self.name, str(answer["id"]), str(answer["url"]))

    def is_paid(self, reference: str) -> bool:
        path = "/checkout/sessions/" + urllib.parse.quote(reference, safe="")
        answer = self._send(self.build_request("GET", path))
        return answer.get("payment_status") == "paid"

    def refund(self, reference: str, amount_cents: int) -> str:
        path = "/checkout/sessions/" + urllib.parse.quote(reference, safe="")
        session = self._send(self.build_request("GET", path))
        answer = self._send(
            self.build_request(
                "POST",
                "/refunds",
                {"payment_intent": session["payment_intent"], "amount": amount_cents},
            )
        )
        return str(answer["id"])


def provider(name: str | None = None) -> PaymentProvider:
    """The configured provider (setting BILLING_PAYMENT_PROVIDER), or the one named."""
    chosen = name or settings.BILLING_PAYMENT_PROVIDER
    if chosen == "stripe":
        return StripeCheckoutProvider(settings.BILLING_STRIPE_SECRET_KEY)
    if chosen == "console":
        return ConsoleProvider()
    raise ProviderError(f"Unknown card payment provider {chosen!r}.")
