"""The SMS provider's inbound webhook: each text a patient sends to the clinic's number."""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from katclinic.lib.env import envsecret, envstr
from katclinic.scheduling import inbound

MAX_NUMBER = 40


def _refuse(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def twiml(reply: str) -> str:
    """The answer the provider sends back to the patient (nothing when `reply` is empty)."""
    message = f"<Message>{escape(reply)}</Message>" if reply else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>'


@csrf_exempt  # the provider signs each request instead; no cookie is trusted here
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """A text from a patient, refused (403, nothing read or stored) unless its signature holds.

    The URL signed is `SMS_WEBHOOK_URL` when set (the address the provider was given, which a
    proxy in front of the server may rewrite), else the address this request arrived at."""
    url = envstr("SMS_WEBHOOK_URL") or request.build_absolute_uri()
    if not inbound.signature_ok(request, url, envsecret("SMS_AUTH_TOKEN")):
        return _refuse(403, "X-Twilio-Signature: missing or does not match this request")
    sender = request.POST.get("From", "").strip()
    body = request.POST.get("Body", "")
    if not sender or len(sender) > MAX_NUMBER or "\x00" in sender:
        return _refuse(400, "From: must be the sender's phone number")
    if len(body) > inbound.MAX_BODY or "\x00" in body:
        return _refuse(400, f"Body: must be a text of at most {inbound.MAX_BODY} characters")
    to = request.POST.get("To", "").strip()
    if len(to) > MAX_NUMBER or "\x00" in to:
        return _refuse(400, "To: must be the clinic's phone number")
    reply = inbound.receive(sender_number=sender, body=body, clinic_number=to)
    return HttpResponse(twiml(reply), content_type="text/xml; charset=utf-8")
