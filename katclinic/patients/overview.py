"""The lists the chart's Overview tab shows, read in one plain statement.

Every chart opens on the Overview, so its four lists (the latest weights, the active
allergies and medications, the diagnoses) are one ``UNION ALL`` through katclinic.lib.rows
instead of four ORM queries built and compiled on every view. Each list is the queryset named
in ``OverviewLists``; ``patients/tests/test_overview.py`` checks that both give the same rows
in the same order on every backend. Lists without an order of their own are given in the
order rows were added (by id), which is the order the ORM's unordered query returned them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from katclinic.lib import rows
from katclinic.patients.models import Allergy, Diagnosis, Medication, Patient, WeightReading

WEIGHTS_SHOWN = 10


@dataclass(frozen=True)
class OverviewLists:
    # patient.weights.all()[:WEIGHTS_SHOWN] (newest measured first, then newest recorded)
    weights: list[WeightReading]
    # patient.allergies.filter(is_active=True).order_by("pk")
    allergies: list[Allergy]
    # patient.medications.filter(is_active=True).order_by("pk")
    medications: list[Medication]
    # patient.diagnoses.order_by("pk")
    diagnoses: list[Diagnosis]


# Per list, in OverviewLists' order: the model, the rows shown (over alias "x", besides the
# patient) and their order; only the weights are cut, at WEIGHTS_SHOWN.
_LISTS: tuple[tuple[type[models.Model], str, str], ...] = (
    (WeightReading, "", "x.measured_on DESC, x.recorded_at DESC, x.id DESC"),
    (Allergy, " AND x.is_active", "x.id"),
    (Medication, " AND x.is_active", "x.id"),
    (Diagnosis, "", "x.id"),
)


def _sql() -> tuple[str, tuple[int, ...]]:
    """The statement, and where each list's columns start in its rows.

    Each list has a range of columns of its own, NULL in the other lists' rows. The first
    branch names the columns and gives each NULL its column's type, so that every column
    has one type on every backend (PostgreSQL types an untyped NULL as text)."""
    connection = rows.connection_for(Patient)
    widths = [rows.width(model) for model, _, _ in _LISTS]
    starts = tuple(2 + sum(widths[:n]) for n in range(len(_LISTS)))
    typed = [
        f"CAST(NULL AS {field.cast_db_type(connection)}) AS n{i}"
        for i, field in enumerate(f for model, _, _ in _LISTS for f in model._meta.concrete_fields)
    ]
    branches = []
    for n, (model, where, order) in enumerate(_LISTS):
        first, last = starts[n] - 2, starts[n] - 2 + widths[n]
        nulls = typed if n == 0 else ["NULL"] * len(typed)
        selected = ", ".join([*nulls[:first], rows.columns(model, "x"), *nulls[last:]])
        branches.append(
            f"SELECT {n} AS kind, ROW_NUMBER() OVER (ORDER BY {order}) AS rn, {selected} "  # noqa: S608
            f"FROM {rows.table(model)} x WHERE x.patient_id = %s{where}"
        )
    sql = (
        f"SELECT * FROM ({' UNION ALL '.join(branches)}) u "  # noqa: S608
        f"WHERE u.kind <> 0 OR u.rn <= {WEIGHTS_SHOWN} ORDER BY u.kind, u.rn"
    )
    return sql, starts


def overview_lists(patient: Patient) -> OverviewLists:
    sql, starts = _sql()
    lists = OverviewLists(weights=[], allergies=[], medications=[], diagnoses=[])
    for row in rows.fetch_all(Patient, sql, [patient.pk] * len(_LISTS)):
        kind = int(row[0])
        if kind == 0:
            lists.weights.append(rows.hydrate(WeightReading, row, starts[0]))
        elif kind == 1:
            lists.allergies.append(rows.hydrate(Allergy, row, starts[1]))
        elif kind == 2:
            lists.medications.append(rows.hydrate(Medication, row, starts[2]))
        else:
            lists.diagnoses.append(rows.hydrate(Diagnosis, row, starts[3]))
    return lists
