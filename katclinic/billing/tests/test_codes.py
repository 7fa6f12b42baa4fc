from datetime import date
from decimal import Decimal

import pytest

from katclinic.billing import codes, proposal
from katclinic.billing.models import BillingCode


@pytest.mark.django_db
def test_esketamine_drug_code_changes_on_1_january_2026() -> None:
    assert codes.code_for("esketamine_drug", on=date(2025, 12, 31)).code == "S0013"
    assert codes.code_for("esketamine_drug", on=date(2026, 1, 1)).code == "J0013"
    assert codes.code_for("esketamine_drug", on=date(2026, 1, 2)).code == "J0013"
    assert codes.code_for("esketamine_drug", on=date(2026, 1, 2)).unit_mg == Decimal(1)


@pytest.mark.django_db
def test_every_shipped_code_is_loaded_with_a_source_and_dates() -> None:
    assert BillingCode.objects.count() == len(codes.shipped_rows())
    assert codes.load_codes() == BillingCode.objects.count()  # running it again adds nothing
    assert not BillingCode.objects.filter(source="").exists()
    for code in ("G2082", "G2083", "96365", "96366", "0820T", "0821T", "0822T", "99213", "90837"):
        assert BillingCode.objects.filter(code=code).exists(), code


@pytest.mark.django_db
def test_a_code_not_yet_valid_is_not_offered() -> None:
    with pytest.raises(codes.NoCodeError):
        codes.code_for("monitoring_first_clinician_hour", on=date(2023, 12, 31))
    assert codes.diagnosis("F32.A", on=date(2021, 9, 30)) is None
    assert codes.diagnosis("f32.a", on=date(2021, 10, 1)) is not None


def test_infusion_hours_follow_the_thirty_minute_rule() -> None:
    assert proposal.extra_infusion_hours(60) == 0
    assert proposal.extra_infusion_hours(90) == 0
    assert proposal.extra_infusion_hours(91) == 1
    assert proposal.extra_infusion_hours(150) == 1
    assert proposal.extra_infusion_hours(151) == 2


def test_esketamine_administration_band_and_new_patients() -> None:
    facts = proposal.SessionFacts(
        route="intranasal",
        drug_mg=Decimal(84),
        devices=3,
        infusion_minutes=0,
        monitoring_minutes=125,
        established=True,
        signed_session_note=False,
    )
    services = [line.service for line in proposal.propose(facts).lines]
    assert services == ["esketamine_drug", "esketamine_admin_over_56"]
    first = proposal.propose(
        proposal.SessionFacts(
            route="intranasal",
            drug_mg=Decimal(56),
            devices=2,
            infusion_minutes=0,
            monitoring_minutes=125,
            established=False,
            signed_session_note=False,
            buy_and_bill=False,
        )
    )
    assert first.lines == []
    assert "established" in first.notes[0]
