"""Parsed protocols are kept per process, and a changed draft is parsed again."""

import json

from katclinic.protocols import services
from katclinic.protocols.models import ProtocolVersion
from katclinic.protocols.tests import fixtures
from katclinic.testing import ClinicTestCase


class ParsedProtocolTest(ClinicTestCase):
    def test_a_version_fetched_again_reuses_its_parsed_protocol(self) -> None:
        row = fixtures.protocol(self)
        first = ProtocolVersion.objects.get(pk=row.pk).protocol
        again = ProtocolVersion.objects.get(pk=row.pk).protocol
        self.assertIs(first, again)
        self.assertEqual(again.key, row.data["key"])

    def test_an_edited_draft_shows_its_new_data(self) -> None:
        row = fixtures.protocol(self)
        draft = ProtocolVersion.objects.create(
            clinic=self.clinic,
            key=row.key,
            version=2,
            title=row.title,
            route=row.route,
            data=dict(row.data, version=2),
        )
        self.assertEqual(ProtocolVersion.objects.get(pk=draft.pk).protocol.title, row.title)
        text = json.dumps(dict(row.data, version=2, title="IV ketamine, edited draft"))
        services.edit_protocol_draft(version=draft, text=text, by=self.adam)
        fetched = ProtocolVersion.objects.get(pk=draft.pk)
        self.assertEqual(fetched.protocol.title, "IV ketamine, edited draft")
        self.assertEqual(fetched.title, "IV ketamine, edited draft")

    def test_data_changed_behind_the_cache_is_parsed_again(self) -> None:
        row = fixtures.protocol(self)
        ProtocolVersion.objects.get(pk=row.pk).protocol  # noqa: B018 (fills the cache)
        changed = ProtocolVersion.objects.get(pk=row.pk)
        changed.data = dict(changed.data, title="Changed in memory")
        self.assertEqual(changed.protocol.title, "Changed in memory")
