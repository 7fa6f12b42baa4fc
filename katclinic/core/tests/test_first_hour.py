"""An administrator's first hour on an empty install, through the pages only.

Setup, second factor, staff invitations, a room with two chairs and opening hours, the shipped
esketamine and IV protocols, a program consent, then the nurse's first IV booking. Each step
is checked in the database and in the audit trail; nothing here calls a service to act.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pyotp
from django.core import mail
from django.test import Client, TestCase, override_settings
from django.utils import timezone

from katclinic.accounts.models import TotpDevice, User
from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.models import (
    Clinic,
    Invitation,
    Organization,
    OrganizationAdmin,
    StaffMembership,
)
from katclinic.clinics.permissions import Role
from katclinic.intake.models import ConsentDocument
from katclinic.patients.models import Patient
from katclinic.protocols.models import ProtocolVersion
from katclinic.scheduling.models import Appointment, Chair, Room

PASSPHRASE = "lantern harbour quietly folds"
ADMIN_EMAIL = "rita.root@lakeside.example"
ZONE = "America/Chicago"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
INVITE_LINK = re.compile(r"https?://[^/\s]+(/clinic/invitation/[^/\s]+/)")


def enrol_authenticator(test: TestCase, client: Client) -> str:
    """Open the enrolment page, read the key it shows and answer with the current code."""
    response = client.get("/accounts/second-factor/setup/")
    test.assertEqual(response.status_code, 200)
    secret = response.context["secret"]
    test.assertContains(response, secret)
    response = client.post("/accounts/second-factor/setup/", {"code": pyotp.TOTP(secret).now()})
    test.assertEqual(response.status_code, 200)
    test.assertTemplateUsed(response, "accounts/recovery_codes.html")
    return str(secret)


def next_weekday_at(hour: int) -> datetime:
    """Ten o'clock (say) on a weekday at least two days ahead, in the clinic's zone."""
    day = timezone.now().astimezone(ZoneInfo(ZONE)).date() + timedelta(days=2)
    while day.weekday() >= len(WEEKDAYS):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(ZONE))


@override_settings(KATCLINIC_SETUP_FROM=["127.0.0.1"])
class FirstHourTest(TestCase):
    """No fixtures: the database starts with no organization, clinic or user."""

    def setUp(self) -> None:
        self.assertFalse(Organization.objects.exists())
        self.assertFalse(User.objects.exists())

    def events(self, **filters: object) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(**filters).order_by("id"))

    def test_an_administrators_first_hour(self) -> None:
        clinic = self.set_up_the_install()
        admin = self.admin_signs_in_with_a_second_factor(clinic)
        prescriber = self.invite_and_accept(clinic, "paula.ng@lakeside.example", Role.PRESCRIBER)
        nurse_client = Client()
        nurse = self.invite_and_accept(
            clinic, "nick.ode@lakeside.example", Role.NURSE, client=nurse_client
        )
        self.assertEqual(
            set(StaffMembership.objects.filter(clinic=clinic).values_list("user", "role")),
            {(admin.pk, Role.ADMIN), (prescriber.pk, Role.PRESCRIBER), (nurse.pk, Role.NURSE)},
        )
        iv_chair, nasal_chair = self.add_room_chairs_and_hours(clinic)
        self.adopt_protocols(clinic)
        self.publish_program_consent(clinic, admin)
        self.nurse_books_a_first_iv_session(clinic, nurse, nurse_client, iv_chair, nasal_chair)
        # Every step above left its trail in the clinic's audit chain.
        self.assertTrue(AuditEvent.objects.filter(clinic_id=clinic.pk).exists())

    # ---- steps ---------------------------------------------------------------------------

    def set_up_the_install(self) -> Clinic:
        self.assertContains(self.client.get("/"), "not set up yet", status_code=503)
        self.assertEqual(self.client.get("/setup/").status_code, 200)
        response = self.client.post(
            "/setup/",
            {
                "organization": "Lakeside Health",
                "clinic": "Lakeside Ketamine Clinic",
                "timezone": ZONE,
                "address": "1 Shore Road, Lakeside",
                "phone": "+1 312 555 0100",
                "npi": "",
                "tax_id": "",
                "crisis_resources": "Call or text 988 (Suicide and Crisis Lifeline).",
                "admin_email": ADMIN_EMAIL,
                "admin_name": "Rita Root",
                "admin_password": PASSPHRASE,
            },
        )
        self.assertRedirects(response, "/accounts/login/", fetch_redirect_response=False)
        organization = Organization.objects.get()
        clinic = Clinic.objects.get()
        self.assertEqual(organization.name, "Lakeside Health")
        self.assertEqual(
            (clinic.organization, clinic.name), (organization, "Lakeside Ketamine Clinic")
        )
        self.assertEqual(clinic.timezone, ZONE)
        admin = User.objects.get()
        self.assertEqual((admin.email, admin.full_name), (ADMIN_EMAIL, "Rita Root"))
        self.assertTrue(admin.check_password(PASSPHRASE))
        self.assertEqual(StaffMembership.objects.get(user=admin).role, Role.ADMIN)
        self.assertTrue(
            OrganizationAdmin.objects.filter(organization=organization, user=admin).exists()
        )
        [created] = self.events(action=Action.CREATE, object_type="clinic")
        self.assertEqual((created.clinic_id, created.user_id), (clinic.pk, admin.pk))
        self.assertEqual(created.detail["step"], "first-run setup")

        # Once done, setup refuses and says so; nothing else is created.
        for method in (self.client.get, self.client.post):
            with self.subTest(method=method.__name__):
                response = method(
                    "/setup/",
                    {
                        "organization": "Another",
                        "clinic": "Another",
                        "timezone": ZONE,
                        "admin_email": "second@lakeside.example",
                        "admin_name": "Second",
                        "admin_password": PASSPHRASE,
                    },
                )
                self.assertContains(response, "already set up", status_code=404)
        self.assertEqual((Organization.objects.count(), User.objects.count()), (1, 1))
        return clinic

    def admin_signs_in_with_a_second_factor(self, clinic: Clinic) -> User:
        response = self.client.post(
            "/accounts/login/", {"email": ADMIN_EMAIL, "password": PASSPHRASE}
        )
        self.assertRedirects(response, "/accounts/second-factor/", fetch_redirect_response=False)
        # Nothing but enrolling an authenticator is open before it is done.
        self.assertRedirects(
            self.client.get("/clinic/staff/"),
            "/accounts/second-factor/",
            fetch_redirect_response=False,
        )
        self.assertRedirects(
            self.client.get("/accounts/second-factor/"),
            "/accounts/second-factor/setup/",
            fetch_redirect_response=False,
        )
        secret = enrol_authenticator(self, self.client)
        admin = User.objects.get(email=ADMIN_EMAIL)
        self.assertTrue(TotpDevice.objects.filter(user=admin, confirmed_at__isnull=False).exists())
        self.assertEqual(
            len(
                self.events(
                    user=admin, action=Action.SECURITY, detail__change="authenticator enrolled"
                )
            ),
            1,
        )
        self.assertEqual(self.client.get("/clinic/staff/").status_code, 200)

        # Signing in again takes the passphrase and a code from the enrolled authenticator;
        # the code used to enrol cannot be used again, so take the next one.
        self.client.post("/accounts/logout/")
        self.assertRedirects(
            self.client.get("/clinic/staff/"),
            "/accounts/login/?next=/clinic/staff/",
            fetch_redirect_response=False,
        )
        self.client.post("/accounts/login/", {"email": ADMIN_EMAIL, "password": PASSPHRASE})
        totp = pyotp.TOTP(secret)
        now = timezone.now().timestamp()
        valid = {totp.at(now + offset) for offset in (-30, 0, 30)}
        wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
        response = self.client.post("/accounts/second-factor/", {"code": wrong})
        self.assertEqual(response.status_code, 400)
        self.assertIn("code", response.context["form"].errors)
        self.assertNotEqual(self.client.get("/clinic/staff/").status_code, 200)
        response = self.client.post("/accounts/second-factor/", {"code": totp.at(now + 30)})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.client.get("/clinic/staff/").status_code, 200)
        return admin

    def invite_and_accept(
        self, clinic: Clinic, email: str, role: Role, client: Client | None = None
    ) -> User:
        mail.outbox.clear()
        response = self.client.post("/clinic/staff/invite/", {"email": email, "role": role})
        self.assertRedirects(response, "/clinic/staff/", fetch_redirect_response=False)
        invitation = Invitation.objects.get(clinic=clinic, email=email)
        self.assertEqual(invitation.role, role)
        self.assertIsNone(invitation.accepted_at)
        self.assertEqual(len(self.events(action=Action.CREATE, detail__invited=email)), 1)
        [message] = mail.outbox
        self.assertEqual(message.to, [email])
        match = INVITE_LINK.search(str(message.body))
        assert match is not None, message.body
        link = match.group(1)

        person = client or Client()
        self.assertContains(person.get(link), email)
        name = email.split("@")[0].replace(".", " ").title()
        response = person.post(link, {"email": email, "full_name": name, "password": PASSPHRASE})
        self.assertRedirects(
            response, "/accounts/second-factor/setup/", fetch_redirect_response=False
        )
        user = User.objects.get(email=email)
        self.assertEqual(user.full_name, name)
        self.assertTrue(user.check_password(PASSPHRASE))
        invitation.refresh_from_db()
        self.assertIsNotNone(invitation.accepted_at)
        self.assertTrue(
            StaffMembership.objects.filter(
                clinic=clinic, user=user, role=role, is_active=True
            ).exists()
        )
        [joined] = self.events(action=Action.CREATE, object_type="account", object_id=str(user.pk))
        self.assertEqual((joined.clinic_id, joined.user_id), (clinic.pk, user.pk))
        self.assertEqual(joined.detail, {"accepted_invitation": invitation.pk, "role": role})
        # Until an authenticator is enrolled, the new account opens nothing else.
        self.assertRedirects(
            person.get("/patients/"), "/accounts/second-factor/", fetch_redirect_response=False
        )
        enrol_authenticator(self, person)
        self.assertTrue(TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists())
        self.assertEqual(person.get("/patients/").status_code, 200)
        # The invitation works once.
        self.assertEqual(Client().get(link).status_code, 404)
        return user

    def add_room_chairs_and_hours(self, clinic: Clinic) -> tuple[Chair, Chair]:
        response = self.client.post(
            "/scheduling/places/rooms/add/", {"name": "Garden room", "is_active": "on"}
        )
        self.assertRedirects(response, "/scheduling/places/", fetch_redirect_response=False)
        room = Room.objects.get(clinic=clinic)
        self.assertEqual(room.name, "Garden room")
        chairs = {
            "Window chair": {"supports_iv": "on", "supports_intranasal": "on"},
            "Corner chair": {"supports_intranasal": "on"},
        }
        for name, supports in chairs.items():
            response = self.client.post(
                "/scheduling/places/chairs/add/",
                {"room": room.pk, "name": name, "is_active": "on", **supports},
            )
            self.assertRedirects(response, "/scheduling/places/", fetch_redirect_response=False)
        iv_chair = Chair.objects.get(clinic=clinic, name="Window chair")
        nasal_chair = Chair.objects.get(clinic=clinic, name="Corner chair")
        self.assertEqual((iv_chair.room, nasal_chair.room), (room, room))
        self.assertTrue(iv_chair.supports_iv and iv_chair.supports_intranasal)
        self.assertTrue(nasal_chair.supports_intranasal)
        self.assertFalse(
            nasal_chair.supports_iv or nasal_chair.supports_oral or nasal_chair.supports_im
        )
        places_page = self.client.get("/scheduling/places/")
        self.assertContains(places_page, "Window chair")
        self.assertContains(places_page, "Corner chair")

        week = {f"{day}_opens": "08:00" for day in WEEKDAYS} | {
            f"{day}_closes": "18:00" for day in WEEKDAYS
        }
        response = self.client.post("/scheduling/hours/", week)
        self.assertRedirects(response, "/scheduling/hours/", fetch_redirect_response=False)
        clinic.refresh_from_db()
        self.assertEqual(clinic.opening_hours, {day: ["08:00", "18:00"] for day in WEEKDAYS})
        self.assertEqual(
            len(
                self.events(
                    clinic_id=clinic.pk, action=Action.CREATE, object_type="scheduling.room"
                )
            ),
            1,
        )
        self.assertEqual(
            len(
                self.events(
                    clinic_id=clinic.pk, action=Action.CREATE, object_type="scheduling.chair"
                )
            ),
            2,
        )
        [hours_event] = self.events(
            clinic_id=clinic.pk, action=Action.UPDATE, object_type="clinics.clinic"
        )
        self.assertEqual(hours_event.detail["opening_hours"][1]["mon"], ["08:00", "18:00"])
        return iv_chair, nasal_chair

    def adopt_protocols(self, clinic: Clinic) -> None:
        page = self.client.get("/protocols/adopt/")
        self.assertEqual(page.status_code, 200)
        for key in ("esketamine_trd", "iv_ketamine_elektd"):
            with self.subTest(key=key):
                response = self.client.post(f"/protocols/adopt/{key}/", {"activate": "on"})
                version = ProtocolVersion.objects.get(clinic=clinic, key=key)
                self.assertRedirects(
                    response, f"/protocols/{version.pk}/", fetch_redirect_response=False
                )
                self.assertEqual(version.version, 1)
                self.assertEqual(version.status, "active")
                self.assertIsNotNone(version.shipped_version)
                self.assertTrue(
                    AuditEvent.objects.filter(
                        clinic_id=clinic.pk, object_id=str(version.pk), detail__adopted=True
                    ).exists()
                )
        routes = set(ProtocolVersion.objects.filter(clinic=clinic).values_list("route", flat=True))
        self.assertEqual(routes, {"intranasal", "iv"})

    def publish_program_consent(self, clinic: Clinic, admin: User) -> None:
        self.assertEqual(self.client.get("/intake/consents/documents/").status_code, 200)
        document = {
            "scope": "program",
            "route": "",
            "title": "Consent to ketamine-assisted treatment",
            "body": "What the treatment is, its risks and benefits, and your right to stop.",
            "effective_on": timezone.localdate().isoformat(),
        }
        response = self.client.post("/intake/consents/documents/", {**document, "step": "preview"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "your right to stop")
        self.assertFalse(ConsentDocument.objects.exists(), "a preview must not publish")
        response = self.client.post("/intake/consents/documents/", {**document, "step": "publish"})
        self.assertRedirects(response, "/intake/consents/documents/", fetch_redirect_response=False)
        published = ConsentDocument.objects.get()
        self.assertEqual((published.clinic, published.scope), (clinic, "program"))
        self.assertEqual((published.version, published.created_by), (1, admin))
        self.assertEqual(published.title, document["title"])
        self.assertTrue(
            AuditEvent.objects.filter(
                clinic_id=clinic.pk, action=Action.CREATE, object_id=str(published.pk)
            ).exists()
        )

    def nurse_books_a_first_iv_session(
        self,
        clinic: Clinic,
        nurse: User,
        client: Client,
        iv_chair: Chair,
        nasal_chair: Chair,
    ) -> None:
        response = client.post(
            "/patients/new/",
            {
                "first_name": "Morgan",
                "last_name": "Vale",
                "date_of_birth": "1985-04-12",
                "sex_at_birth": "female",
                "email": "morgan.vale@mail.example",
                "phone": "",
            },
        )
        patient = Patient.objects.get(clinic=clinic)
        self.assertRedirects(response, f"/patients/{patient.pk}/", fetch_redirect_response=False)
        self.assertEqual(patient.full_name, "Morgan Vale")
        self.assertTrue(
            AuditEvent.objects.filter(
                clinic_id=clinic.pk, patient_id=patient.pk, action=Action.CREATE
            ).exists()
        )

        start = next_weekday_at(10)
        booking = {
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "staff": nurse.pk,
            "room": iv_chair.room_id,
            "kind": "dosing",
            "route": "iv",
            "note": "",
            "past_reason": "",
        }
        book = f"/scheduling/patients/{patient.pk}/book/"
        response = client.post(book, {**booking, "chair": nasal_chair.pk})
        self.assertEqual(response.status_code, 400)
        self.assertIn("chair", response.context["form"].errors)
        self.assertIn("Corner chair", " ".join(response.context["form"].errors["chair"]))
        self.assertFalse(Appointment.objects.exists())

        response = client.post(book, {**booking, "chair": iv_chair.pk})
        self.assertRedirects(
            response,
            f"/scheduling/patients/{patient.pk}/",
            fetch_redirect_response=False,
        )
        appointment = Appointment.objects.get()
        self.assertEqual(
            (appointment.clinic, appointment.patient, appointment.chair, appointment.kind),
            (clinic, patient, iv_chair, "dosing"),
        )
        self.assertEqual(appointment.start, start)
        self.assertTrue(
            AuditEvent.objects.filter(
                clinic_id=clinic.pk,
                user=nurse,
                action=Action.CREATE,
                object_id=str(appointment.pk),
            ).exists()
        )
