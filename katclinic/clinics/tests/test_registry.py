"""Typed clinic settings: each setting is a declared constant whose value has its own type."""

from __future__ import annotations

from decimal import Decimal

from django.test import SimpleTestCase

from katclinic.clinics import registry
from katclinic.clinics.models import ClinicSetting, ClinicSettingChange
from katclinic.clinics.registry import (
    BoolSetting,
    DecimalSetting,
    IntSetting,
    TextSetting,
    UnknownSetting,
    all_settings,
    set_setting,
    setting_named,
)
from katclinic.dosing.clinic_settings import COUNT_TOLERANCE_MG, PRE_SYSTOLIC_MAX
from katclinic.intake.clinic_settings import CONSENT_REQUIRES_WITNESS
from katclinic.measures.safety import crisis_phrase_list
from katclinic.messaging.clinic_settings import ATTACHMENT_MAX_MB, REPLY_TIME
from katclinic.testing import ClinicTestCase

TYPES = {IntSetting: int, DecimalSetting: Decimal, BoolSetting: bool, TextSetting: str}


class DeclarationTest(SimpleTestCase):
    def test_every_setting_has_a_label_a_source_an_area_and_a_default_of_its_type(self) -> None:
        self.assertGreater(len(registry.REGISTRY), 80)
        for key, setting in registry.REGISTRY.items():
            with self.subTest(key=key):
                self.assertTrue(setting.label.strip())
                self.assertTrue(setting.source.strip())
                self.assertIn(setting.area, registry.AREAS)
                self.assertIs(type(setting.default), TYPES[type(setting)])

    def test_a_key_named_by_data_must_be_a_setting_of_the_kind_asked_for(self) -> None:
        self.assertIs(setting_named(PRE_SYSTOLIC_MAX.key, IntSetting), PRE_SYSTOLIC_MAX)
        with self.assertRaisesMessage(UnknownSetting, "'dosing_pre_systolic' is not a clinic"):
            setting_named("dosing_pre_systolic", IntSetting)
        with self.assertRaisesMessage(UnknownSetting, "of kind int"):
            setting_named(REPLY_TIME.key, IntSetting)


class AccessorTest(ClinicTestCase):
    def store(self, key: str, value: object) -> None:
        ClinicSetting.objects.create(clinic=self.clinic, key=key, value=value, changed_by=self.adam)

    def test_defaults_come_back_in_the_setting_type(self) -> None:
        self.assertEqual(PRE_SYSTOLIC_MAX.value(self.clinic), 140)
        self.assertEqual(COUNT_TOLERANCE_MG.value(self.clinic), Decimal("0"))
        self.assertIsInstance(COUNT_TOLERANCE_MG.value(self.clinic), Decimal)
        self.assertIs(CONSENT_REQUIRES_WITNESS.value(self.clinic), False)
        self.assertEqual(REPLY_TIME.value(self.clinic.pk), "within 2 business days")

    def test_stored_values_come_back_in_the_setting_type_whatever_their_json_form(self) -> None:
        self.store(ATTACHMENT_MAX_MB.key, "5")
        self.store(COUNT_TOLERANCE_MG.key, "0.5")
        self.store(CONSENT_REQUIRES_WITNESS.key, "true")
        self.assertEqual(ATTACHMENT_MAX_MB.value(self.clinic), 5)
        self.assertIsInstance(ATTACHMENT_MAX_MB.value(self.clinic.pk), int)
        self.assertEqual(COUNT_TOLERANCE_MG.value(self.clinic), Decimal("0.5"))
        self.assertIs(CONSENT_REQUIRES_WITNESS.value(self.clinic), True)
        # Another clinic's value is not this clinic's.
        self.assertEqual(ATTACHMENT_MAX_MB.value(self.other_clinic), 10)

    def test_all_settings_reads_every_value_in_one_query(self) -> None:
        self.store(PRE_SYSTOLIC_MAX.key, 150)
        self.store(COUNT_TOLERANCE_MG.key, "1.5")
        with self.assertNumQueries(1):
            values = all_settings(self.clinic)
        with self.assertNumQueries(0):
            self.assertEqual(values[PRE_SYSTOLIC_MAX], 150)
            self.assertEqual(values[COUNT_TOLERANCE_MG], Decimal("1.5"))
            self.assertEqual(values[ATTACHMENT_MAX_MB], 10)
            self.assertIs(values[CONSENT_REQUIRES_WITNESS], False)

    def test_all_settings_reads_what_the_orm_reads_for_that_clinic_only(self) -> None:
        # Stored values of every JSON form; another clinic's own value is not read.
        self.store(PRE_SYSTOLIC_MAX.key, 150)
        self.store(COUNT_TOLERANCE_MG.key, "1.5")
        self.store(CONSENT_REQUIRES_WITNESS.key, True)
        self.store(REPLY_TIME.key, "within a day, ünïcode and 'quotes'")
        self.store("not.a.declared.setting", {"nested": [1, None, "x"]})
        ClinicSetting.objects.create(
            clinic=self.other_clinic, key=ATTACHMENT_MAX_MB.key, value=3, changed_by=self.adam
        )
        for clinic in (self.clinic, self.clinic.pk, self.other_clinic):
            orm = ClinicSetting.objects.filter(clinic=clinic).values_list("key", "value")
            self.assertEqual(all_settings(clinic)._stored, dict(orm))
        self.assertEqual(all_settings(self.clinic)[ATTACHMENT_MAX_MB], 10)
        self.assertEqual(all_settings(self.other_clinic)[ATTACHMENT_MAX_MB], 3)

    def test_set_setting_stores_the_parsed_value_and_refuses_bad_input_storing_nothing(
        self,
    ) -> None:
        for setting, raw, message in (
            (PRE_SYSTOLIC_MAX, "150.5", "must be a whole number"),
            (PRE_SYSTOLIC_MAX, "999", "must be at most 250 mmHg"),
            (COUNT_TOLERANCE_MG, "NaN", "must be a number"),
            (REPLY_TIME, "x" * 2001, "is longer than 2000 characters"),
        ):
            with self.subTest(key=setting.key, raw=raw[:10]):
                with self.assertRaisesMessage(ValueError, message):
                    set_setting(
                        clinic=self.clinic, key=setting.key, raw=raw, by=self.adam, reason="r"
                    )
        self.assertFalse(ClinicSetting.objects.exists())
        self.assertFalse(ClinicSettingChange.objects.exists())
        set_setting(
            clinic=self.clinic, key=COUNT_TOLERANCE_MG.key, raw="0.25", by=self.adam, reason="r"
        )
        self.assertEqual(COUNT_TOLERANCE_MG.value(self.clinic), Decimal("0.25"))
        self.assertEqual(ClinicSetting.objects.get().value, "0.25")

    def test_a_clinic_on_the_defaults_shows_nothing_changed_on_the_settings_page(self) -> None:
        self.login(self.adam)
        response = self.client.get("/clinic/settings/area/dosing/")
        self.assertEqual(response.status_code, 200)
        self.assertIn(
            COUNT_TOLERANCE_MG.key, [row["definition"].key for row in response.context["rows"]]
        )
        self.assertEqual(
            [r["definition"].key for r in response.context["rows"] if r["changed"]], []
        )
        self.assertNotContains(self.client.get("/clinic/settings/"), "changed from the default")


class CrisisPhrasesShownTest(ClinicTestCase):
    def test_the_measures_settings_show_the_crisis_phrases_with_their_cited_source(self) -> None:
        listed = crisis_phrase_list()
        self.assertIn("https://doi.org/10.1176/appi.ajp.2011.10111704", listed.source)
        self.assertIn("own selection", listed.source)
        self.login(self.adam)
        page = self.client.get("/clinic/settings/area/measures/")
        self.assertContains(page, "Crisis words in questionnaire answers")
        self.assertContains(page, "kill myself")
        self.assertContains(page, "https://doi.org/10.1176/appi.ajp.2011.10111704")
        self.assertNotContains(self.client.get("/clinic/settings/area/dosing/"), "crisis-words")
