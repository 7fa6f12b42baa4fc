"""In-session limits are the stricter of the clinic's setting and the protocol version's, and
each alert names the limit that fired and where it came from (symptom: a protocol's stricter
stop limit only produced the clinic's recheck alert)."""

import json
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from katclinic.dosing import monitoring_services as mon
from katclinic.dosing.models import InSessionAlert
from katclinic.dosing.monitoring import DEFAULT_THRESHOLDS, Limit
from katclinic.dosing.tests import factories as f
from katclinic.dosing.thresholds import (
    PROTOCOL_LIMITS,
    Direction,
    as_whole,
    effective_thresholds,
    stricter,
)
from katclinic.protocols.models import ProtocolStatus, ProtocolVersion
from katclinic.protocols.schema import load_library
from katclinic.testing import ClinicTestCase

limits = st.builds(
    Limit,
    st.integers(min_value=1, max_value=300),
    st.sampled_from(["recheck", "stop", "notify_prescriber"]),
    st.sampled_from(["clinic", "protocol"]),
)


@given(limits, limits, st.sampled_from(["above", "below"]))
def test_the_effective_limit_is_never_looser_than_either(
    clinic: Limit, protocol: Limit, direction: Direction
) -> None:
    chosen = stricter(clinic, protocol, direction)
    assert chosen is not None
    assert chosen in (clinic, protocol)
    if direction == "above":
        assert chosen.value == min(clinic.value, protocol.value)
    else:
        assert chosen.value == max(clinic.value, protocol.value)
    if clinic.value == protocol.value:
        assert chosen is clinic  # a tie names the clinic's setting


@given(st.one_of(st.none(), limits), st.one_of(st.none(), limits))
def test_a_missing_side_leaves_the_other(clinic: Limit | None, protocol: Limit | None) -> None:
    chosen = stricter(clinic, protocol, "above")
    if clinic is None or protocol is None:
        assert chosen == (clinic or protocol)


@given(
    st.fixed_dictionaries(
        {name: st.integers(min_value=50, max_value=250) for name, _, _ in PROTOCOL_LIMITS}
    )
)
def test_every_protocol_limit_takes_part(values: dict[str, int]) -> None:
    data = json.loads(load_library()["esketamine_trd"].model_dump_json())
    data["thresholds"] = {
        "pre_dose_max_systolic": {
            "value": 40,
            "stop": "soft",
            "verified": True,
            "source": "label_bp",
        },
        "pre_dose_max_diastolic": {
            "value": 30,
            "stop": "soft",
            "verified": True,
            "source": "label_bp",
        },
    }
    # Keep the protocol's own ordering rule (pre-dose < hold < stop) satisfied.
    for side in ("systolic", "diastolic"):
        hold, stop = sorted((values[f"hold_above_{side}"], values[f"stop_above_{side}"] + 1))
        values[f"hold_above_{side}"], values[f"stop_above_{side}"] = hold, max(stop, hold + 1)
    for name, value in values.items():
        data["thresholds"][name] = {
            "value": value,
            "stop": "hard",
            "verified": False,
            "source": "label_bp",
        }
    protocol = type(load_library()["esketamine_trd"]).model_validate(data)
    effective = effective_thresholds(DEFAULT_THRESHOLDS, protocol)
    for name, field, direction in PROTOCOL_LIMITS:
        clinic_value = getattr(DEFAULT_THRESHOLDS, field).value
        got = getattr(effective, field)
        want = (
            min(clinic_value, values[name])
            if direction == "above"
            else max(clinic_value, values[name])
        )
        assert got.value == want
        assert ("protocol" in got.source) == (want != clinic_value)


@given(
    st.decimals(min_value=1, max_value=300, places=1),
    st.integers(min_value=0, max_value=320),
    st.sampled_from(["above", "below"]),
)
def test_a_whole_limit_fires_on_the_same_readings_as_the_exact_one(
    limit: Decimal, reading: int, direction: Direction
) -> None:
    whole = as_whole(limit, direction)
    if direction == "above":
        assert (reading > whole) == (reading > limit)
    else:
        assert (reading < whole) == (reading < limit)


class ProtocolStopLimitTest(ClinicTestCase):
    def strict_protocol(self, stop_systolic: int) -> None:
        protocol = load_library()["esketamine_trd"]
        data = json.loads(protocol.model_dump_json())
        data["key"] = "esketamine_strict"
        data["thresholds"]["stop_above_systolic"]["value"] = stop_systolic
        ProtocolVersion.objects.create(
            clinic=self.clinic,
            key="esketamine_strict",
            version=1,
            title="Esketamine, strict blood pressure",
            route=protocol.route,
            status=ProtocolStatus.ACTIVE,
            data=data,
        )

    def reading(self, key: str, systolic: int) -> list[InSessionAlert]:
        f.stock(self.clinic, self.nick)
        session = f.ready_to_dose(self.pat, self.paula, self.nick, key)
        _, alerts = mon.record_checkpoint(
            session=session,
            label="about 40 minutes",
            taken_at=timezone.now() - timedelta(seconds=5),
            values={"systolic": systolic, "diastolic": 85, "heart_rate": 80, "spo2": 97},
            by=self.nick,
        )
        return alerts

    def test_a_protocol_stop_limit_stricter_than_the_clinics_stops_dosing(self) -> None:
        self.strict_protocol(stop_systolic=165)
        (alert,) = self.reading("esketamine_strict", 170)
        self.assertEqual((alert.measure, alert.level, alert.limit), ("systolic", "stop", 165))
        self.assertTrue(alert.source.startswith("protocol Intranasal esketamine"), alert.source)
        self.assertIn("Stop dosing", alert.action)

    def test_with_the_shipped_protocol_the_same_reading_asks_only_for_a_recheck(self) -> None:
        (alert,) = self.reading("esketamine_trd", 170)
        self.assertEqual((alert.level, alert.limit), ("recheck", 160))
        self.assertNotIn("protocol", alert.source)
