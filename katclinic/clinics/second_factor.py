"""Resetting a staff member's second factor: one administrator asks, a different one confirms.

A request names the person and the reason and lapses after the clinic's confirmation window.
No administrator can ask for or confirm a reset of their own account. On confirmation the
person's authenticator, recovery codes and passkeys are removed, all their sessions end and
they are told by email; they enrol a new authenticator at their next sign-in. Each step is
audited.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts import services as accounts
from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action, Outcome
from katclinic.clinics.clinic_settings import SECOND_FACTOR_RESET_HOURS
from katclinic.clinics.models import Clinic, OrganizationAdmin, SecondFactorReset, StaffMembership
from katclinic.clinics.permissions import Role

REASON_MAX = 1000


class ResetRefused(Exception):
    """A reset step that is not allowed; the message says why, in words for the admin."""


def admins_of(clinic: Clinic) -> list[User]:
    ids = (
        StaffMembership.objects.active()
        .filter(clinic=clinic, role=Role.ADMIN)
        .values_list("user_id", flat=True)
    )
    return list(User.objects.filter(pk__in=ids).order_by("full_name"))


def may_confirm(*, clinic: Clinic, user: User) -> bool:
    """An active admin of the clinic, or an administrator of its organization."""
    return (
        StaffMembership.objects.active().filter(clinic=clinic, role=Role.ADMIN, user=user).exists()
        or OrganizationAdmin.objects.filter(
            organization_id=clinic.organization_id, user=user, user__is_active=True
        ).exists()
    )


def open_requests(clinic: Clinic) -> list[SecondFactorReset]:
    return list(
        SecondFactorReset.objects.filter(
            clinic=clinic,
            confirmed_at__isnull=True,
            cancelled_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("user", "requested_by")
        .order_by("requested_at")
    )


def _checked_reason(reason: str, *, missing: str) -> str:
    """The reason without surrounding space, refused when empty, too long or unstorable."""
    reason = reason.strip()
    if not reason:
        raise ResetRefused(missing)
    if len(reason) > REASON_MAX:
        raise ResetRefused(f"Keep the reason under {REASON_MAX} characters.")
    if "\x00" in reason:
        raise ResetRefused("The reason contains a character that cannot be stored.")
    return reason


def request_reset(
    *, request: HttpRequest | None, clinic: Clinic, by: User, user: User, reason: str
) -> SecondFactorReset:
    reason = _checked_reason(reason, missing="Give a reason for the reset.")
    if user.pk == by.pk:
        raise ResetRefused("Another administrator must ask for a reset of your own account.")
    if not StaffMembership.objects.filter(clinic=clinic, user=user, is_active=True).exists():
        raise ResetRefused("This person does not work at this clinic.")
    hours = SECOND_FACTOR_RESET_HOURS.value(clinic)
    with transaction.atomic():
        if SecondFactorReset.objects.filter(
            clinic=clinic,
            user=user,
            confirmed_at__isnull=True,
            cancelled_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).exists():
            raise ResetRefused(f"A reset for {user} is already waiting for confirmation.")
        reset = SecondFactorReset.objects.create(
            clinic=clinic,
            user=user,
            reason=reason,
            requested_by=by,
            expires_at=timezone.now() + timedelta(hours=hours),
        )
        audit.record(
            request=request,
            user=by,
            action=Action.SECURITY,
            clinic_id=clinic.pk,
            object_type="account",
            object_id=str(user.pk),
            detail={"change": "second factor reset requested", "reason": reason, "reset": reset.pk},
        )
    return reset


def confirm_reset(*, request: HttpRequest | None, reset_id: int, clinic: Clinic, by: User) -> int:
    """Confirm an open request as a different administrator; returns the sessions ended."""
    with transaction.atomic():
        reset = (
            SecondFactorReset.objects.select_for_update()
            .select_related("user")
            .filter(pk=reset_id, clinic=clinic)
            .first()
        )
        if reset is None:
            raise ResetRefused("There is no such reset request.")
        problem = _confirm_problem(reset, clinic=clinic, by=by)
        if problem:
            audit.record(
                request=request,
                user=by,
                action=Action.SECURITY,
                clinic_id=clinic.pk,
                object_type="account",
                object_id=str(reset.user_id),
                outcome=Outcome.DENIED,
                detail={"change": "second factor reset refused", "why": problem, "reset": reset.pk},
            )
    if problem:
        raise ResetRefused(problem)
    with transaction.atomic():
        updated = SecondFactorReset.objects.filter(
            pk=reset.pk, confirmed_at__isnull=True, cancelled_at__isnull=True
        ).update(confirmed_at=timezone.now(), confirmed_by=by)
        if updated != 1:
            raise ResetRefused("This request was already handled.")
        return accounts.remove_second_factor(
            user=reset.user,
            by=by,
            reason=reset.reason,
            clinic_id=clinic.pk,
            detail={"requested_by": reset.requested_by_id, "reset": reset.pk},
            request=request,
        )


def _confirm_problem(reset: SecondFactorReset, *, clinic: Clinic, by: User) -> str:
    if reset.confirmed_at is not None or reset.cancelled_at is not None:
        return "This request was already handled."
    if reset.expires_at <= timezone.now():
        return "This request has expired; ask for a new one."
    if reset.requested_by_id == by.pk:
        return "A different administrator must confirm a reset you asked for."
    if reset.user_id == by.pk:
        return "You cannot confirm a reset of your own authenticator."
    if not may_confirm(clinic=clinic, user=by):
        return "Only an administrator can confirm a reset."
    return ""


def cancel_reset(*, request: HttpRequest | None, reset_id: int, clinic: Clinic, by: User) -> None:
    with transaction.atomic():
        updated = SecondFactorReset.objects.filter(
            pk=reset_id,
            clinic=clinic,
            confirmed_at__isnull=True,
            cancelled_at__isnull=True,
        ).update(cancelled_at=timezone.now())
        if updated != 1:
            raise ResetRefused("There is no open reset request to cancel.")
        reset = SecondFactorReset.objects.get(pk=reset_id)
        audit.record(
            request=request,
            user=by,
            action=Action.SECURITY,
            clinic_id=clinic.pk,
            object_type="account",
            object_id=str(reset.user_id),
            detail={"change": "second factor reset cancelled", "reset": reset.pk},
        )


def reset_from_command(*, email: str, reason: str) -> tuple[User, int]:
    """The organization-level path, for a server operator: reset at once, audited."""
    reason = _checked_reason(reason, missing="Give a reason with --reason.")
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise ResetRefused(f"No account has the email {email}.")
    clinic_ids = sorted(
        set(StaffMembership.objects.filter(user=user).values_list("clinic_id", flat=True))
    )
    with transaction.atomic():
        ended = accounts.remove_second_factor(
            user=user,
            by=None,
            reason=reason,
            clinic_id=clinic_ids[0] if clinic_ids else None,
            detail={"by": "server command", "clinics": clinic_ids},
        )
        for clinic_id in clinic_ids[1:]:
            audit.record(
                request=None,
                action=Action.SECURITY,
                clinic_id=clinic_id,
                object_type="account",
                object_id=str(user.pk),
                detail={
                    "change": "second factor removed",
                    "reason": reason,
                    "by": "server command",
                },
            )
    return user, ended
