"""Signing in, second factors, throttling and ending sessions."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import LoginFailure, RecoveryCode, TotpDevice, User, UserSession
from katclinic.audit import services as audit
from katclinic.audit.models import Action, Outcome

OTP_OK = "otp_ok"
STARTED_AT = "started_at"
LAST_SEEN = "last_seen"
RECOVERY_CODE_COUNT = 10
TOTP_DIGITS = 6


def lockout_remaining(*, email: str, ip: str | None) -> timedelta | None:
    """How long sign-in stays refused for this account or address, if it is locked."""
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    since = timezone.now() - window
    by_email = LoginFailure.objects.filter(email=email.lower(), at__gte=since).order_by("-at")
    by_ip = (
        LoginFailure.objects.filter(ip=ip, at__gte=since).order_by("-at")
        if ip
        else LoginFailure.objects.none()
    )
    for failures, limit in (
        (by_email, settings.LOGIN_FAILURE_LIMIT),
        (by_ip, settings.LOGIN_FAILURE_IP_LIMIT),
    ):
        recent = list(failures.values_list("at", flat=True)[:limit])
        if len(recent) >= limit:
            return recent[-1] + window - timezone.now()
    return None


def record_failure(request: HttpRequest, *, email: str, reason: str) -> None:
    ip = audit.client_ip(request)
    LoginFailure.objects.create(email=email.lower()[:254], ip=ip)
    audit.record(
        request=request,
        action=Action.LOGIN_FAILED,
        object_type="account",
        object_id=email.lower()[:64],
        outcome=Outcome.FAILURE,
        detail={"reason": reason},
    )


def sign_in(request: HttpRequest, user: User) -> None:
    """Start a session after the password step; the second factor comes next."""
    login(request, user, backend="katclinic.accounts.backends.EmailBackend")
    now = timezone.now().timestamp()
    request.session[STARTED_AT] = now
    request.session[LAST_SEEN] = now
    request.session[OTP_OK] = False
    request.session.save()
    UserSession.objects.create(user=user, session_key=request.session.session_key or "")
    LoginFailure.objects.filter(email=user.email).delete()
    audit.record(
        request=request,
        action=Action.LOGIN,
        user=user,
        object_type="account",
        object_id=str(user.pk),
        detail={"step": "password"},
    )


def needs_second_factor(user: User) -> bool:
    """Staff always; patients once they have enrolled an authenticator."""
    if user.is_staff_member:
        return True
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="KAT Clinic")


def _accept_totp(device: TotpDevice, code: str) -> bool:
    """Accept a code from the current or adjacent 30-second step, each step only once."""
    totp = pyotp.TOTP(device.secret)
    now = timezone.now().timestamp()
    current = int(now // totp.interval)
    for step in (current - 1, current, current + 1):
        if step > device.last_step and secrets.compare_digest(totp.at(step * totp.interval), code):
            updated = TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(
                last_step=step
            )
            return updated == 1
    return False


def verify_second_factor(request: HttpRequest, user: User, code: str) -> bool:
    """Check a TOTP or recovery code; on success mark the session as fully signed in."""
    code = code.strip().replace(" ", "").replace("-", "").lower()
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    # Authenticator codes are 6 digits; recovery codes are 10 hex characters, which can
    # happen to be all digits, so length tells them apart.
    is_totp = len(code) == TOTP_DIGITS and code.isdigit()
    if is_totp:
        ok = device is not None and _accept_totp(device, code)
    else:
        ok = _use_recovery_code(user, code)
    if ok:
        request.session[OTP_OK] = True
        request.session.cycle_key()
        UserSession.objects.update_or_create(
            session_key=request.session.session_key or "", defaults={"user": user}
        )
        audit.record(
            request=request,
            action=Action.LOGIN,
            object_type="account",
            object_id=str(user.pk),
            detail={"step": "second_factor"},
        )
    else:
        record_failure(request, email=user.email, reason="wrong second-factor code")
    return ok


def _use_recovery_code(user: User, code: str) -> bool:
    for row in RecoveryCode.objects.filter(user=user, used_at__isnull=True):
        if check_password(code, row.code_hash):
            return (
                RecoveryCode.objects.filter(pk=row.pk, used_at__isnull=True).update(
                    used_at=timezone.now()
                )
                == 1
            )
    return False


@transaction.atomic
def confirm_totp(request: HttpRequest, user: User, secret: str, code: str) -> list[str] | None:
    """Enrol an authenticator if `code` matches `secret`; return fresh recovery codes."""
    device, _ = TotpDevice.objects.update_or_create(
        user=user, defaults={"secret": secret, "confirmed_at": None, "last_step": 0}
    )
    if not _accept_totp(device, code.strip().replace(" ", "")):
        return None
    device.refresh_from_db()
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=make_password(c)) for c in codes
    )
    request.session[OTP_OK] = True
    audit.record(
        request=request,
        action=Action.SECURITY,
        object_type="account",
        object_id=str(user.pk),
        detail={"change": "authenticator enrolled"},
    )
    return codes


def end_sessions(user: User) -> int:
    """Delete every server-side session of `user`; returns how many there were."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    return len(keys)


@transaction.atomic
def deactivate_user(*, user: User, by: User, request: HttpRequest | None = None) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = end_sessions(user)
    audit.record(
        request=request,
        user=by,
        action=Action.SECURITY,
        object_type="account",
        object_id=str(user.pk),
        detail={"change": "deactivated", "sessions_ended": ended},
    )


def demo_code_for(user: User) -> str | None:
    """The current code of a demo account, only while the server runs as the demo."""
    if not (settings.DEMO_MODE and user.is_demo):
        return None
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    return pyotp.TOTP(device.secret).now() if device else None
