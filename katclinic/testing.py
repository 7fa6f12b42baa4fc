"""The base test case: one clinic network with a named person in every role.

alice works the front desk, paula prescribes, nick nurses, tara is a therapist and
adam is the clinic admin, all at clinic A (North). oscar prescribes at clinic B
(South) and must never see clinic A's patients. pat is a patient of clinic A with
a portal account; quinn is another patient of clinic A with her own account.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Protocol

from django.test import TestCase
from django.utils import timezone

from katclinic.accounts import services as account_services
from katclinic.accounts.models import User
from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.middleware import clinic_zone
from katclinic.clinics.models import Clinic, Organization, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.patients.models import Patient

PASSWORD = "correct horse battery staple"  # noqa: S105 - test accounts only


class Page(Protocol):
    content: bytes


# A CSRF token is 64 random letters and digits, so a short name can turn up inside one.
_CSRF_TOKEN = re.compile(rb"[A-Za-z0-9]{64}")


def shown_text(response: Page) -> str:
    """The page's characters with its CSRF tokens blanked: what a name check should read."""
    return _CSRF_TOKEN.sub(b"", response.content).decode()


def json_block(response: Page, block_id: str) -> Any:
    """The value of the page's ``json_script`` block ``block_id``; fails when it is missing."""
    found = re.search(
        rf'<script id="{re.escape(block_id)}" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.DOTALL,
    )
    if found is None:
        raise AssertionError(f"no data block {block_id!r} on the page")
    return json.loads(found.group(1))


def make_user(email: str, name: str, kind: str = User.Kind.STAFF) -> User:
    return User.objects.create_user(email=email, password=PASSWORD, full_name=name, kind=kind)


class ClinicTestCase(TestCase):
    org: Organization
    clinic: Clinic
    other_clinic: Clinic
    alice: User
    paula: User
    nick: User
    tara: User
    adam: User
    oscar: User
    pat_user: User
    quinn_user: User
    pat: Patient
    quinn: Patient
    stranger: Patient

    @classmethod
    def setUpTestData(cls) -> None:
        cls.org = Organization.objects.create(name="Test Health")
        cls.clinic = Clinic.objects.create(organization=cls.org, name="North", slug="north")
        cls.other_clinic = Clinic.objects.create(organization=cls.org, name="South", slug="south")
        people = [
            ("alice", Role.FRONT_DESK),
            ("paula", Role.PRESCRIBER),
            ("nick", Role.NURSE),
            ("tara", Role.THERAPIST),
            ("adam", Role.ADMIN),
        ]
        for name, role in people:
            user = make_user(f"{name}@example.org", name.capitalize())
            StaffMembership.objects.create(user=user, clinic=cls.clinic, role=role)
            setattr(cls, name, user)
        cls.oscar = make_user("oscar@example.org", "Oscar")
        StaffMembership.objects.create(
            user=cls.oscar, clinic=cls.other_clinic, role=Role.PRESCRIBER
        )
        cls.pat_user = make_user("pat@example.org", "Pat Doe", kind=User.Kind.PATIENT)
        cls.quinn_user = make_user("quinn@example.org", "Quinn Roe", kind=User.Kind.PATIENT)
        cls.pat = cls.make_patient(cls.clinic, "Pat", "Doe", "K000001", user=cls.pat_user)
        cls.quinn = cls.make_patient(cls.clinic, "Quinn", "Roe", "K000002", user=cls.quinn_user)
        cls.stranger = cls.make_patient(cls.other_clinic, "Sam", "Stranger", "K000001")

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # Requests run in the clinic's time zone (ActiveClinicMiddleware), so the test side does
        # too: "today" in a test is the clinic's today, even in the hours when UTC is a day ahead.
        cls.enterClassContext(timezone.override(clinic_zone(cls.clinic.timezone)))

    @classmethod
    def make_patient(cls, clinic: Clinic, first: str, last: str, mrn: str, **extra: Any) -> Patient:
        return Patient.objects.create(
            clinic=clinic,
            mrn=mrn,
            first_name=first,
            last_name=last,
            date_of_birth=date(1985, 4, 12),
            phone="555-0101",
            responsible_clinician=getattr(cls, "paula", None),
            **extra,
        )

    def login(self, user: User) -> None:
        """Sign in with both factors already passed."""
        self.client.force_login(user)
        session = self.client.session
        now = timezone.now().timestamp()
        session[account_services.OTP_OK] = True
        session[account_services.STARTED_AT] = now
        session[account_services.LAST_SEEN] = now
        session.save()

    def assertDenialsRecorded(self, path: str, count: int = 1) -> None:
        """The audit trail holds `count` refusals of `path` (its address without the query)."""
        found = AuditEvent.objects.filter(action=Action.DENIED, object_id=path[:64]).count()
        self.assertEqual(found, count, f"refusals recorded for {path}")

    @property
    def staff_by_role(self) -> dict[str, User]:
        return {
            "front_desk": self.alice,
            "prescriber": self.paula,
            "nurse": self.nick,
            "therapist": self.tara,
            "admin": self.adam,
        }
