"""Plain-SQL reads and writes give back exactly what the ORM would, on every backend."""

from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

from django.db import IntegrityError, connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from katclinic.api.auth import usable_token
from katclinic.api.models import ApiToken
from katclinic.audit import services as audit
from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.lib import rows
from katclinic.measures.catalogue import current_instrument
from katclinic.measures.models import Course, Instrument, Response, Source
from katclinic.measures.services import start_course
from katclinic.patients.models import Patient, WeightReading
from katclinic.testing import ClinicTestCase


def values(instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


class HydrateTest(ClinicTestCase):
    def assertSameAsOrm(
        self, found: models.Model | None, model: type[models.Model], pk: int
    ) -> None:
        self.assertIsNotNone(found)
        assert found is not None
        self.assertEqual(values(found), values(model._default_manager.get(pk=pk)))
        self.assertFalse(found._state.adding)

    def test_a_patient_fetched_by_clinic_or_user_equals_the_orm_row(self) -> None:
        self.assertSameAsOrm(
            Patient.objects.fetch(self.pat.pk, clinic_id=self.clinic.pk), Patient, self.pat.pk
        )
        self.assertSameAsOrm(
            Patient.objects.fetch(str(self.pat.pk), user_id=self.pat_user.pk), Patient, self.pat.pk
        )

    def test_a_patient_is_not_found_through_another_clinic_or_user(self) -> None:
        self.assertIsNone(Patient.objects.fetch(self.pat.pk, clinic_id=self.other_clinic.pk))
        self.assertIsNone(Patient.objects.fetch(self.pat.pk, user_id=self.quinn_user.pk))
        for bad in (2**63, -(2**63) - 1, "1x", ""):
            self.assertIsNone(Patient.objects.fetch(bad, clinic_id=self.clinic.pk))

    def test_fetch_refuses_an_ambiguous_or_filtered_lookup(self) -> None:
        with self.assertRaises(ValueError):
            Patient.objects.fetch(self.pat.pk)
        with self.assertRaises(ValueError):
            Patient.objects.fetch(self.pat.pk, clinic_id=self.clinic.pk, user_id=self.pat_user.pk)
        with self.assertRaises(TypeError):
            Patient.objects.filter(last_name="Doe").fetch(self.pat.pk, clinic_id=self.clinic.pk)

    def test_a_token_with_its_user_and_clinic_equals_the_orm_rows(self) -> None:
        token, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="t", scopes=["patients:read"]
        )
        result = usable_token(raw)
        assert result is not None
        found, roles = result
        self.assertSameAsOrm(found, ApiToken, token.pk)
        self.assertEqual(roles, {Role.NURSE})
        self.assertEqual(values(found.user), values(type(self.nick).objects.get(pk=self.nick.pk)))
        self.assertEqual(
            values(found.clinic), values(type(self.clinic).objects.get(pk=self.clinic.pk))
        )
        self.assertEqual(found.scopes, ["patients:read"])

    def test_only_tokens_the_orm_calls_usable_are_found(self) -> None:
        cases = {
            "usable": {},
            "revoked": {"revoked_at": timezone.now()},
            "expired": {"expires_at": timezone.now() - timedelta(seconds=1)},
            "expiring later": {"expires_at": timezone.now() + timedelta(hours=1)},
        }
        for name, extra in cases.items():
            with self.subTest(name):
                token, raw = ApiToken.issue(
                    user=self.nick, clinic=self.clinic, name=name, scopes=[], **extra
                )
                expected = ApiToken.objects.usable().filter(pk=token.pk).exists()
                self.assertEqual(usable_token(raw) is not None, expected)
        token, raw = ApiToken.issue(user=self.tara, clinic=self.clinic, name="leaver", scopes=[])
        type(self.tara).objects.filter(pk=self.tara.pk).update(is_active=False)
        self.assertIsNone(usable_token(raw))
        self.assertFalse(ApiToken.objects.usable().filter(pk=token.pk).exists())

    def test_roles_are_the_active_memberships_at_that_clinic(self) -> None:
        _, raw = ApiToken.issue(user=self.nick, clinic=self.clinic, name="t", scopes=[])
        StaffMembership.objects.create(user=self.nick, clinic=self.clinic, role=Role.THERAPIST)
        StaffMembership.objects.create(
            user=self.nick, clinic=self.clinic, role=Role.ADMIN, is_active=False
        )
        StaffMembership.objects.create(
            user=self.nick, clinic=self.other_clinic, role=Role.PRESCRIBER
        )
        expected = set(
            StaffMembership.objects.active()
            .filter(user=self.nick, clinic=self.clinic)
            .values_list("role", flat=True)
        )
        self.assertEqual(usable_token(raw)[1], expected)  # type: ignore[index]
        self.assertEqual(expected, {Role.NURSE, Role.THERAPIST})
        _, raw = ApiToken.issue(user=self.pat_user, clinic=self.clinic, name="portal", scopes=[])
        self.assertEqual(usable_token(raw)[1], frozenset())  # type: ignore[index]

    def test_the_current_instrument_is_the_clinics_own_newest_version(self) -> None:
        shipped = current_instrument("phq9", self.clinic)
        assert shipped is not None
        self.assertIsNone(shipped.clinic_id)
        self.assertEqual(
            shipped.definition, Instrument.objects.get(pk=shipped.pk).definition
        )  # deferred, read on use
        own = Instrument.objects.create(
            key="phq9",
            version="local-2",
            clinic=self.clinic,
            title="PHQ-9 (clinic wording)",
            kind=shipped.kind,
            licence=shipped.licence,
            definition=Instrument.objects.get(pk=shipped.pk).definition,
        )
        self.assertEqual(current_instrument("phq9", self.clinic).pk, own.pk)  # type: ignore[union-attr]
        self.assertEqual(current_instrument("phq9", self.other_clinic).pk, shipped.pk)  # type: ignore[union-attr]
        self.assertIsNone(current_instrument("no_such_scale", self.clinic))


class InsertTest(ClinicTestCase):
    def test_an_inserted_row_reads_back_as_it_was_built(self) -> None:
        instrument = current_instrument("phq9", self.clinic)
        assert instrument is not None
        built = Response(
            clinic_id=self.clinic.pk,
            patient=self.pat,
            instrument=instrument,
            instrument_key="phq9",
            instrument_version=instrument.version,
            answers={"q1": 3, "q9": None},
            comment="Hard week",
            source=Source.API,
            submitted_by=self.nick,
            complete=False,
            total=None,
            band="",
            flags=["item9"],
            risk="",
            subscales={"phq2": None},
            flagged=True,
        )
        rows.insert(built)
        self.assertIsNotNone(built.pk)
        self.assertFalse(built._state.adding)
        self.assertEqual(values(built), values(Response.objects.get(pk=built.pk)))

    def test_dates_and_decimals_are_stored_as_save_stores_them(self) -> None:
        weight = WeightReading(
            clinic_id=self.clinic.pk,
            patient=self.pat,
            weight_kg=Decimal("72.4"),
            entered_value=Decimal("159.6"),
            entered_unit="lb",
            measured_on=timezone.localdate(),
            recorded_by=self.nick,
        )
        rows.insert(weight)
        self.assertEqual(values(weight), values(WeightReading.objects.get(pk=weight.pk)))

    def test_a_row_the_database_refuses_is_not_stored(self) -> None:
        weight = WeightReading(
            clinic_id=self.clinic.pk,
            patient=self.pat,
            weight_kg=Decimal("900"),
            entered_value=Decimal("900"),
            entered_unit="kg",
            measured_on=timezone.localdate(),
            recorded_by=self.nick,
        )
        with self.assertRaises(IntegrityError), transaction.atomic():
            rows.insert(weight)
        self.assertIsNone(weight.pk)
        self.assertFalse(WeightReading.objects.exists())

    def test_a_model_with_auto_now_is_refused(self) -> None:
        # The task queue's results stamp themselves through save(); insert() would not.
        with self.assertRaisesMessage(ValueError, "auto_now"):
            rows.insert(DBTaskResult())


def _responses(patient: int, clinic: int) -> Any:
    return (
        Response.objects.filter(patient_id=patient, clinic_id=clinic)
        .select_related("submitted_by", "patient__clinic", "corrected_by")
        .order_by("pk")
    )


# Two ids, a nullable join, a nested one and a reverse one-to-one.
RESPONSES = rows.Compiled(Response, _responses, "patient", "clinic")


class CompiledTest(ClinicTestCase):
    def response(self, **extra: Any) -> Response:
        instrument = current_instrument("phq9", self.clinic)
        assert instrument is not None
        fields: dict[str, Any] = {
            "clinic_id": self.clinic.pk,
            "patient": self.pat,
            "instrument": instrument,
            "instrument_key": "phq9",
            "instrument_version": instrument.version,
            "answers": {"q1": 1},
            "source": Source.API,
            "complete": False,
        }
        return Response.objects.create(**(fields | extra))

    def test_the_rows_and_their_joined_rows_are_the_orms(self) -> None:
        first = self.response(submitted_by=self.nick)
        self.response(corrects=first, answers={"q1": 2}, correction_reason="mistyped")
        expected = list(_responses(self.pat.pk, self.clinic.pk))
        found = RESPONSES(patient=self.pat.pk, clinic=self.clinic.pk)
        self.assertEqual([values(r) for r in found], [values(r) for r in expected])
        self.assertEqual(len(found), 2)
        with self.assertNumQueries(0):
            joined = [
                (r.submitted_by, r.patient, r.patient.clinic, getattr(r, "corrected_by", None))
                for r in found
            ]
        for (user, patient, clinic, corrected), orm in zip(joined, expected, strict=True):
            self.assertEqual(user and values(user), orm.submitted_by and values(orm.submitted_by))
            self.assertEqual(values(patient), values(orm.patient))
            self.assertEqual(values(clinic), values(orm.patient.clinic))
            orm_corrected = getattr(orm, "corrected_by", None)
            self.assertEqual(
                corrected and values(corrected), orm_corrected and values(orm_corrected)
            )
        self.assertEqual(found[0].submitted_by, self.nick)
        self.assertIsNotNone(getattr(found[0], "corrected_by", None))
        self.assertIsNone(found[1].submitted_by)

    def test_other_ids_find_other_rows(self) -> None:
        self.response()
        self.assertEqual(RESPONSES(patient=self.pat.pk, clinic=self.other_clinic.pk), [])
        self.assertEqual(RESPONSES(patient=self.quinn.pk, clinic=self.clinic.pk), [])
        self.assertEqual(len(RESPONSES(patient=self.pat.pk, clinic=self.clinic.pk)), 1)

    def test_the_ids_named_are_the_ids_taken(self) -> None:
        with self.assertRaises(TypeError):
            RESPONSES(patient=self.pat.pk)
        with self.assertRaises(TypeError):
            RESPONSES(patient=self.pat.pk, clinic=self.clinic.pk, user=self.nick.pk)

    def test_what_the_plan_cannot_stand_for_is_refused_when_compiling(self) -> None:
        refused = {
            "an id the SQL does not bind": rows.Compiled(
                Response, lambda patient: Response.objects.filter(patient_id=1), "patient"
            ),
            "some columns only": rows.Compiled(
                Response,
                lambda patient: Response.objects.filter(patient_id=patient).only("pk"),
                "patient",
            ),
            "deferred columns": rows.Compiled(
                Response,
                lambda patient: Response.objects.filter(patient_id=patient).defer("answers"),
                "patient",
            ),
            "an annotation": rows.Compiled(
                Response,
                lambda patient: Response.objects.filter(patient_id=patient).annotate(
                    n=models.Value(1)
                ),
                "patient",
            ),
            "a prefetch": rows.Compiled(
                Response,
                lambda patient: Response.objects.filter(patient_id=patient).prefetch_related(
                    "corrected_by"
                ),
                "patient",
            ),
            "another model": rows.Compiled(
                Response, lambda patient: cast(Any, Patient.objects.filter(pk=patient)), "patient"
            ),
        }
        for name, compiled in refused.items():
            with self.subTest(name), self.assertRaises(ValueError):
                compiled(patient=self.pat.pk)


class InsertLinkedTest(ClinicTestCase):
    def weight(self, kg: str) -> WeightReading:
        return WeightReading(
            clinic_id=self.clinic.pk,
            patient=self.pat,
            weight_kg=Decimal(kg),
            entered_value=Decimal(kg),
            entered_unit="kg",
            measured_on=timezone.localdate(),
            recorded_by=self.nick,
        )

    def event_about(self, row: models.Model) -> AuditEvent:
        return audit.unsaved_event(
            request=None,
            action=Action.CREATE,
            clinic_id=self.clinic.pk,
            patient_id=self.pat.pk,
            obj=row,
            detail={"why": "test"},
            user=self.nick,
        )

    def test_a_row_its_event_and_an_update_are_written_as_separate_writes_would(self) -> None:
        course = start_course(
            patient=self.pat, started_on=timezone.localdate(), by=self.paula, request=None
        )
        instrument = current_instrument("phq9", self.clinic)
        assert instrument is not None
        response = Response(
            clinic_id=self.clinic.pk,
            patient=self.pat,
            instrument=instrument,
            instrument_key="phq9",
            instrument_version=instrument.version,
            answers={"q1": 1},
            source=Source.API,
            submitted_by=self.nick,
            submitted_at=timezone.now(),
            complete=True,
            total=1,
        )
        event = self.event_about(response)
        update = (
            f"UPDATE {rows.table(Course)} SET baseline_id = {rows.NEW_KEY} "  # noqa: S608
            "WHERE patient_id = %s AND baseline_id IS NULL",
            [self.pat.pk],
        )
        with CaptureQueriesContext(connection) as seen:
            rows.insert_linked(response, linked=[(event, "object_id")], updates=[update])
        # On PostgreSQL one statement; elsewhere one each, in the caller's transaction.
        self.assertEqual(len(seen), 1 if connection.vendor == "postgresql" else 3)
        self.assertFalse(response._state.adding or event._state.adding)
        self.assertEqual(values(response), values(Response.objects.get(pk=response.pk)))
        self.assertEqual(event.object_id, str(response.pk))
        self.assertEqual(values(event), values(AuditEvent.objects.get(pk=event.pk)))
        self.assertEqual(
            (event.object_type, event.actor, event.detail),
            ("measures.response", self.nick.email, {"why": "test"}),
        )
        course.refresh_from_db()
        self.assertEqual(course.baseline_id, response.pk)

    def test_nothing_is_stored_when_one_part_is_refused(self) -> None:
        weight = self.weight("72.4")
        event = self.event_about(weight)
        event.actor = None  # type: ignore[assignment]  # NOT NULL: the database refuses it
        events = AuditEvent.objects.count()
        with self.assertRaises(IntegrityError), transaction.atomic():
            rows.insert_linked(weight, linked=[(event, "object_id")])
        self.assertFalse(WeightReading.objects.exists())
        self.assertEqual(AuditEvent.objects.count(), events)

    def test_an_update_of_a_table_the_statement_inserts_into_is_refused(self) -> None:
        # PostgreSQL runs the parts of one statement on one snapshot: an UPDATE there would
        # not see the new rows, where on SQLite it would.
        weight = self.weight("72.4")
        sql = f"UPDATE {rows.table(WeightReading)} SET weight_kg = 70 WHERE id = {rows.NEW_KEY}"  # noqa: S608
        update: tuple[str, list[Any]] = (sql, [])
        with self.assertRaises(ValueError):
            rows.insert_linked(weight, updates=[update])
        self.assertFalse(WeightReading.objects.exists())

    def test_a_linked_column_the_model_lacks_is_refused(self) -> None:
        weight = self.weight("72.4")
        with self.assertRaises(ValueError):
            rows.insert_linked(weight, linked=[(self.event_about(weight), "no_such_column")])
        self.assertFalse(WeightReading.objects.exists())
