"""The MOAA/S score a patient must reach before leaving is a clinic setting, not a constant."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from katclinic.clinics.models import ClinicSetting
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services
from katclinic.dosing.models import DosingSession
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase

ALL_MET = dict.fromkeys(
    (
        "dissociation_resolved",
        "respiratory_depression_resolved",
        "vitals_acceptable",
        "escort_present",
    ),
    True,
)
NORMAL = {"systolic": 128, "diastolic": 80, "heart_rate": 72, "spo2": 98}


class DischargeMoaasSettingTest(ClinicTestCase):
    @contextmanager
    def at(self, minutes: int) -> Iterator[None]:
        moment = self.start + timedelta(minutes=minutes)
        with mock.patch("django.utils.timezone.now", return_value=moment):
            yield

    def dosed_session_with_moaas(self, moaas: int) -> DosingSession:
        self.start = timezone.now()
        lot = f.stock(self.clinic, self.nick, key="iv_ketamine_elektd")
        session = f.ready_to_dose(
            self.pat, self.paula, self.nick, "iv_ketamine_elektd", dose="35", low="7", high="52.5"
        )
        with self.at(0):
            services.record_administration(
                session=session,
                lot=lot,
                dose_mg=Decimal("35"),
                started_at=timezone.now(),
                by=self.nick,
            )
            services.finish_dosing(session=session, by=self.nick)
        with self.at(200):
            mon.record_checkpoint(
                session=session,
                label="completion",
                taken_at=timezone.now(),
                values={**NORMAL, "moaas": moaas},
                by=self.nick,
            )
        return session

    def test_by_default_moaas_4_is_not_yet_ready(self) -> None:
        session = self.dosed_session_with_moaas(4)
        with self.at(201):
            result = mon.assess_discharge(session=session, judged=ALL_MET, by=self.nick)
        self.assertFalse(result.allowed)
        self.assertIn("MOAA/S 4, needs 5", " ".join(result.unmet))

    def test_a_clinic_that_sets_4_lets_moaas_4_leave(self) -> None:
        ClinicSetting.objects.create(
            clinic=self.clinic, key="dosing_discharge_moaas_min", value=4, changed_by=self.adam
        )
        session = self.dosed_session_with_moaas(4)
        with self.at(201):
            result = mon.assess_discharge(session=session, judged=ALL_MET, by=self.nick)
        self.assertTrue(result.allowed, result.unmet)
