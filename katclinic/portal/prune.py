"""Requests for emailed links are kept only while they can still count towards the limit."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from katclinic.portal.models import LinkRequest
from katclinic.portal.services import RATE_WINDOW

# Comfortably longer than the hour over which requests are counted.
KEEP = timedelta(days=1)


def prune_link_requests() -> int:
    """Delete requests too old to count; return how many went."""
    keep = max(KEEP, RATE_WINDOW)
    deleted, _ = LinkRequest.objects.filter(at__lt=timezone.now() - keep).delete()
    return deleted


@task()
def prune_link_requests_task() -> int:
    return prune_link_requests()
