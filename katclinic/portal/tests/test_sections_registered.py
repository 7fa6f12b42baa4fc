"""Every worklist section the portal declares is on the Today page: all apps are always
installed, so no section waits for another app's models."""

from __future__ import annotations

from django.test import SimpleTestCase

from katclinic.core.worklists import SECTIONS
from katclinic.portal.worklist_sections import RULES


class SectionsRegisteredTest(SimpleTestCase):
    def test_each_rule_is_registered_with_its_title_roles_and_order(self) -> None:
        self.assertEqual(len(RULES), 20)
        for key, title, roles, items, _link, order in RULES:
            with self.subTest(key=key):
                section = SECTIONS[key]
                self.assertEqual((section.title, section.roles), (title, roles))
                self.assertEqual((section.items, section.order), (items, order))
