"""Parsed instrument definitions are kept per process by row identity: a page reads a
definition document only for a row this process has not parsed, and never per response."""

from django.urls import reverse

from katclinic.lib.links import id_url
from katclinic.measures import catalogue
from katclinic.measures.catalogue import (
    current_definitions,
    definition_by_identity,
    definition_of,
    require_instrument,
)
from katclinic.measures.models import Instrument
from katclinic.measures.scoring import load_definition
from katclinic.testing import ClinicTestCase


class DefinitionCacheTest(ClinicTestCase):
    def identity(self, row: Instrument) -> tuple[int, str, str, int | None]:
        return (row.pk, row.key, row.version, row.clinic_id)

    def test_a_row_known_by_its_identity_is_read_once_then_served_from_the_parse(self) -> None:
        row = Instrument.objects.get(pk=require_instrument("phq9", self.clinic).pk)
        catalogue._PARSED.clear()
        with self.assertNumQueries(1):
            first = definition_by_identity(*self.identity(row))
        with self.assertNumQueries(0):
            again = definition_by_identity(*self.identity(row))
        self.assertIs(first, again)
        self.assertEqual(first, load_definition(row.definition, origin=str(row)))

    def test_current_definitions_read_the_documents_they_lack_in_one_query(self) -> None:
        current_definitions(self.clinic)  # the shipped rows are synced
        catalogue._PARSED.clear()
        with self.assertNumQueries(2):  # the rows without documents, then the documents
            cold = current_definitions(self.clinic)
        with self.assertNumQueries(1):
            warm = current_definitions(self.clinic)
        self.assertEqual(cold.keys(), warm.keys())
        for key, (row, definition) in warm.items():
            stored = Instrument.objects.get(pk=row.pk)
            self.assertEqual(definition, definition_of(stored))
            self.assertEqual(definition.key, key)

    def test_another_row_behind_a_reused_id_is_parsed_afresh(self) -> None:
        row = Instrument.objects.get(pk=require_instrument("phq9", self.clinic).pk)
        definition_of(row)
        other = (row.pk, row.key, "another version", row.clinic_id)
        self.assertNotIn(other, catalogue._PARSED)
        with self.assertNumQueries(1):
            definition_by_identity(*other)


class IdUrlTest(ClinicTestCase):
    def test_a_link_made_from_the_stand_in_is_the_reversed_link(self) -> None:
        for name in ("measures:correct", "measures:alert_detail", "patients:chart"):
            for pk in (1, 7, 987654321, 10**12):
                self.assertEqual(id_url(name, pk), reverse(name, args=[pk]))
