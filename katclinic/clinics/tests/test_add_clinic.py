"""An organization administrator adds a clinic and copies another clinic's settings."""

from __future__ import annotations

from typing import Any

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics import registry
from katclinic.clinics.models import (
    Clinic,
    ClinicSetting,
    ClinicSettingChange,
    Organization,
    OrganizationAdmin,
    StaffMembership,
)
from katclinic.clinics.permissions import Role
from katclinic.dosing.clinic_settings import PRE_SYSTOLIC_MAX
from katclinic.protocols.models import ProtocolVersion
from katclinic.testing import ClinicTestCase

KEY = PRE_SYSTOLIC_MAX.key
VALID_NPI = "1234567893"


class AddClinicTest(ClinicTestCase):
    def setUp(self) -> None:
        OrganizationAdmin.objects.create(organization=self.org, user=self.adam)

    def form(self, **overrides: Any) -> dict[str, Any]:
        data = {
            "name": "East",
            "timezone": "America/Chicago",
            "address": "1 Main St",
            "phone": "555-0199",
            "npi": VALID_NPI,
            "tax_id": "12-3456789",
            "crisis_resources": "Call or text 988",
        }
        return {**data, **overrides}

    def test_an_organization_admin_adds_a_clinic_copying_settings_and_protocols(self) -> None:
        registry.set_setting(clinic=self.clinic, key=KEY, raw="150", by=self.adam, reason="MD")
        self.login(self.adam)
        response = self.client.post(
            "/clinic/organization/clinics/new/",
            self.form(copy_from=self.clinic.pk, adopt_protocols="on"),
        )
        self.assertEqual(response.status_code, 302)
        east = Clinic.objects.get(name="East")
        self.assertEqual(east.organization, self.org)
        self.assertEqual(
            (east.timezone, east.npi, east.tax_id, east.crisis_resources),
            ("America/Chicago", VALID_NPI, "12-3456789", "Call or text 988"),
        )
        self.assertTrue(
            StaffMembership.objects.filter(clinic=east, user=self.adam, role=Role.ADMIN).exists()
        )
        self.assertEqual(PRE_SYSTOLIC_MAX.value(east), 150)
        change = ClinicSettingChange.objects.get(clinic=east, key=KEY)
        self.assertIn("Copied from North", change.reason)
        self.assertTrue(ProtocolVersion.objects.filter(clinic=east).exists())
        event = AuditEvent.objects.get(
            action=Action.CREATE, object_type="clinic", clinic_id=east.pk
        )
        self.assertEqual(event.detail["copied_from"], self.clinic.pk)
        self.assertEqual(event.detail["settings_copied"], [KEY])
        # The source clinic is unchanged.
        self.assertEqual(ClinicSetting.objects.filter(clinic=self.clinic).count(), 1)

    def test_the_settings_page_links_here_only_for_organization_admins(self) -> None:
        self.login(self.adam)
        self.assertContains(
            self.client.get("/clinic/settings/"), "/clinic/organization/clinics/new/"
        )
        OrganizationAdmin.objects.all().delete()
        self.assertNotContains(
            self.client.get("/clinic/settings/"), "/clinic/organization/clinics/new/"
        )

    def test_without_copying_the_new_clinic_starts_from_the_defaults(self) -> None:
        registry.set_setting(clinic=self.clinic, key=KEY, raw="150", by=self.adam, reason="MD")
        self.login(self.adam)
        self.client.post("/clinic/organization/clinics/new/", self.form())
        east = Clinic.objects.get(name="East")
        self.assertEqual(PRE_SYSTOLIC_MAX.value(east), PRE_SYSTOLIC_MAX.default)
        self.assertFalse(ProtocolVersion.objects.filter(clinic=east).exists())

    def test_a_clinic_admin_who_does_not_administer_the_organization_is_refused(self) -> None:
        OrganizationAdmin.objects.all().delete()
        self.login(self.adam)
        page = self.client.get("/clinic/organization/clinics/new/")
        self.assertContains(page, "Only an administrator of the whole organization")
        response = self.client.post("/clinic/organization/clinics/new/", self.form())
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Clinic.objects.filter(name="East").exists())

    def test_other_roles_are_refused(self) -> None:
        for user in (self.paula, self.nick, self.alice, self.tara):
            self.login(user)
            response = self.client.post("/clinic/organization/clinics/new/", self.form())
            self.assertEqual(response.status_code, 403)
        self.assertFalse(Clinic.objects.filter(name="East").exists())

    def test_bad_input_names_the_field_and_stores_nothing(self) -> None:
        elsewhere = Organization.objects.create(name="Elsewhere")
        foreign = Clinic.objects.create(organization=elsewhere, name="Far", slug="far")
        self.login(self.adam)
        cases: list[tuple[dict[str, Any], str]] = [
            ({"name": ""}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"npi": "1234567890"}, "npi"),
            ({"npi": "12345678901"}, "npi"),
            ({"phone": "5" * 41}, "phone"),
            ({"tax_id": "9" * 21}, "tax_id"),
            ({"copy_from": foreign.pk}, "copy_from"),
            ({"copy_from": "abc"}, "copy_from"),
        ]
        for overrides, field in cases:
            with self.subTest(field=field, data=overrides):
                response = self.client.post(
                    "/clinic/organization/clinics/new/", self.form(**overrides)
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
        self.assertEqual(Clinic.objects.count(), 3)
        self.assertFalse(AuditEvent.objects.filter(object_type="clinic", action=Action.CREATE))

    def test_the_first_run_makes_the_first_administrator_an_organization_admin(self) -> None:
        from katclinic.clinics.setup import SetupDetails, _create_admin

        membership = _create_admin(
            details=SetupDetails(
                organization="Test Health",
                clinic="North",
                timezone="America/New_York",
                admin_email="first@example.org",
                admin_name="First",
                admin_password="violet lantern over quiet hills",
            ),
            clinic=self.clinic,
            ip=None,
        )
        self.assertTrue(
            OrganizationAdmin.objects.filter(organization=self.org, user=membership.user).exists()
        )
