"""No role is shown a link it cannot open, and no page speaks in internal names.

Each staff role starts from its Today page and a patient's chart and follows every link
on every page it reaches (same site, GET only), as far as a page budget allows. A link
that answers 403 is a link the page should not have shown: menus and cards are built from
the same permission table the views enforce.
"""

import re
from collections import deque
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urldefrag, urlsplit

from django.utils import timezone

from katclinic.clinics.registry import REGISTRY
from katclinic.dosing import services as dosing
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase

TAG = re.compile(r"<[^>]+>")
HREF = re.compile(r'href="([^"#][^"]*)"')
# Addresses the crawl does not follow: files, exports and feeds are not pages, and signing
# out would end the crawl.
SKIP = re.compile(r"^/(static/|accounts/logout|favicon)|\.(pdf|csv|ics|zip|ndjson|json)$|/export")
PAGE_BUDGET = 120


class CrawlTest(ClinicTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        lot = f.stock(cls.clinic, cls.nick)
        sess = f.ready_to_dose(cls.pat, cls.paula, cls.nick, checked_ago=timedelta(minutes=10))
        dosing.record_administration(
            session=sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=5),
            by=cls.nick,
        )

    def crawl(self, start: list[str]) -> tuple[dict[str, int], dict[str, str]]:
        seen: dict[str, int] = {}
        found_on: dict[str, str] = {}
        queue = deque(start)
        while queue and len(seen) < PAGE_BUDGET:
            url = queue.popleft()
            if url in seen:
                continue
            response = self.client.get(url)
            seen[url] = response.status_code
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            self.assert_clinical_language(url, response.content.decode())
            for href in HREF.findall(response.content.decode()):
                link = urldefrag(href.replace("&amp;", "&"))[0]
                parts = urlsplit(link)
                if (
                    parts.scheme
                    or parts.netloc
                    or not link.startswith("/")
                    or SKIP.search(parts.path)
                ):
                    continue
                if link not in seen:
                    found_on.setdefault(link, url)
                    queue.append(link)
        return seen, found_on

    def assert_clinical_language(self, url: str, page: str) -> None:
        """What a person reads on a page names no setting key and no development file."""
        text = TAG.sub(" ", page)
        for key in REGISTRY:
            self.assertNotIn(key, text, f"{url} shows the setting key {key}")
        for internal in ("clinical.md", "../shared", "TODO", "Uncertain #"):
            self.assertNotIn(internal, text, f"{url} shows {internal!r}")

    def test_no_role_sees_a_link_that_answers_403(self) -> None:
        for role, user in self.staff_by_role.items():
            with self.subTest(role=role):
                self.login(user)
                seen, found_on = self.crawl(["/today/", f"/patients/{self.pat.pk}/"])
                forbidden = {
                    url: found_on.get(url, "start") for url, status in seen.items() if status == 403
                }
                self.assertEqual(forbidden, {}, f"{role} is shown links it cannot open")
                errors = [url for url, status in seen.items() if status >= 500]
                self.assertEqual(errors, [])
