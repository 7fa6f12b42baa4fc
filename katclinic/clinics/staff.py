"""Staff administration: invitations, roles per clinic and deactivation, each audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts import services as accounts
from katclinic.accounts.models import FAMILY_NAME_LENGTH, FULL_NAME_LENGTH, User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic, Invitation, StaffMembership
from katclinic.clinics.permissions import Role


class StaffChangeRefused(Exception):
    """A staff change that would leave the clinic worse off, such as an admin removing themself."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(*, request: HttpRequest, clinic: Clinic, by: User, email: str, role: Role) -> Invitation:
    """Email a single-use invitation; returns it (the token itself is only in the email)."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            clinic=clinic,
            email=email.lower(),
            role=role,
            token_hash=hash_token(token),
            invited_by=by,
            expires_at=timezone.now() + timedelta(hours=settings.STAFF_INVITATION_HOURS),
        )
        audit.record(
            request=request,
            action=Action.CREATE,
            clinic_id=clinic.pk,
            obj=invitation,
            detail={"invited": invitation.email, "role": role},
        )
    link = request.build_absolute_uri(f"/clinic/invitation/{token}/")
    send_mail(
        f"You are invited to join {clinic.name}",
        f"{by.full_name} invited you to join {clinic.name} as {Role(role).label}.\n\n"
        f"Open this link within {settings.STAFF_INVITATION_HOURS} hours to choose a passphrase "
        f"and set up your authenticator app:\n{link}\n",
        None,
        [invitation.email],
    )
    return invitation


def open_invitation(token: str) -> Invitation | None:
    """The invitation for `token` if it is unused and unexpired."""
    return Invitation.objects.filter(
        token_hash=hash_token(token), accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


# Why the family name is asked for, wherever staff give it.
FAMILY_NAME_HELP = (
    "Used in records sent to other systems, which need the family name on its own. "
    "Optional; it is never guessed from the full name."
)


def check_name(*, full_name: str, family_name: str) -> dict[str, str]:
    """Problems with a staff member's names, by field; empty when they can be kept."""
    errors: dict[str, str] = {}
    if not full_name.strip():
        errors["full_name"] = "Enter the full name."
    elif len(full_name.strip()) > FULL_NAME_LENGTH:
        errors["full_name"] = f"The full name is at most {FULL_NAME_LENGTH} characters."
    if len(family_name.strip()) > FAMILY_NAME_LENGTH:
        errors["family_name"] = f"The family name is at most {FAMILY_NAME_LENGTH} characters."
    return errors


def accept(
    *,
    request: HttpRequest,
    token: str,
    email: str,
    full_name: str,
    password: str,
    family_name: str = "",
) -> User:
    """Create the invited person's account and membership, once; then sign them in.

    Raises ValidationError by field; nothing is stored then.
    """
    with transaction.atomic():
        invitation = open_invitation(token)
        if invitation is None:
            raise ValidationError(
                {NON_FIELD_ERRORS: "This invitation has expired or was already used."}
            )
        if email.lower() != invitation.email:
            raise ValidationError({"email": "Use the email address the invitation was sent to."})
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError({"email": "An account with this email already exists."})
        if errors := check_name(full_name=full_name, family_name=family_name):
            raise ValidationError(errors)
        try:
            validate_password(password, User(email=email, full_name=full_name))
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        updated = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            accepted_at=timezone.now()
        )
        if updated != 1:
            raise ValidationError(
                {NON_FIELD_ERRORS: "This invitation has expired or was already used."}
            )
        user = User.objects.create_user(
            invitation.email,
            password,
            full_name=full_name.strip(),
            family_name=family_name.strip(),
        )
        StaffMembership.objects.create(user=user, clinic=invitation.clinic, role=invitation.role)
        audit.record(
            request=request,
            action=Action.CREATE,
            clinic_id=invitation.clinic_id,
            user=user,
            object_type="account",
            object_id=str(user.pk),
            detail={"accepted_invitation": invitation.pk, "role": invitation.role},
        )
    accounts.sign_in(request, user)
    return user


def set_name(
    *, request: HttpRequest, clinic: Clinic, by: User, user: User, full_name: str, family_name: str
) -> None:
    """Change a staff member's full name and family name, as an administrator of `clinic`.

    Raises ValidationError by field; nothing is stored then.
    """
    if errors := check_name(full_name=full_name, family_name=family_name):
        raise ValidationError(errors)
    detail = {
        "full_name": {"before": user.full_name, "after": full_name.strip()},
        "family_name": {"before": user.family_name, "after": family_name.strip()},
    }
    with transaction.atomic():
        user.full_name, user.family_name = full_name.strip(), family_name.strip()
        user.save(update_fields=["full_name", "family_name"])
        audit.record(
            request=request,
            action=Action.UPDATE,
            clinic_id=clinic.pk,
            object_type="account",
            object_id=str(user.pk),
            detail={"changed_by": by.pk, **detail},
        )


def set_roles(
    *, request: HttpRequest, clinic: Clinic, by: User, user: User, roles: set[Role]
) -> None:
    """Give `user` exactly `roles` at `clinic`, reactivating a deactivated person given any.

    An admin cannot take away their own admin role.
    """
    if user == by and Role.ADMIN not in roles:
        raise StaffChangeRefused("You cannot remove your own administrator role.")
    with transaction.atomic():
        before = set(
            StaffMembership.objects.filter(user=user, clinic=clinic, is_active=True).values_list(
                "role", flat=True
            )
        )
        StaffMembership.objects.filter(user=user, clinic=clinic).exclude(role__in=roles).update(
            is_active=False
        )
        for role in roles:
            StaffMembership.objects.update_or_create(
                user=user, clinic=clinic, role=role, defaults={"is_active": True}
            )
        reactivated = bool(roles) and not user.is_active
        if reactivated:
            user.is_active = True
            user.save(update_fields=["is_active"])
        audit.record(
            request=request,
            action=Action.SECURITY,
            clinic_id=clinic.pk,
            object_type="account",
            object_id=str(user.pk),
            detail={
                "roles_before": sorted(before),
                "roles_after": sorted(roles),
                "reactivated": reactivated,
            },
        )


def deactivate(*, request: HttpRequest, clinic: Clinic, by: User, user: User) -> int:
    """End `user`'s work at `clinic` and every session they have; returns sessions ended.

    A person with no active role left at any clinic is deactivated entirely.
    """
    if user == by:
        raise StaffChangeRefused("You cannot deactivate your own account.")
    with transaction.atomic():
        StaffMembership.objects.filter(user=user, clinic=clinic).update(is_active=False)
        if StaffMembership.objects.filter(user=user, is_active=True).exists():
            ended = accounts.end_sessions(user)
        else:
            user.is_active = False
            user.save(update_fields=["is_active"])
            ended = accounts.end_sessions(user)
        audit.record(
            request=request,
            action=Action.SECURITY,
            clinic_id=clinic.pk,
            object_type="account",
            object_id=str(user.pk),
            detail={"change": "deactivated", "sessions_ended": ended},
        )
    return ended
