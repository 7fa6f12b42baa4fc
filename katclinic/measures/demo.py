"""Demo and benchmark data: PHQ-9 and GAD-7 histories over treatment courses.

Deterministic: every choice comes from the world's seeded ``rng``; times are
counted back from the build moment.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import connection, models, transaction
from django.utils import timezone

from katclinic.demo.generator import DemoWorld
from katclinic.measures import services
from katclinic.measures.catalogue import definition_of, require_instrument
from katclinic.measures.models import Course, Instrument, Response, Rule, Source
from katclinic.measures.scoring import InstrumentDefinition, score
from katclinic.patients.models import Patient

TREATED = ("induction", "maintenance", "completed")
# About one in four does not respond, in line with the 50-60% response rates published
# for ketamine (see katclinic.lib.benchmarks).
NON_RESPONDER_SHARE = 0.25
SOURCES = (Source.PORTAL.value, Source.LINK.value)


def answers_for(
    definition: InstrumentDefinition, total: int, rng: random.Random, *, item9: int = 0
) -> dict[str, int]:
    """Choice answers summing to ``total`` (PHQ-9 item 9 fixed at ``item9``)."""
    scored = [i.link_id for i in definition.items if i.scored and i.link_id != "q9"]
    answers = dict.fromkeys(scored, 0)
    if definition.key == "phq9":
        answers["q9"] = item9
        total -= item9
    remaining = max(0, min(total, 3 * len(scored)))
    while remaining:
        link = rng.choice(scored)
        if answers[link] < 3:
            answers[link] += 1
            remaining -= 1
    for item in definition.items:
        if not item.scored and item.type == "choice":
            answers[item.link_id] = rng.choice(item.values)
    return answers


def trajectory(rng: random.Random, count: int, maximum: int, responder: bool) -> list[int]:
    """Totals from a moderate-to-severe baseline, falling for responders and flat otherwise."""
    baseline = rng.randint(int(maximum * 0.55), int(maximum * 0.8))
    floor = (
        rng.randint(1, int(maximum * 0.25)) if responder else int(baseline * rng.uniform(0.75, 1.0))
    )
    totals = []
    for step in range(count):
        fraction = step / max(count - 1, 1)
        level = baseline + (floor - baseline) * fraction**0.7 + rng.randint(-2, 2)
        totals.append(max(0, min(maximum, round(level))))
    totals[0] = baseline
    return totals


def _rows(
    patient: Patient,
    instrument: Instrument,
    definition: InstrumentDefinition,
    totals: Sequence[int],
    start: datetime,
    every: timedelta,
    rng: random.Random,
) -> list[Response]:
    rows = []
    for step, total in enumerate(totals):
        answers = answers_for(definition, total, rng)
        result = score(definition, answers)
        rows.append(
            Response(
                clinic_id=patient.clinic_id,
                patient_id=patient.pk,
                instrument=instrument,
                instrument_key=definition.key,
                instrument_version=definition.version,
                answers=answers,
                source=rng.choice([Source.PORTAL, Source.LINK]),
                submitted_at=start + every * step,
                complete=result.complete,
                total=result.total,
                band=result.band or "",
                flags=list(result.flags),
                risk=result.risk or "",
                subscales=result.subscales,
                flagged=False,
            )
        )
    return rows


def build(world: DemoWorld) -> None:
    rng = world.rng
    now = timezone.now()
    by = world.staff["prescriber"]
    for patient in [p for p in world.patients if p.stage in TREATED]:
        weeks = rng.randint(6, 14)
        start = now - timedelta(weeks=weeks, hours=rng.randint(0, 48))
        responder = rng.random() >= NON_RESPONDER_SHARE
        baselines = {}
        for key in ("phq9", "gad7"):
            instrument = require_instrument(key, patient.clinic_id)
            definition = definition_of(instrument)
            maximum = definition.total_range[1] if definition.total_range else 0
            totals = trajectory(rng, weeks + 1, maximum, responder)
            rows = Response.objects.bulk_create(
                _rows(patient, instrument, definition, totals, start, timedelta(weeks=1), rng)
            )
            baselines[key] = rows[0]
        ended = (now - timedelta(days=3)).date() if patient.stage == "completed" else None
        Course.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            started_on=start.date(),
            ended_on=ended,
            baseline=baselines["phq9"],
            created_by=by,
        )
    _demo_alert(world)
    _spanish_questionnaire(world)


def _spanish_questionnaire(world: DemoWorld) -> None:
    """A PHQ-9 waiting in the Spanish-speaking demo patient's portal, in its Spanish text."""
    patient = Patient.objects.get(user=world.staff["paciente"])
    services.invite(
        patient=patient,
        instrument_key="phq9",
        by=world.staff["prescriber"],
        request=None,
        channel="portal",
    )


def _demo_alert(world: DemoWorld) -> None:
    """One open PHQ-9 item-9 alert on the demo portal patient's record, with schedules."""
    patient = Patient.objects.select_related("clinic").get(user=world.staff["patient"])
    by = world.staff["prescriber"]
    instrument = require_instrument("phq9", patient.clinic_id)
    answers = answers_for(definition_of(instrument), 16, world.rng, item9=1)
    services.set_schedule(
        patient=patient,
        instrument_key="phq9",
        by=by,
        request=None,
        rules=[Rule.PRE_SESSION, Rule.POST_24H, Rule.POST_7D, Rule.WEEKLY_INDUCTION],
    )
    services.submit_response(
        patient=patient,
        instrument_key="phq9",
        answers=answers,
        source=Source.PORTAL,
        submitted_by=world.staff["patient"],
        request=None,
    )


# Columns written by the bulk generator, in order.
_BULK_COLUMNS = (
    "clinic_id",
    "patient_id",
    "instrument_id",
    "instrument_key",
    "instrument_version",
    "answers",
    "comment",
    "source",
    "submitted_at",
    "complete",
    "total",
    "band",
    "flags",
    "risk",
    "subscales",
    "flagged",
    "is_current",
    "correction_reason",
)
VARIANTS_PER_TOTAL = 4


def _field(name: str) -> models.Field[Any, Any]:
    return cast("models.Field[Any, Any]", Response._meta.get_field(name))


def _answer_pool(
    definition: InstrumentDefinition, rng: random.Random
) -> dict[int, list[tuple[Any, ...]]]:
    """A few scored answer sets per possible total, already prepared for the database.

    Scoring each of a million rows one by one costs minutes; the rows only need
    realistic, correctly scored answers, so each total reuses a few variants.
    """
    fields = {name: _field(name) for name in ("answers", "flags", "subscales")}
    low, high = definition.total_range or (0, 0)
    pool: dict[int, list[tuple[Any, ...]]] = {}
    for total in range(low, high + 1):
        for _ in range(VARIANTS_PER_TOTAL):
            answers = answers_for(definition, total, rng)
            result = score(definition, answers)
            prepared = [
                fields[name].get_db_prep_save(value, connection)
                for name, value in (
                    ("answers", answers),
                    ("flags", list(result.flags)),
                    ("subscales", result.subscales),
                )
            ]
            pool.setdefault(total, []).append((prepared[0], result, prepared[1], prepared[2]))
    return pool


def generate_responses(
    patients: Sequence[Patient], per_patient: int, rng: random.Random, *, batch_size: int = 5000
) -> int:
    """Bulk benchmark data: alternating PHQ-9 / GAD-7 histories, ``per_patient`` rows each.

    Written with executemany (no model instances), so 1,000,000 rows take minutes.
    No audit events or alerts (this is not care delivered). Returns rows written.
    """
    table = Response._meta.db_table
    sql = f"INSERT INTO {table} ({', '.join(_BULK_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_BULK_COLUMNS))})"  # noqa: S608 - fixed names
    written = 0
    batch: list[tuple[Any, ...]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for row in _bulk_rows(patients, per_patient, rng):
            batch.append(row)
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


Pool = dict[int, list[tuple[Any, ...]]]
Prepared = tuple[Instrument, Pool, int]


def _bulk_rows(
    patients: Sequence[Patient], per_patient: int, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    now = timezone.now()
    instruments: dict[tuple[str, int], Prepared] = {}
    for patient in patients:
        for key, count in (("phq9", (per_patient + 1) // 2), ("gad7", per_patient // 2)):
            if count == 0:  # one response per patient: a PHQ-9 only
                continue
            prepared = _prepared(instruments, key, patient.clinic_id, rng)
            start = now - timedelta(days=7 * count)
            yield from _history_rows(patient, key, count, prepared, start, rng)


def _prepared(
    instruments: dict[tuple[str, int], Prepared], key: str, clinic_id: int, rng: random.Random
) -> Prepared:
    """The clinic's instrument, its answer pool and top score, built on first use."""
    if (key, clinic_id) not in instruments:
        instrument = require_instrument(key, clinic_id)
        definition = definition_of(instrument)
        top = definition.total_range[1] if definition.total_range else 0
        instruments[key, clinic_id] = (instrument, _answer_pool(definition, rng), top)
    return instruments[key, clinic_id]


def _history_rows(
    patient: Patient,
    key: str,
    count: int,
    prepared: Prepared,
    start: datetime,
    rng: random.Random,
) -> Iterator[tuple[Any, ...]]:
    """One patient's weekly scores on one instrument, from ``start``."""
    instrument, pool, top = prepared
    prepared_time = _field("submitted_at")
    totals = trajectory(rng, count, top, rng.random() >= NON_RESPONDER_SHARE)
    for step, total in enumerate(totals):
        drawn = rng.choice(pool[total])
        at = prepared_time.get_db_prep_save(
            start + timedelta(days=7 * step, minutes=rng.randint(0, 600)), connection
        )
        yield _bulk_row(patient, instrument, drawn, at, rng.choice(SOURCES))


def _bulk_row(
    patient: Patient, instrument: Instrument, drawn: tuple[Any, ...], at: object, source: str
) -> tuple[Any, ...]:
    """The values of one response row, in the order of ``_BULK_COLUMNS``."""
    answers, result, flags, subscales = drawn
    return (
        patient.clinic_id,
        patient.pk,
        instrument.pk,
        instrument.key,
        instrument.version,
        answers,
        "",
        source,
        at,
        result.complete,
        result.total,
        result.band or "",
        flags,
        result.risk or "",
        subscales,
        False,
        True,
        "",
    )
