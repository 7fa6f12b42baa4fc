"""Passkeys (WebAuthn) for staff: registering one, signing in with it, removing it.

A passkey is a second factor beside the authenticator app. The server keeps the public key,
the signature counter and the transports; each ceremony has a fresh challenge kept in the
session, used once and only for `WEBAUTHN_CHALLENGE_SECONDS`. User verification (the
device's PIN, fingerprint or face) is required. The checks themselves (origin, relying party,
challenge, signature, counter) are the maintained `webauthn` library's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from katclinic.accounts import services
from katclinic.accounts.models import FailureStep, Passkey, User
from katclinic.audit import services as audit
from katclinic.audit.models import Action, Outcome

REGISTER = "register"
SIGN_IN = "sign_in"
CHALLENGE_KEY = "passkey_challenge_"
MAX_PASSKEYS = 20
MAX_CREDENTIAL_CHARS = 20_000
NAME_MAX = 60
TRANSPORTS = {t.value for t in AuthenticatorTransport}
# What the library raises for a malformed answer, besides its own exceptions.
MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


@dataclass
class PasskeyRefused(Exception):
    """A refused passkey step; `field` names the form field, `message` is for the person."""

    field: str
    message: str


def available() -> bool:
    """Passkeys work only with a relying party id (a host name) configured."""
    return bool(settings.WEBAUTHN_RP_ID)


def for_user(user: User) -> list[Passkey]:
    return list(Passkey.objects.filter(user=user).order_by("created_at", "pk"))


def user_handle(user: User) -> bytes:
    """A stable id for the account on the device that holds no personal data."""
    return salted_hmac("katclinic.passkeys.user-handle", str(user.pk), algorithm="sha256").digest()


def _store_challenge(request: HttpRequest, purpose: str, challenge: bytes) -> None:
    expires = timezone.now().timestamp() + settings.WEBAUTHN_CHALLENGE_SECONDS
    request.session[CHALLENGE_KEY + purpose] = {
        "challenge": bytes_to_base64url(challenge),
        "expires": expires,
    }


def _take_challenge(request: HttpRequest, purpose: str) -> bytes | None:
    """The open challenge for `purpose`, removed from the session so it serves only once."""
    stored = request.session.pop(CHALLENGE_KEY + purpose, None)
    if not isinstance(stored, dict) or stored.get("expires", 0) < timezone.now().timestamp():
        return None
    return base64url_to_bytes(stored["challenge"])


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in p.transports if t in TRANSPORTS],
        )
        for p in for_user(user)
    ]


def registration_options(request: HttpRequest, user: User) -> str:
    """The JSON for navigator.credentials.create(); its challenge is kept in the session."""
    options = generate_registration_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_id=user_handle(user),
        user_name=user.email,
        user_display_name=user.full_name or user.email,
        timeout=settings.WEBAUTHN_CHALLENGE_SECONDS * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(user),
    )
    _store_challenge(request, REGISTER, options.challenge)
    return options_to_json(options)


def authentication_options(request: HttpRequest, user: User) -> str:
    """The JSON for navigator.credentials.get(), limited to this person's passkeys."""
    options = generate_authentication_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        timeout=settings.WEBAUTHN_CHALLENGE_SECONDS * 1000,
        allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _store_challenge(request, SIGN_IN, options.challenge)
    return options_to_json(options)


def _parse(raw: str) -> dict[str, Any]:
    """The browser's answer as a JSON object, or refused (never an error page)."""
    if len(raw) > MAX_CREDENTIAL_CHARS:
        raise PasskeyRefused("credential", "The passkey's answer is too long.")
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("rawId"), str):
        raise PasskeyRefused("credential", "The passkey's answer could not be read.")
    return parsed


def _transports(credential: dict[str, Any]) -> list[str]:
    response = credential.get("response")
    found = response.get("transports") if isinstance(response, dict) else None
    return sorted({t for t in found if t in TRANSPORTS}) if isinstance(found, list) else []


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise PasskeyRefused("name", "Give the passkey a name, such as the device it is on.")
    if len(name) > NAME_MAX:
        raise PasskeyRefused("name", f"Keep the name under {NAME_MAX} characters.")
    return name


def _refused_registration(request: HttpRequest, user: User, why: str) -> PasskeyRefused:
    audit.record(
        request=request,
        action=Action.SECURITY,
        object_type="account",
        object_id=str(user.pk),
        outcome=Outcome.FAILURE,
        detail={"change": "passkey registration refused", "why": why},
    )
    return PasskeyRefused("credential", "The passkey could not be added. Try again.")


def register(request: HttpRequest, user: User, *, name: str, credential: str) -> Passkey:
    """Store a new passkey from the browser's answer to `registration_options`."""
    name = _clean_name(name)
    challenge = _take_challenge(request, REGISTER)
    answer = _parse(credential)
    if challenge is None:
        raise _refused_registration(request, user, "no open challenge, or it lapsed")
    if Passkey.objects.filter(user=user).count() >= MAX_PASSKEYS:
        raise PasskeyRefused("name", f"An account can have at most {MAX_PASSKEYS} passkeys.")
    try:
        verified = verify_registration_response(
            credential=answer,
            expected_challenge=challenge,
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=settings.WEBAUTHN_ORIGINS,
            require_user_verification=True,
        )
    except MALFORMED as exc:
        raise _refused_registration(request, user, str(exc)[:200]) from None
    return _store(request, user, name=name, verified=verified, transports=_transports(answer))


def _store(
    request: HttpRequest, user: User, *, name: str, verified: Any, transports: list[str]
) -> Passkey:
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=name,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=bytes_to_base64url(verified.credential_public_key),
                sign_count=verified.sign_count,
                transports=transports,
            )
            audit.record(
                request=request,
                action=Action.SECURITY,
                object_type="account",
                object_id=str(user.pk),
                detail={"change": "passkey registered", "passkey": passkey.pk, "name": name},
            )
    except IntegrityError:
        raise _refused_registration(request, user, "credential already registered") from None
    return passkey


def _check_assertion(request: HttpRequest, user: User, credential: str) -> tuple[Passkey, int]:
    """The passkey that signed, and its new counter; raises PasskeyRefused with the reason."""
    challenge = _take_challenge(request, SIGN_IN)
    answer = _parse(credential)
    if challenge is None:
        raise PasskeyRefused("credential", "no open challenge, or it lapsed")
    passkey = Passkey.objects.filter(user=user, credential_id=answer["rawId"]).first()
    if passkey is None:
        raise PasskeyRefused("credential", "not a passkey of this account")
    response = answer.get("response")
    if not isinstance(response, dict):
        raise PasskeyRefused("credential", "the answer has no response")
    handle = response.get("userHandle")
    if handle and handle != bytes_to_base64url(user_handle(user)):
        raise PasskeyRefused("credential", "the passkey names another account")
    try:
        verified = verify_authentication_response(
            credential=answer,
            expected_challenge=challenge,
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=settings.WEBAUTHN_ORIGINS,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except MALFORMED as exc:
        raise PasskeyRefused("credential", str(exc)[:200]) from None
    return passkey, verified.new_sign_count


def sign_in(request: HttpRequest, user: User, *, credential: str) -> bool:
    """The second sign-in step with a passkey; failures count toward the lockout."""
    if services.lockout_remaining(email=user.email, ip=audit.client_ip(request)) is not None:
        services.record_failure(
            request, email=user.email, reason="locked out", step=FailureStep.SECOND_FACTOR
        )
        return False
    try:
        passkey, count = _check_assertion(request, user, credential)
    except PasskeyRefused as refused:
        services.count_second_factor_failure(
            request, user, reason=f"passkey refused: {refused.message}"
        )
        return False
    # The counter moves only forward and only once per answer, even for two requests at once.
    moved = Passkey.objects.filter(pk=passkey.pk, sign_count=passkey.sign_count).update(
        sign_count=count, last_used_at=timezone.now()
    )
    if moved != 1:
        services.count_second_factor_failure(
            request, user, reason="passkey refused: answer already used"
        )
        return False
    services.second_factor_passed(request, user, method="passkey", passkey=passkey.pk)
    return True


def remove(request: HttpRequest, user: User, *, passkey_id: int, password: str) -> Passkey:
    """Remove one of `user`'s own passkeys after they enter their password again."""
    ip = audit.client_ip(request)
    if services.lockout_remaining(email=user.email, ip=ip) is not None:
        raise PasskeyRefused("password", "Too many failed attempts. Try again later.")
    passkey = Passkey.objects.filter(pk=passkey_id, user=user).first()
    if passkey is None:
        raise PasskeyRefused("passkey", "There is no such passkey on your account.")
    if not user.check_password(password):
        services.record_failure(
            request, email=user.email, reason="wrong password to remove a passkey"
        )
        raise PasskeyRefused("password", "That password is not right.")
    with transaction.atomic():
        Passkey.objects.filter(pk=passkey.pk).delete()
        audit.record(
            request=request,
            action=Action.SECURITY,
            object_type="account",
            object_id=str(user.pk),
            detail={"change": "passkey removed", "passkey": passkey.pk, "name": passkey.name},
        )
    return passkey
