"""Holding outgoing messages (reminders and emails) until an operator releases them."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.core.models import OutgoingHold


def is_held() -> bool:
    """Whether outgoing messages are held: the worker then sends none."""
    return OutgoingHold.objects.filter(released_at__isnull=True).exists()


def hold(*, reason: str) -> OutgoingHold:
    """Hold every queued and future reminder and email until `release` is called."""
    with transaction.atomic():
        row = OutgoingHold.objects.create(reason=reason[:200])
        audit.record(
            request=None,
            action=Action.UPDATE,
            object_type="core.outgoing_hold",
            object_id=str(row.pk),
            detail={"held": True, "reason": row.reason},
        )
    return row


def release(*, by: str) -> int:
    """Release every open hold; the worker sends what is due from its next run. Returns
    how many holds were open."""
    with transaction.atomic():
        open_holds = list(OutgoingHold.objects.select_for_update().filter(released_at__isnull=True))
        now = timezone.now()
        for row in open_holds:
            row.released_at, row.released_by = now, by[:150]
            row.save(update_fields=["released_at", "released_by"])
            audit.record(
                request=None,
                action=Action.UPDATE,
                object_type="core.outgoing_hold",
                object_id=str(row.pk),
                detail={"held": False, "released_by": row.released_by},
            )
    return len(open_holds)
