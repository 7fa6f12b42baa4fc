import json
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.urls import reverse

from katclinic.protocols import services
from katclinic.protocols.models import ProtocolVersion
from katclinic.protocols.tests import fixtures
from katclinic.testing import ClinicTestCase


class LibraryTest(ClinicTestCase):
    def test_loading_the_shipped_library_twice_adds_each_protocol_once(self) -> None:
        first = services.load_shipped_protocols(clinic=self.clinic)
        again = services.load_shipped_protocols(clinic=self.clinic)
        self.assertEqual(len(first), 4)
        self.assertEqual(again, [])
        self.assertEqual(
            ProtocolVersion.objects.filter(clinic=self.clinic, status="active").count(), 4
        )

    def test_the_command_loads_every_clinic(self) -> None:
        call_command("load_protocols", stdout=StringIO())
        for clinic in (self.clinic, self.other_clinic):
            self.assertEqual(ProtocolVersion.objects.filter(clinic=clinic).count(), 4)

    def test_staff_see_each_number_with_its_source_and_unverified_thresholds_marked(self) -> None:
        row = fixtures.protocol(self)
        self.login(self.alice)
        response = self.client.get(reverse("protocols:detail", args=[row.pk]))
        self.assertContains(response, "ELEKT-D (Anand A et al., N Engl J Med 2023")
        self.assertContains(response, "Unverified thresholds")
        self.assertContains(response, "stop_above_systolic")


class NewVersionTest(ClinicTestCase):
    def post(self, text: str, user: Any = None) -> Any:
        self.login(user or self.adam)
        return self.client.post(
            reverse("protocols:new_version"),
            {"text": text, "note": "Tighter limit", "activate": "on"},
        )

    def test_a_malformed_protocol_names_the_field_and_stores_nothing(self) -> None:
        row = fixtures.protocol(self)
        data = dict(row.data)
        data["limits"] = {
            **data["limits"],
            "hard_max": {"value": "abc", "source": "dose_finding_rct"},
        }
        before = ProtocolVersion.objects.count()
        response = self.post(json.dumps(data))
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "limits.hard_max.value", status_code=400)
        self.assertEqual(ProtocolVersion.objects.count(), before)

    def test_text_that_is_not_json_is_refused_with_its_line(self) -> None:
        fixtures.protocol(self)
        before = ProtocolVersion.objects.count()
        response = self.post('{"key": "x",\n oops}')
        self.assertContains(response, "line 2: not valid JSON", status_code=400)
        self.assertEqual(ProtocolVersion.objects.count(), before)

    def test_an_edit_becomes_the_next_version_and_retires_the_old_one(self) -> None:
        row = fixtures.protocol(self)
        data = dict(row.data, title="IV ketamine, clinic edition")
        response = self.post(json.dumps(data))
        self.assertEqual(response.status_code, 302)
        newest = ProtocolVersion.objects.get(clinic=self.clinic, key=row.key, status="active")
        self.assertEqual((newest.version, newest.title), (2, "IV ketamine, clinic edition"))
        row.refresh_from_db()
        self.assertEqual(row.status, "retired")

    def test_front_desk_cannot_add_a_version(self) -> None:
        row = fixtures.protocol(self)
        before = ProtocolVersion.objects.count()
        response = self.post(json.dumps(row.data), user=self.alice)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(ProtocolVersion.objects.count(), before)

    def test_a_version_in_use_cannot_change_in_the_database(self) -> None:
        version = fixtures.draft(self)
        protocol = version.plan.protocol_version
        with self.assertRaises(DatabaseError), transaction.atomic():
            ProtocolVersion.objects.filter(pk=protocol.pk).update(data={"tampered": True})
        protocol.refresh_from_db()
        self.assertEqual(protocol.data["key"], "iv_ketamine_elektd")

    def test_an_unused_draft_may_be_edited_but_a_used_version_may_not(self) -> None:
        version = fixtures.draft(self)
        with self.assertRaises(services.PlanError):
            services.edit_protocol_draft(
                version=version.plan.protocol_version, text="{}", by=self.adam
            )
