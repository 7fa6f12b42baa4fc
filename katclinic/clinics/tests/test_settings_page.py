"""The clinical settings pages: grouped by area, sourced, reasoned changes with history."""

from __future__ import annotations

from django.db import DatabaseError, transaction
from django.test import SimpleTestCase

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics import registry
from katclinic.clinics.models import ClinicSetting, ClinicSettingChange
from katclinic.dosing.clinic_settings import PRE_SYSTOLIC_MAX
from katclinic.intake.clinic_settings import CONSENT_REQUIRES_WITNESS
from katclinic.testing import ClinicTestCase

KEY = PRE_SYSTOLIC_MAX.key


def slug(key: str) -> str:
    return registry.REGISTRY[key].slug


class RegistryTest(SimpleTestCase):
    def test_every_setting_has_a_label_a_known_area_and_a_slug_that_is_not_its_key(self) -> None:
        slugs = set()
        for key, d in registry.REGISTRY.items():
            self.assertTrue(d.label.strip(), key)
            self.assertIn(d.area, registry.AREAS, key)
            self.assertNotIn(key, d.slug)
            slugs.add(d.slug)
        self.assertEqual(len(slugs), len(registry.REGISTRY))

    def test_areas_hold_the_settings_of_their_subject(self) -> None:
        area = {k: d.area for k, d in registry.REGISTRY.items()}
        self.assertEqual(area["dosing_pre_systolic_max"], "dosing")
        self.assertEqual(area["dosing_stop_spo2"], "monitoring")
        self.assertEqual(area["scheduling_slot_minutes"], "scheduling")
        self.assertEqual(area["athome.checkin_valid_minutes"], "athome")
        self.assertEqual(area["intake_trd_min_weeks"], "intake")
        self.assertEqual(area["portal_sign_in_link_minutes"], "security")
        self.assertEqual(area["security.second_factor_reset_hours"], "security")
        self.assertEqual(area["measures.qids_item12_alert_at"], "measures")
        self.assertEqual(area["billing.esketamine_buy_and_bill"], "billing")
        self.assertEqual(area["insurance.authorization_soft_stop"], "billing")
        self.assertNotIn("other", set(area.values()))


class SettingsPageTest(ClinicTestCase):
    def test_no_settings_key_reaches_any_settings_page(self) -> None:
        self.login(self.adam)
        registry.set_setting(clinic=self.clinic, key=KEY, raw="150", by=self.adam, reason="MD")
        pages = ["/clinic/settings/"] + [f"/clinic/settings/area/{a}/" for a in registry.AREAS]
        for path in pages:
            response = self.client.get(path)
            self.assertEqual(response.status_code, 200, path)
            html = response.content.decode()
            leaked = [key for key in registry.REGISTRY if key in html]
            self.assertEqual(leaked, [], path)

    def test_the_index_lists_areas_and_each_area_shows_label_default_source_and_verification(
        self,
    ) -> None:
        self.login(self.adam)
        index = self.client.get("/clinic/settings/")
        for area in registry.AREAS.values():
            if any(d.area == area.slug for d in registry.REGISTRY.values()):
                self.assertContains(index, area.title)
        page = self.client.get("/clinic/settings/area/dosing/")
        d = registry.REGISTRY[KEY]
        self.assertContains(page, d.label)
        self.assertContains(page, "Source verified")
        self.assertContains(page, "not verified")
        self.assertContains(page, "https://doi.org/10.1001/jamapsychiatry.2016.4513")
        self.assertContains(
            page, "<details", count=sum(1 for x in registry.REGISTRY.values() if x.area == "dosing")
        )
        # Settings of other areas are on their own pages.
        self.assertNotContains(page, registry.REGISTRY["dosing_stop_spo2"].label)

    def test_a_change_with_a_reason_is_stored_audited_and_shown_in_history(self) -> None:
        self.login(self.adam)
        response = self.client.post(
            "/clinic/settings/area/dosing/",
            {"setting": slug(KEY), "value": "150", "reason": "Medical director's policy"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(PRE_SYSTOLIC_MAX.value(self.clinic), 150)
        change = ClinicSettingChange.objects.get(clinic=self.clinic, key=KEY)
        self.assertIsNone(change.old_value)
        self.assertEqual(change.new_value, 150)
        self.assertEqual(change.changed_by, self.adam)
        self.assertEqual(change.reason, "Medical director's policy")
        self.client.post(
            "/clinic/settings/area/dosing/",
            {"setting": slug(KEY), "value": "145", "reason": "Back down"},
        )
        second = ClinicSettingChange.objects.filter(key=KEY).order_by("-pk").first()
        assert second is not None
        self.assertEqual((second.old_value, second.new_value), (150, 145))
        events = AuditEvent.objects.filter(action=Action.UPDATE, object_type="clinic.setting")
        self.assertEqual(events.count(), 2)
        page = self.client.get("/clinic/settings/area/dosing/")
        self.assertContains(page, "Medical director&#x27;s policy")
        self.assertContains(page, "150 mmHg")
        self.assertContains(page, "145 mmHg")
        self.assertContains(page, "Adam")
        self.assertContains(page, self.clinic.timezone)

    def test_history_is_append_only(self) -> None:
        registry.set_setting(clinic=self.clinic, key=KEY, raw="150", by=self.adam, reason="MD")
        change = ClinicSettingChange.objects.get()
        change.reason = "rewritten"
        with self.assertRaises(DatabaseError), transaction.atomic():
            change.save()
        with self.assertRaises(DatabaseError), transaction.atomic():
            change.delete()
        self.assertEqual(ClinicSettingChange.objects.get().reason, "MD")

    def test_bad_input_names_the_field_and_changes_nothing(self) -> None:
        self.login(self.adam)
        cases = [
            ({"setting": slug(KEY), "value": "150", "reason": ""}, "Give a reason"),
            ({"setting": slug(KEY), "value": "150", "reason": "x" * 1001}, "under 1000"),
            ({"setting": slug(KEY), "value": "150", "reason": "why\x00"}, "cannot be stored"),
            ({"setting": slug(KEY), "value": "abc", "reason": "why"}, "must be a number"),
            ({"setting": slug(KEY), "value": "9999", "reason": "why"}, "must be at most"),
            ({"setting": slug(KEY), "value": "12.5", "reason": "why"}, "whole number"),
            ({"setting": "no-such-setting", "value": "1", "reason": "why"}, "Choose a setting"),
            # A setting of another area is not changed from this area's page.
            (
                {"setting": slug("dosing_stop_spo2"), "value": "90", "reason": "why"},
                "Choose a setting",
            ),
            (
                {
                    "setting": slug("intake_consent_requires_witness"),
                    "value": "maybe",
                    "reason": "w",
                },
                "choose yes or no",
            ),
        ]
        for data, message in cases:
            with self.subTest(data=data):
                area = registry.REGISTRY.get("intake_consent_requires_witness")
                path = "/clinic/settings/area/dosing/"
                if area and data["setting"] == area.slug:
                    path = "/clinic/settings/area/intake/"
                response = self.client.post(path, data)
                self.assertContains(response, message, status_code=400)
        self.assertFalse(ClinicSetting.objects.exists())
        self.assertFalse(ClinicSettingChange.objects.exists())

    def test_a_yes_no_setting_is_changed_from_a_choice(self) -> None:
        self.login(self.adam)
        key = CONSENT_REQUIRES_WITNESS.key
        before = CONSENT_REQUIRES_WITNESS.value(self.clinic)
        response = self.client.post(
            "/clinic/settings/area/intake/",
            {"setting": slug(key), "value": "false" if before else "true", "reason": "policy"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(CONSENT_REQUIRES_WITNESS.value(self.clinic), not before)

    def test_an_unknown_area_is_not_found(self) -> None:
        self.login(self.adam)
        response = self.client.get("/clinic/settings/area/nowhere/")
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "Open a setting to see its source", status_code=404)

    def test_staff_other_than_admins_cannot_change_settings(self) -> None:
        for user in (self.paula, self.nick, self.alice, self.tara):
            self.login(user)
            response = self.client.post(
                "/clinic/settings/area/dosing/",
                {"setting": slug(KEY), "value": "150", "reason": "mine"},
            )
            self.assertEqual(response.status_code, 403)
        self.assertFalse(ClinicSetting.objects.exists())
        self.assertFalse(ClinicSettingChange.objects.exists())
