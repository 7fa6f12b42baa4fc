"""Failed sign-ins are kept only while they can still count towards a lockout."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from katclinic.accounts.models import LoginFailure

# Comfortably longer than the lockout window (LOGIN_LOCKOUT_MINUTES), the longest span over
# which failures are counted; the audit trail keeps every failed sign-in for good.
KEEP = timedelta(days=1)


def prune_login_failures() -> int:
    """Delete failures too old to count; return how many went."""
    keep = max(KEEP, timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES))
    deleted, _ = LoginFailure.objects.filter(at__lt=timezone.now() - keep).delete()
    return deleted


@task()
def prune_login_failures_task() -> int:
    return prune_login_failures()
