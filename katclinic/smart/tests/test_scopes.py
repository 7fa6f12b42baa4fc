"""SMART scope grammar: v2 and v1 forms, what is granted, and what a refresh may ask."""

from __future__ import annotations

import unittest

from katclinic.smart.scopes import ScopeError, parse_scopes

SERVED = ["Observation", "Patient", "Questionnaire"]


class ScopeTest(unittest.TestCase):
    def test_v2_and_v1_scopes(self) -> None:
        scopes = parse_scopes(
            "launch/patient patient/Observation.rs user/Patient.r patient/*.read openid fhirUser",
            SERVED,
        )
        self.assertEqual(
            scopes.texts,
            [
                "patient/Observation.rs",
                "user/Patient.r",
                "patient/*.read",
                "launch/patient",
                "openid",
                "fhirUser",
            ],
        )
        self.assertTrue(scopes.openid and scopes.fhir_user and not scopes.launch)
        self.assertEqual(scopes.level_for("Observation", "s"), "patient")
        self.assertEqual(scopes.level_for("Patient", "r"), "user")
        self.assertEqual(scopes.level_for("Patient", "s"), "patient")  # from patient/*.read
        self.assertTrue(scopes.needs_patient)

    def test_writes_are_dropped_and_a_scope_with_nothing_to_read_is_not_granted(self) -> None:
        scopes = parse_scopes("patient/Observation.cruds patient/Patient.write user/*.c", SERVED)
        self.assertEqual(scopes.texts, ["patient/Observation.rs"])
        self.assertIsNone(scopes.level_for("Patient", "r"))

    def test_refused_scopes_name_themselves(self) -> None:
        for raw in [
            "patient/Unknown.rs",
            "system/*.rs",
            "patient/Observation.sr",
            "patient/observation.rs",
            "patient/Observation.rs?category=lab",
            "openid",
            "",
            "patient/Observation.",
        ]:
            with self.subTest(raw=raw), self.assertRaises(ScopeError):
                parse_scopes(raw, SERVED)

    def test_a_backend_service_holds_resource_scopes_only(self) -> None:
        scopes = parse_scopes(
            "system/*.rs launch openid fhirUser offline_access", SERVED, ("system",)
        )
        self.assertEqual(scopes.texts, ["system/*.rs"])

    def test_identity_and_launch_scopes_are_only_narrowed(self) -> None:
        granted = parse_scopes("launch patient/*.rs openid", SERVED)
        self.assertTrue(parse_scopes("patient/*.rs openid", SERVED).within(granted))
        self.assertFalse(parse_scopes("patient/*.rs openid fhirUser", SERVED).within(granted))
        self.assertFalse(parse_scopes("patient/*.rs launch/patient", SERVED).within(granted))

    def test_within_only_narrows(self) -> None:
        granted = parse_scopes("patient/*.rs offline_access", SERVED)
        self.assertTrue(parse_scopes("patient/Observation.r", SERVED).within(granted))
        self.assertTrue(parse_scopes("patient/*.s offline_access", SERVED).within(granted))
        self.assertFalse(parse_scopes("user/Observation.r", SERVED).within(granted))
        narrow = parse_scopes("patient/Observation.rs", SERVED)
        self.assertFalse(parse_scopes("patient/*.r", SERVED).within(narrow))
        self.assertFalse(
            parse_scopes("patient/Observation.rs offline_access", SERVED).within(narrow)
        )
