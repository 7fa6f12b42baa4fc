"""Property: whatever values the columns can hold, a row written with ``rows.insert`` is
the row ``save()`` writes, and ``rows.hydrate`` reads back the instance the ORM returns."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import django as hypothesis_django

from katclinic.lib import rows
from katclinic.measures.catalogue import current_instrument
from katclinic.measures.models import Response, Source
from katclinic.patients.models import WeightReading
from katclinic.testing import ClinicTestCase

# Text a clinic might type, without NUL (no text column on PostgreSQL holds it).
text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
short_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**31), max_value=2**31) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(short_text, inner, max_size=3),
    max_leaves=8,
)
# Aware UTC moments to the microsecond (hypothesis takes naive bounds, then adds the zone).
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def values(instance: models.Model) -> dict[str, Any]:
    return {
        f.attname: getattr(instance, f.attname)
        for f in type(instance)._meta.concrete_fields
        if not f.primary_key
    }


def read_back[M: models.Model](model: type[M], pk: int) -> M:
    """The row as the plain-SQL path reads it: selected by its columns, then hydrated."""
    sql = f"SELECT {rows.columns(model, 't')} FROM {rows.table(model)} t WHERE t.id = %s"  # noqa: S608
    row = rows.fetch_one(model, sql, [pk])
    assert row is not None
    return rows.hydrate(model, row)


class RowsRoundTripPropertyTest(ClinicTestCase, hypothesis_django.TestCase):
    """Each example runs in its own transaction."""

    def assert_round_trip(self, model: type[models.Model], fields: dict[str, Any]) -> None:
        inserted = rows.insert(model(**fields))
        saved = model._default_manager.create(**fields)
        from_orm = model._default_manager.get(pk=inserted.pk)
        self.assertEqual(values(from_orm), values(model._default_manager.get(pk=saved.pk)))
        self.assertEqual(values(read_back(model, inserted.pk)), values(from_orm))
        self.assertEqual(values(inserted), values(from_orm))
        self.assertFalse(read_back(model, inserted.pk)._state.adding)

    @settings(max_examples=40, deadline=None)
    @given(
        answers=st.dictionaries(short_text, json_values, max_size=4),
        comment=text,
        total=st.none() | st.integers(min_value=0, max_value=32767),
        complete=st.booleans(),
        flags=st.lists(short_text, max_size=3),
        subscales=st.dictionaries(short_text, st.none() | st.integers(0, 99), max_size=3),
        flagged=st.booleans(),
        submitted_at=moments,
        source=st.sampled_from(Source.values),
    )
    def test_a_response_reads_back_as_the_orm_stores_it(self, **chosen: Any) -> None:
        instrument = current_instrument("phq9", self.clinic)
        assert instrument is not None
        fields = {
            "clinic_id": self.clinic.pk,
            "patient": self.pat,
            "instrument": instrument,
            "instrument_key": "phq9",
            "instrument_version": instrument.version,
            "submitted_by": self.nick,
            **chosen,
        }
        self.assert_round_trip(Response, fields)

    @settings(max_examples=40, deadline=None)
    @given(
        weight_kg=st.decimals(min_value=Decimal("20"), max_value=Decimal("400"), places=1),
        entered_value=st.decimals(
            min_value=Decimal("-99999.9"), max_value=Decimal("99999.9"), places=1
        ),
        entered_unit=st.sampled_from(["kg", "lb"]),
        measured_on=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
        recorded_at=moments,
    )
    def test_a_weight_reads_back_as_the_orm_stores_it(self, **chosen: Any) -> None:
        fields = {
            "clinic_id": self.clinic.pk,
            "patient": self.pat,
            "recorded_by": self.nick,
            **chosen,
        }
        self.assert_round_trip(WeightReading, fields)
