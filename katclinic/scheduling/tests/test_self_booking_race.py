"""Two patients choosing the same time at the same moment: exactly one gets it.

Each patient books in their own thread, so on their own database connection, and both start
from the same offered time. A TransactionTestCase, so both transactions really commit (or
wait on each other) against the database the suite runs on, SQLite or PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from importlib import import_module

from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import TransactionTestCase

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic, Organization, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.patients.models import Patient
from katclinic.protocols.tests.fixtures import WEEKDAYS_9_TO_6
from katclinic.scheduling import selfbook
from katclinic.scheduling.models import Appointment, Room


def _patient(clinic: Clinic, name: str, mrn: str) -> Patient:
    user = User.objects.create_user(
        email=f"{name}@example.org", password="race-test-pass", full_name=name, kind="patient"
    )
    return Patient.objects.create(
        clinic=clinic,
        mrn=mrn,
        first_name=name,
        last_name="Racer",
        date_of_birth=date(1980, 1, 2),
        user=user,
    )


def _book_waiting_on_locks(patient: Patient, start: object) -> None:
    """Book as the request would. The suite's SQLite database is in memory with a shared
    cache, which reports another writer's lock at once ("table is locked") where the file
    database a clinic runs waits on busy_timeout; so here the attempt waits as it would."""
    for _ in range(500):
        try:
            selfbook.book_own(patient=patient, kind="integration", start=start)  # type: ignore[arg-type]
            return
        except OperationalError as exc:
            if connection.vendor != "sqlite" or "locked" not in str(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("the other booking never released its lock")


class RaceForOneSlotTest(TransactionTestCase):
    def tearDown(self) -> None:
        """The flush between tests cannot delete audit events, which refuse it: lift the
        append-only trigger for this test's own rows only, then put it back."""
        triggers = import_module("katclinic.audit.migrations.0002_append_only_triggers")
        down, up = {
            "sqlite": (triggers.SQLITE_DOWN, triggers.SQLITE_UP),
            "postgresql": (triggers.POSTGRES_DOWN, triggers.POSTGRES_UP),
        }[connection.vendor]
        with connection.cursor() as cursor:
            for sql in down:
                cursor.execute(sql)
            cursor.execute("DELETE FROM audit_auditevent")
            for sql in up:
                cursor.execute(sql)
        super().tearDown()

    def test_two_patients_racing_for_one_slot_exactly_one_wins(self) -> None:
        org = Organization.objects.create(name="Race Health")
        clinic = Clinic.objects.create(
            organization=org, name="Race", slug="race", opening_hours=WEEKDAYS_9_TO_6
        )
        therapist = User.objects.create_user(
            email="tia@example.org", password="race-test-pass", full_name="Tia", kind="staff"
        )
        StaffMembership.objects.create(user=therapist, clinic=clinic, role=Role.THERAPIST)
        Room.objects.create(clinic=clinic, name="Only room")
        first, second = _patient(clinic, "ana", "R1"), _patient(clinic, "bo", "R2")
        offer = selfbook.offers(patient=first, kind="integration", start_on=None)[0]
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def attempt(patient: Patient) -> None:
            try:
                barrier.wait(timeout=10)
                _book_waiting_on_locks(patient, offer.start)
                outcomes.append("booked")
            except selfbook.BookingRefused as refused:
                outcomes.append(f"refused: {refused.message}")
            finally:
                # This thread's own connection: SQLite's wrapper would keep an in-memory
                # database's connection open, which the main thread's keeps alive anyway.
                BaseDatabaseWrapper.close(connection)

        threads = [threading.Thread(target=attempt, args=(p,)) for p in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(sorted(o.split(":")[0] for o in outcomes), ["booked", "refused"])
        self.assertEqual(Appointment.objects.filter(start=offer.start).count(), 1)
