"""Signing in, second factors, throttling and ending sessions."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.models import Session
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import (
    FailureStep,
    LoginFailure,
    Passkey,
    RecoveryCode,
    TotpDevice,
    User,
    UserSession,
)
from katclinic.audit import services as audit
from katclinic.audit.models import Action, Outcome
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role

OTP_OK = "otp_ok"
STARTED_AT = "started_at"
LAST_SEEN = "last_seen"
RECOVERY_CODE_COUNT = 10
TOTP_DIGITS = 6


def _limits(step: FailureStep) -> tuple[int, int]:
    """(failures per account, failures per address) that lock this step."""
    if step == FailureStep.SECOND_FACTOR:
        return settings.SECOND_FACTOR_FAILURE_LIMIT, settings.SECOND_FACTOR_FAILURE_IP_LIMIT
    return settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_FAILURE_IP_LIMIT


def _step_lockout(*, email: str, ip: str | None, step: FailureStep) -> timedelta | None:
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    since = timezone.now() - window
    recent = LoginFailure.objects.filter(step=step, at__gte=since).order_by("-at")
    by_email = recent.filter(email=email.lower())
    by_ip = recent.filter(ip=ip) if ip else LoginFailure.objects.none()
    email_limit, ip_limit = _limits(step)
    for failures, limit in ((by_email, email_limit), (by_ip, ip_limit)):
        times = list(failures.values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            return times[-1] + window - timezone.now()
    return None


def lockout_remaining(*, email: str, ip: str | None) -> timedelta | None:
    """How long sign-in stays refused for this account or address, if it is locked.

    Either step locks the whole sign-in: too many wrong passwords, or too many wrong
    second-factor codes (which a correct password does not clear).
    """
    waits = [
        wait
        for step in (FailureStep.PASSWORD, FailureStep.SECOND_FACTOR)
        if (wait := _step_lockout(email=email, ip=ip, step=step)) is not None
    ]
    return max(waits) if waits else None


def record_failure(
    request: HttpRequest, *, email: str, reason: str, step: FailureStep = FailureStep.PASSWORD
) -> None:
    ip = audit.client_ip(request)
    LoginFailure.objects.create(email=email.lower()[:254], ip=ip, step=step)
    audit.record(
        request=request,
        action=Action.LOGIN_FAILED,
        object_type="account",
        object_id=email.lower()[:64],
        outcome=Outcome.FAILURE,
        detail={"reason": reason, "step": step.value},
    )


def _alert_admins_of_lockout(request: HttpRequest, user: User) -> None:
    """Tell the administrators of the user's clinics that second-factor guessing locked
    the account, once per lockout (when the count first reaches the limit)."""
    window = timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    count = LoginFailure.objects.filter(
        email=user.email.lower(), step=FailureStep.SECOND_FACTOR, at__gte=window
    ).count()
    if count != settings.SECOND_FACTOR_FAILURE_LIMIT:
        return
    clinic_ids = StaffMembership.objects.active().filter(user=user).values_list("clinic_id")
    admins = (
        StaffMembership.objects.active()
        .filter(clinic_id__in=clinic_ids, role=Role.ADMIN)
        .exclude(user=user)
        .values_list("user__email", flat=True)
        .distinct()
    )
    to = sorted(set(admins))
    if to:
        send_mail(
            "KAT Clinic: an account was locked after wrong second-factor codes",
            f"{count} wrong authenticator or recovery codes or refused passkeys for {user.email} "
            f"came within {settings.LOGIN_LOCKOUT_MINUTES} minutes, after a correct password. "
            "The account is locked for that time. If this was not the staff member, "
            "their password is known to someone else: reset it and review the audit trail.",
            None,
            to,
        )
    for clinic_id in sorted(set(clinic_ids.values_list("clinic_id", flat=True))):
        audit.record(
            request=request,
            action=Action.LOGIN_FAILED,
            clinic_id=clinic_id,
            object_type="account",
            object_id=str(user.pk),
            outcome=Outcome.FAILURE,
            detail={"reason": "second factor locked", "admins_told": len(to)},
        )


def sign_in(request: HttpRequest, user: User) -> None:
    """Start a session after the password step; the second factor comes next."""
    login(request, user, backend="katclinic.accounts.backends.EmailBackend")
    now = timezone.now().timestamp()
    request.session[STARTED_AT] = now
    request.session[LAST_SEEN] = now
    request.session[OTP_OK] = False
    request.session.save()
    # Signing in again from a half-signed-in session keeps its key: one row per session.
    UserSession.objects.update_or_create(
        session_key=request.session.session_key or "", defaults={"user": user}
    )
    LoginFailure.objects.filter(email=user.email.lower(), step=FailureStep.PASSWORD).delete()
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
    if lockout_remaining(email=user.email, ip=audit.client_ip(request)) is not None:
        # Locked: not even the right code is accepted until the lockout ends.
        record_failure(
            request, email=user.email, reason="locked out", step=FailureStep.SECOND_FACTOR
        )
        return False
    code = code.strip().replace(" ", "").replace("-", "").lower()
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    # Authenticator codes are 6 digits; recovery codes are 10 hex characters, which can
    # happen to be all digits, so length tells them apart.
    is_totp = len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()
    if is_totp:
        ok = device is not None and _accept_totp(device, code)
    else:
        ok = _use_recovery_code(user, code)
    if ok:
        second_factor_passed(request, user, method="code")
    else:
        count_second_factor_failure(request, user, reason="wrong second-factor code")
    return ok


def second_factor_passed(
    request: HttpRequest, user: User, *, method: str, passkey: int | None = None
) -> None:
    """Mark the session as fully signed in, under a new key, and record it."""
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
        detail={"step": "second_factor", "method": method}
        | ({"passkey": passkey} if passkey else {}),
    )


def count_second_factor_failure(request: HttpRequest, user: User, *, reason: str) -> None:
    """A wrong code or refused passkey: counted toward the account's and address's lockout."""
    record_failure(request, email=user.email, reason=reason, step=FailureStep.SECOND_FACTOR)
    _alert_admins_of_lockout(request, user)


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


@transaction.atomic
def remove_second_factor(
    *,
    user: User,
    by: User | None,
    reason: str,
    clinic_id: int | None = None,
    detail: dict[str, object] | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Remove `user`'s authenticator, recovery codes and passkeys, end every session they
    have and tell them by email.

    Their next sign-in asks them to enrol an authenticator again. Returns sessions ended.
    """
    devices = TotpDevice.objects.filter(user=user).delete()[0]
    codes = RecoveryCode.objects.filter(user=user).delete()[0]
    passkeys = Passkey.objects.filter(user=user).delete()[0]
    ended = end_sessions(user)
    transaction.on_commit(lambda: _tell_of_second_factor_reset(user))
    audit.record(
        request=request,
        user=by,
        action=Action.SECURITY,
        clinic_id=clinic_id,
        object_type="account",
        object_id=str(user.pk),
        detail={
            "change": "second factor removed",
            "reason": reason,
            "authenticators_removed": devices,
            "recovery_codes_removed": codes,
            "passkeys_removed": passkeys,
            "sessions_ended": ended,
            **(detail or {}),
        },
    )
    return ended


def _tell_of_second_factor_reset(user: User) -> None:
    send_mail(
        "KAT Clinic: your sign-in second step was reset",
        f"Your authenticator app, recovery codes and passkeys for {user.email} were removed "
        "by your clinic's administrators, and you were signed out everywhere. The next time "
        "you sign in you will be asked to set up an authenticator app again.\n\n"
        "If you did not ask for this, tell your clinic's administrator at once.",
        None,
        [user.email],
    )
