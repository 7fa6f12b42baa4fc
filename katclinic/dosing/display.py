"""Display links: a wall screen shows the floor board of one clinic, initials only, without
anyone's sign-in. Only a hash of the link's token is kept; revoking it stops the screen."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.api.models import hash_token
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.dosing.models import BoardDisplay


class DisplayError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@transaction.atomic
def issue(
    *, clinic: Clinic, label: str, by: User, request: HttpRequest | None = None
) -> tuple[BoardDisplay, str]:
    """A new display link; the raw token is returned once and never stored."""
    label = label.strip()
    if not label:
        raise DisplayError("label", "Name the screen, for example 'Treatment room wall'.")
    raw = secrets.token_urlsafe(32)
    display = BoardDisplay.objects.create(
        clinic=clinic, label=label[:80], token_hash=hash_token(raw), created_by=by
    )
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        obj=display,
        detail={"label": display.label},
    )
    return display, raw


@transaction.atomic
def revoke(*, display: BoardDisplay, by: User, request: HttpRequest | None = None) -> BoardDisplay:
    display = BoardDisplay.objects.select_for_update().get(pk=display.pk)
    if display.revoked_at is not None:
        raise DisplayError("display", "This display link was already revoked.")
    display.revoked_at, display.revoked_by = timezone.now(), by
    display.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=display.clinic_id,
        obj=display,
        detail={"step": "revoked"},
    )
    return display


def active_display(raw: str) -> BoardDisplay | None:
    """The unrevoked display the token opens, or None."""
    return (
        BoardDisplay.objects.active()
        .select_related("clinic")
        .filter(token_hash=hash_token(raw))
        .first()
    )
