"""The rate-limit tables are pruned hourly of rows too old to count, and only of those."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from katclinic.accounts import prune as account_prune
from katclinic.accounts.models import LoginFailure
from katclinic.accounts.services import lockout_remaining
from katclinic.core import periodic
from katclinic.portal import prune as portal_prune
from katclinic.portal.models import LinkRequest
from katclinic.portal.services import rate_limited
from katclinic.testing import ClinicTestCase


class PruneTest(ClinicTestCase):
    def test_both_prunes_run_hourly_as_periodic_jobs(self) -> None:
        accounts, portal = periodic.JOBS["accounts.prune"], periodic.JOBS["portal.prune"]
        self.assertIs(accounts.task, account_prune.prune_login_failures_task)
        self.assertIs(portal.task, portal_prune.prune_link_requests_task)
        self.assertEqual((accounts.every, portal.every), (timedelta(hours=1), timedelta(hours=1)))

    def test_old_login_failures_go_and_recent_ones_still_lock(self) -> None:
        now = timezone.now()
        old = [LoginFailure(email="x@example.org", at=now - timedelta(days=2)) for _ in range(3)]
        LoginFailure.objects.bulk_create(old)
        LoginFailure.objects.bulk_create(
            [LoginFailure(email="pat@example.org", at=now) for _ in range(5)]
        )
        self.assertEqual(account_prune.prune_login_failures(), 3)
        self.assertEqual(
            set(LoginFailure.objects.values_list("email", flat=True)), {"pat@example.org"}
        )
        self.assertIsNotNone(lockout_remaining(email="pat@example.org", ip=None))
        self.assertEqual(account_prune.prune_login_failures(), 0)

    def test_old_link_requests_go_and_recent_ones_still_count(self) -> None:
        now = timezone.now()
        LinkRequest.objects.create(email="old@example.org", at=now - timedelta(days=2))
        LinkRequest.objects.bulk_create(
            [LinkRequest(email="pat@example.org", at=now) for _ in range(5)]
        )
        self.assertEqual(portal_prune.prune_link_requests(), 1)
        self.assertFalse(LinkRequest.objects.filter(email="old@example.org").exists())
        self.assertTrue(rate_limited(email="pat@example.org", ip=None))
