"""A values_list read compiled once gives the rows the ORM gives, on every backend, for
every value bound into it; what cannot be compiled that way is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Max, QuerySet, Sum
from django.test.utils import CaptureQueriesContext

from katclinic.clinics.models import ClinicSetting
from katclinic.dosing.models import Administration, DosingSession
from katclinic.lib.compiled import ByIds, CompiledValues
from katclinic.measures.models import Invitation, Response
from katclinic.outcomes.tests import helpers as h
from katclinic.testing import ClinicTestCase


def _doses(patients: list[int]) -> QuerySet[Administration, tuple[Any, ...]]:
    return (
        Administration.objects.filter(session__patient_id__in=patients, is_adjunct=False)
        .values("session_id")
        .annotate(total=Sum("dose_mg"), n=Count("pk"))
        .values_list("session_id", "total", "n")
        .order_by("session_id")
    )


def _peaks(patient: int) -> QuerySet[DosingSession, tuple[Any, ...]]:
    return (
        DosingSession.objects.filter(patient_id=patient, dose_started_at__isnull=False)
        .values_list("pk", "dose_started_at", "route")
        .annotate(sys_peak=Max("checkpoints__systolic"))
        .order_by("dose_started_at", "pk")
    )


def _scores(patient: int, key: str, since: datetime) -> QuerySet[Response, tuple[Any, ...]]:
    return (
        Response.objects.current()
        .filter(patient_id=patient, instrument_key=key, submitted_at__gte=since)
        .order_by("-submitted_at", "-pk")
        .values_list("pk", "submitted_at", "total", "band", "flags")[:3]
    )


def _unchecked(build: Callable[..., Any]) -> Any:
    """A builder the types would refuse, to show that it is refused when run."""
    return build


class CompiledValuesTest(ClinicTestCase):
    def setUp(self) -> None:
        super().setUp()
        h.course(self.pat, self.paula, [(0, 20), (7, 14), (14, 9), (21, 5)])
        h.course(self.quinn, self.paula, [(0, 18)])
        plan = h.plan(self.pat, self.paula)
        for day in (1, 8):
            h.dosed(plan, self.nick, h.on(day, 14), side_effect="nausea")
        h.invitation(self.pat, h.on(2))

    def test_rows_equal_the_orms_for_every_value_bound(self) -> None:
        peaks = CompiledValues(DosingSession, _peaks, patient=int)
        scores = CompiledValues(Response, _scores, patient=int, key=str, since=datetime)
        for patient in (self.pat, self.quinn, self.pat):
            self.assertEqual(peaks(patient=patient.pk), list(_peaks(patient.pk)))
            for key in ("phq9", "gad7"):
                for since in (h.on(-1), h.on(10), h.on(30)):
                    found = scores(patient=patient.pk, key=key, since=since)
                    self.assertEqual(found, list(_scores(patient.pk, key, since)))
        self.assertTrue(peaks(patient=self.pat.pk))
        self.assertEqual(len(scores(patient=self.pat.pk, key="phq9", since=h.on(-1))), 3)

    def test_converted_values_keep_their_types(self) -> None:
        doses = ByIds(Administration, _doses)
        found = doses([self.pat.pk])
        self.assertEqual(found, list(_doses([self.pat.pk])))
        self.assertTrue(found)
        for _, total, n in found:
            self.assertEqual(type(total), type(list(_doses([self.pat.pk]))[0][1]))
            self.assertIsInstance(n, int)
        (at,) = Invitation.objects.filter(patient=self.pat).values_list("due_at", flat=True)
        read = CompiledValues(
            Invitation,
            lambda patient: Invitation.objects.filter(patient_id=patient).values_list("due_at"),
            patient=int,
        )
        self.assertEqual(read(patient=self.pat.pk), [(at,)])
        self.assertIsNotNone(read(patient=self.pat.pk)[0][0].tzinfo)

    def test_the_sql_is_compiled_once_and_run_as_one_statement(self) -> None:
        peaks = CompiledValues(DosingSession, _peaks, patient=int)
        peaks(patient=self.pat.pk)
        with CaptureQueriesContext(connection) as captured:
            peaks(patient=self.quinn.pk)
        self.assertEqual(len(captured.captured_queries), 1)
        self.assertEqual(len(peaks._plans), 1)

    def test_by_ids_reads_none_one_or_many_ids_as_the_orm_does(self) -> None:
        doses = ByIds(Administration, _doses)
        for ids in ([], [self.pat.pk], [self.quinn.pk], [self.pat.pk, self.quinn.pk]):
            self.assertEqual(doses(ids), list(_doses(ids)))

    def test_a_setting_changed_between_reads_is_read_again(self) -> None:
        read = CompiledValues(
            ClinicSetting,
            lambda clinic: (
                ClinicSetting.objects.filter(clinic_id=clinic)
                .order_by("key")
                .values_list("key", "value")
            ),
            clinic=int,
        )
        before = read(clinic=self.clinic.pk)
        ClinicSetting.objects.create(
            clinic=self.clinic, key="zz.test", value="1", changed_by=self.adam, reason="test"
        )
        self.assertEqual(read(clinic=self.clinic.pk), [*before, ("zz.test", "1")])
        self.assertEqual(read(clinic=self.other_clinic.pk), [])

    def test_what_cannot_be_compiled_is_refused(self) -> None:
        not_bound = CompiledValues(
            Response, lambda patient: Response.objects.values_list("pk"), patient=int
        )
        with self.assertRaises(ValueError):
            not_bound(patient=self.pat.pk)
        rows_not_values = CompiledValues(
            Response,
            _unchecked(lambda patient: Response.objects.filter(patient_id=patient)),
            patient=int,
        )
        with self.assertRaises(ValueError):
            rows_not_values(patient=self.pat.pk)
        flat = CompiledValues(
            Response,
            _unchecked(
                lambda patient: Response.objects.filter(patient_id=patient).values_list(
                    "pk", flat=True
                )
            ),
            patient=int,
        )
        with self.assertRaises(ValueError):
            flat(patient=self.pat.pk)
        other_model = CompiledValues(
            Invitation,
            lambda patient: Response.objects.filter(patient_id=patient).values_list("pk"),
            patient=int,
        )
        with self.assertRaises(ValueError):
            other_model(patient=self.pat.pk)
        peaks = CompiledValues(DosingSession, _peaks, patient=int)
        with self.assertRaises(TypeError):
            peaks(patient_id=self.pat.pk)
        with self.assertRaises(TypeError):
            peaks()

    def test_a_time_is_bound_as_the_orm_binds_it(self) -> None:
        scores = CompiledValues(Response, _scores, patient=int, key=str, since=datetime)
        (newest,) = _scores(self.pat.pk, "phq9", h.on(-1))[:1]
        at = newest[1]
        self.assertEqual(scores(patient=self.pat.pk, key="phq9", since=at)[0][0], newest[0])
        self.assertEqual(scores(patient=self.pat.pk, key="phq9", since=at + timedelta(0, 1)), [])
