import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.test import SimpleTestCase, override_settings
from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.protocols.diff import describe_changes
from katclinic.protocols.models import Plan, ProtocolVersion
from katclinic.protocols.schema import load_library, load_protocol
from katclinic.protocols.tests import fixtures
from katclinic.testing import ClinicTestCase

IV = "iv_ketamine_elektd"


def newer_iv(**overrides: Any) -> dict[str, Any]:
    """Shipped IV protocol as a version 2 with a lower hard limit and a 5-minute check."""
    data = load_library()[IV].model_dump(mode="json", exclude_none=True)
    data["version"] = 2
    data["limits"]["hard_max"]["value"] = "0.8"
    data["spacing"]["min_interval_hours"]["value"] = 72
    data["monitoring"]["checkpoints"][1]["repeat_every_minutes"] = 5
    data.update(overrides)
    return data


class DiffWordsTest(SimpleTestCase):
    def test_dose_and_limit_changes_are_listed_in_words_with_units(self) -> None:
        old = load_library()[IV]
        data = newer_iv()
        data["starting_dose"]["dose"] = "0.4"
        data["dose_rule"]["mg_per_kg"] = "0.4"
        lines = [c.text for c in describe_changes(old, load_protocol(data))]
        self.assertIn("Starting dose: from 0.5 mg/kg to 0.4 mg/kg", lines)
        self.assertIn("Dose per kilogram: from 0.5 mg/kg to 0.4 mg/kg", lines)
        self.assertIn("Highest dose allowed (hard limit): from 1 mg/kg to 0.8 mg/kg", lines)
        self.assertIn("Minimum time between doses: from 48 hours to 72 hours", lines)
        self.assertIn(
            "Checkpoint “during infusion”: was from 10 min every 10 min until 40 min; "
            "now from 10 min every 5 min until 40 min",
            lines,
        )
        text = " ".join(lines)
        for key in ("hard_max", "min_interval_hours", "mg_per_kg", "{", "checkpoints"):
            self.assertNotIn(key, text)

    def test_the_same_protocol_has_no_changes(self) -> None:
        protocol = load_library()[IV]
        self.assertEqual(describe_changes(protocol, protocol), [])


class ShippedFolder:
    """A copy of the shipped library with the IV protocol replaced by `data`."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        folder = Path(self.tmp.name)
        for key, protocol in load_library().items():
            content = data if key == IV else protocol.model_dump(mode="json", exclude_none=True)
            (folder / f"{key}.json").write_text(json.dumps(content), encoding="utf-8")
        self.settings = override_settings(KATCLINIC_PROTOCOL_LIBRARY_DIR=str(folder))

    def __enter__(self) -> None:
        self.settings.enable()

    def __exit__(self, *exc: object) -> None:
        self.settings.disable()
        self.tmp.cleanup()


class AdoptTest(ClinicTestCase):
    def test_an_admin_adopts_a_shipped_protocol_and_the_event_names_her(self) -> None:
        self.login(self.adam)
        page = self.client.get(reverse("protocols:adoption"))
        self.assertContains(page, "not adopted")
        response = self.client.post(
            reverse("protocols:adopt", args=["esketamine_trd"]), {"activate": "on"}
        )
        row = ProtocolVersion.objects.get(clinic=self.clinic, key="esketamine_trd")
        self.assertRedirects(response, reverse("protocols:detail", args=[row.pk]))
        self.assertEqual((row.version, row.status, row.shipped_version), (1, "active", 1))
        self.assertEqual(row.created_by, self.adam)
        event = AuditEvent.objects.get(object_id=str(row.pk), action="create")
        self.assertEqual(event.user, self.adam)
        self.assertTrue(event.detail["adopted"])
        self.assertFalse(ProtocolVersion.objects.filter(clinic=self.other_clinic).exists())

    def test_the_library_links_admins_to_adoption(self) -> None:
        link = f'href="{reverse("protocols:adoption")}"'
        self.login(self.adam)
        self.assertContains(self.client.get(reverse("protocols:library")), link)
        self.login(self.nick)
        self.assertNotContains(self.client.get(reverse("protocols:library")), link)

    def test_adopting_what_is_already_adopted_is_refused_and_stores_nothing(self) -> None:
        fixtures.protocol(self)
        before = ProtocolVersion.objects.count()
        self.login(self.adam)
        response = self.client.post(reverse("protocols:adopt", args=[IV]), follow=True)
        self.assertContains(response, "already adopted shipped version 1")
        self.assertEqual(ProtocolVersion.objects.count(), before)
        unknown = self.client.post(reverse("protocols:adopt", args=["no_such"]), follow=True)
        self.assertContains(unknown, "no shipped protocol by that name")
        self.assertEqual(ProtocolVersion.objects.count(), before)

    def test_a_newer_shipped_version_is_shown_with_its_changes_and_adopted_beside_the_old(
        self,
    ) -> None:
        draft = fixtures.draft(self)  # a plan on clinic version 1
        old = draft.plan.protocol_version
        old_data = json.dumps(old.data, sort_keys=True)
        self.login(self.adam)
        with ShippedFolder(newer_iv()):
            page = self.client.get(reverse("protocols:adoption"))
            self.assertContains(page, "newer shipped version available")
            self.assertContains(
                page, "Highest dose allowed (hard limit): from 1 mg/kg to 0.8 mg/kg"
            )
            self.assertContains(page, "Minimum time between doses: from 48 hours to 72 hours")
            self.assertNotContains(page, "hard_max")
            self.client.post(reverse("protocols:adopt", args=[IV]), {"activate": "on"})
            again = self.client.get(reverse("protocols:adoption"))
        self.assertNotContains(again, "newer shipped version available")
        new = ProtocolVersion.objects.get(clinic=self.clinic, key=IV, status="active")
        self.assertEqual((new.version, new.shipped_version), (2, 2))
        self.assertEqual(new.protocol.limits.hard_max.value, Decimal("0.8"))
        old.refresh_from_db()
        self.assertEqual(json.dumps(old.data, sort_keys=True), old_data)
        self.assertEqual(old.status, "retired")
        self.assertEqual(Plan.objects.get(pk=draft.plan_id).protocol_version_id, old.pk)

    def test_a_version_in_use_cannot_have_its_data_changed(self) -> None:
        old = fixtures.draft(self).plan.protocol_version
        with self.assertRaises(DatabaseError), transaction.atomic():
            ProtocolVersion.objects.filter(pk=old.pk).update(data={"changed": True})
        old.refresh_from_db()
        self.assertEqual(old.data["key"], IV)

    def test_only_admins_reach_adoption_and_a_refused_adopt_stores_nothing(self) -> None:
        for user in (self.alice, self.paula, self.nick, self.tara):
            self.login(user)
            self.assertEqual(self.client.get(reverse("protocols:adoption")).status_code, 403)
            response = self.client.post(reverse("protocols:adopt", args=["esketamine_trd"]))
            self.assertEqual(response.status_code, 403)
        self.assertFalse(ProtocolVersion.objects.filter(key="esketamine_trd").exists())


def form_data(row: ProtocolVersion, **changes: Any) -> dict[str, Any]:
    p = row.protocol
    data: dict[str, Any] = {
        "title": p.title,
        "starting_dose": str(p.starting_dose.dose),
        "mg_per_kg": str(p.dose_rule.mg_per_kg or ""),
        "duration_minutes": str(p.dose_rule.duration_minutes or ""),
        "step_mg": str(p.dose_rule.step_mg or ""),
        "hard_min": str(p.limits.hard_min.value),
        "hard_max": str(p.limits.hard_max.value),
        "soft_min": str(p.limits.soft_min.value) if p.limits.soft_min else "",
        "soft_max": str(p.limits.soft_max.value) if p.limits.soft_max else "",
        "absolute_max_mg": "",
        "min_interval_hours": str(p.spacing.min_interval_hours.value),
        "max_doses_per_week": str(p.spacing.max_doses_per_week.value),
        "min_observation_minutes": str(p.monitoring.min_observation_minutes.value),
        "note": "Medical director lowered the ceiling",
        "activate": "on",
        "checkpoints-TOTAL_FORMS": str(len(p.monitoring.checkpoints) + 1),
        "checkpoints-INITIAL_FORMS": str(len(p.monitoring.checkpoints)),
        "checkpoints-MIN_NUM_FORMS": "0",
        "checkpoints-MAX_NUM_FORMS": "40",
    }
    for i, c in enumerate(p.monitoring.checkpoints):
        data[f"checkpoints-{i}-label"] = c.label
        data[f"checkpoints-{i}-minutes_after_start"] = str(c.minutes_after_start)
        data[f"checkpoints-{i}-measures"] = list(c.measures)
        data[f"checkpoints-{i}-repeat_every_minutes"] = str(c.repeat_every_minutes or "")
        data[f"checkpoints-{i}-repeat_until_minutes"] = str(c.repeat_until_minutes or "")
    data.update(changes)
    return data


class FormVersionTest(ClinicTestCase):
    def post(self, row: ProtocolVersion, user: Any = None, **changes: Any) -> Any:
        self.login(user or self.adam)
        return self.client.post(
            reverse("protocols:edit_fields", args=[row.pk]), form_data(row, **changes)
        )

    def test_the_form_shows_the_base_version_numbers(self) -> None:
        row = fixtures.protocol(self)
        self.login(self.adam)
        page = self.client.get(reverse("protocols:edit_fields", args=[row.pk]))
        self.assertContains(page, "Highest dose allowed, hard limit (mg/kg)")
        self.assertContains(page, 'value="1.0"')
        self.assertContains(page, "during infusion")

    def test_an_edited_limit_and_a_new_checkpoint_become_the_next_version(self) -> None:
        row = fixtures.draft(self).plan.protocol_version
        old_data = json.dumps(row.data, sort_keys=True)
        extra = len(row.protocol.monitoring.checkpoints)
        response = self.post(
            row,
            hard_max="0.8",
            **{
                f"checkpoints-{extra}-label": "next morning call",
                f"checkpoints-{extra}-minutes_after_start": "180",
                f"checkpoints-{extra}-measures": ["bp"],
            },
        )
        new = ProtocolVersion.objects.get(clinic=self.clinic, key=IV, version=row.version + 1)
        self.assertRedirects(response, reverse("protocols:detail", args=[new.pk]))
        p = new.protocol
        self.assertEqual(str(p.limits.hard_max.value), "0.8")
        self.assertEqual(p.limits.hard_max.source, "clinic_choice")
        self.assertEqual(p.limits.hard_min.source, row.protocol.limits.hard_min.source)
        self.assertEqual(p.monitoring.checkpoints[-1].label, "next morning call")
        self.assertIn("Medical director lowered the ceiling", p.source("clinic_choice").citation)
        self.assertEqual(new.status, "active")
        row.refresh_from_db()
        self.assertEqual(json.dumps(row.data, sort_keys=True), old_data)
        event = AuditEvent.objects.get(object_id=str(new.pk), action="create")
        self.assertEqual((event.user, event.detail["based_on_version"]), (self.adam, row.version))
        detail = self.client.get(reverse("protocols:detail", args=[new.pk]))
        self.assertContains(detail, "Highest dose allowed (hard limit): from 1 mg/kg to 0.8 mg/kg")
        self.assertContains(detail, "New checkpoint “next morning call”")

    def assert_refused(self, field: str, message: str, **changes: Any) -> None:
        row = fixtures.protocol(self)
        before = ProtocolVersion.objects.count()
        response = self.post(row, **changes)
        self.assertEqual(response.status_code, 400, field)
        self.assertIn(field, response.context["form"].errors | _formset_errors(response), field)
        self.assertContains(response, message, status_code=400)
        self.assertEqual(ProtocolVersion.objects.count(), before)

    def test_bad_input_names_the_field_and_stores_nothing(self) -> None:
        self.assert_refused("hard_max", "Enter a number", hard_max="abc")
        self.assert_refused("hard_max", "Must not be below", hard_max="0.05")
        self.assert_refused("soft_max", "within the hard limits", soft_max="2")
        self.assert_refused("starting_dose", "within the hard limits", starting_dose="1.5")
        self.assert_refused("starting_dose", "greater than or equal", starting_dose="-1")
        self.assert_refused("min_interval_hours", "Enter a whole number", min_interval_hours="x")
        self.assert_refused("max_doses_per_week", "less than or equal", max_doses_per_week="99")
        self.assert_refused("note", "This field is required", note="")
        self.assert_refused("title", "This field is required", title="")
        self.assert_refused(
            "checkpoints-1-repeat_until_minutes",
            "Give both how often to repeat",
            **{"checkpoints-1-repeat_until_minutes": ""},
        )
        self.assert_refused(
            "checkpoints-0-measures",
            "Choose at least one reading",
            **{"checkpoints-0-measures": []},
        )
        self.assert_refused(
            "checkpoints-0-measures",
            "not one of the available choices",
            **{"checkpoints-0-measures": ["temperature"]},
        )

    def test_a_check_of_the_whole_protocol_lands_on_its_field(self) -> None:
        # Two doses a week with a 96-hour gap cannot both hold for the induction phase.
        row = fixtures.protocol(self)
        before = ProtocolVersion.objects.count()
        response = self.post(row, max_doses_per_week="1")
        self.assertEqual(response.status_code, 400)
        self.assertIn("max_doses_per_week", response.context["form"].errors)
        self.assertEqual(ProtocolVersion.objects.count(), before)

    def test_only_admins_create_versions_and_other_clinics_get_not_found(self) -> None:
        row = fixtures.protocol(self)
        before = ProtocolVersion.objects.count()
        for user in (self.alice, self.paula, self.nick):
            self.assertEqual(self.post(row, user=user).status_code, 403)
        StaffMembership.objects.create(user=self.oscar, clinic=self.other_clinic, role=Role.ADMIN)
        self.assertEqual(self.post(row, user=self.oscar).status_code, 404)
        self.assertEqual(ProtocolVersion.objects.count(), before)


def _formset_errors(response: Any) -> dict[str, Any]:
    found = {}
    for form in response.context["formset"].forms:
        for name, errors in form.errors.items():
            found[f"{form.prefix}-{name}"] = errors
    return found


class UploadTest(ClinicTestCase):
    def test_a_protocol_file_upload_becomes_the_next_version(self) -> None:
        row = fixtures.protocol(self)
        data = dict(row.data, title="IV ketamine, uploaded")
        self.login(self.adam)
        upload = SimpleUploadedFile("iv.json", json.dumps(data).encode(), "application/json")
        response = self.client.post(
            reverse("protocols:new_version"), {"upload": upload, "note": "From file"}
        )
        self.assertEqual(response.status_code, 302)
        new = ProtocolVersion.objects.get(clinic=self.clinic, key=IV, version=row.version + 1)
        self.assertEqual((new.title, new.status), ("IV ketamine, uploaded", "draft"))

    def test_a_bad_upload_names_the_file_field_and_stores_nothing(self) -> None:
        fixtures.protocol(self)
        before = ProtocolVersion.objects.count()
        self.login(self.adam)
        upload = SimpleUploadedFile("iv.json", b"\xff\xfe not text", "application/json")
        response = self.client.post(
            reverse("protocols:new_version"), {"upload": upload, "note": "From file"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("upload", response.context["form"].errors)
        self.assertEqual(ProtocolVersion.objects.count(), before)
