"""An instrument's flag rule may name the clinic setting behind its threshold; the name is
checked when the definition loads, so a misspelt one is refused there and not at a submission."""

from __future__ import annotations

from katclinic.clinics.registry import set_setting
from katclinic.measures import catalogue, safety
from katclinic.measures.clinic_settings import QIDS_ITEM12_ALERT_AT
from katclinic.measures.models import Instrument
from katclinic.measures.scoring import DefinitionError, load_builtin_instruments, load_definition
from katclinic.testing import ClinicTestCase


def qids_naming(setting: str, version: str = "clinic-1") -> dict[str, object]:
    data = load_builtin_instruments()["qids_sr16"].model_dump(mode="json", exclude_none=True)
    data["version"] = version
    for rule in data["flags"]:
        if "setting" in rule:
            rule["setting"] = setting
    return data


class FlagSettingTest(ClinicTestCase):
    def test_every_shipped_setting_name_is_a_whole_number_setting(self) -> None:
        for definition in load_builtin_instruments().values():
            self.assertIs(catalogue.check_settings(definition), definition)

    def test_a_definition_naming_an_unknown_setting_is_refused_and_not_stored(self) -> None:
        before = Instrument.objects.count()
        for name in ("measures.qids_item12_alert", "measures.medical_director_email"):
            with self.subTest(name=name):
                definition = load_definition(qids_naming(name))
                with self.assertRaisesMessage(DefinitionError, "flags[0].setting"):
                    catalogue.add_definition(definition, self.clinic)
        self.assertEqual(Instrument.objects.count(), before)

    def test_a_stored_row_naming_an_unknown_setting_fails_when_it_is_parsed(self) -> None:
        row = Instrument.objects.create(
            key="qids_sr16",
            version="clinic-2",
            clinic=self.clinic,
            title="QIDS",
            kind="self_report",
            licence="x",
            definition=qids_naming("no_such_setting", "clinic-2"),
        )
        with self.assertRaisesMessage(DefinitionError, "'no_such_setting' is not a clinic setting"):
            catalogue.definition_of(row)

    def test_the_clinic_value_of_the_named_setting_is_the_flag_threshold(self) -> None:
        definition = load_builtin_instruments()["qids_sr16"]
        [code] = [rule.code for rule in definition.flags if rule.setting]
        self.assertEqual(
            safety.flag_values(clinic_id=self.clinic.pk, definition=definition), {code: 1}
        )
        set_setting(
            clinic=self.clinic, key=QIDS_ITEM12_ALERT_AT.key, raw="2", by=self.adam, reason="MD"
        )
        self.assertEqual(
            safety.flag_values(clinic_id=self.clinic.pk, definition=definition), {code: 2}
        )
