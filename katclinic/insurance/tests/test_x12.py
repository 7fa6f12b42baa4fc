"""The X12 modules on their own: no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from katclinic.insurance.tests.x12_samples import ADDRESS, claim_file
from katclinic.insurance.x12 import check, eligibility, p837, r835
from katclinic.insurance.x12.envelope import Envelope, X12Error, amount, cents

FIXTURES = Path(__file__).parent / "fixtures"


def test_837p_validates_with_pyx12() -> None:
    text = p837.write(claim_file())
    result = check.validate(text)
    assert result.ok, result.errors
    assert "ST*837*0001*005010X222A1~" in text
    assert "HI*ABK:F332*ABF:F411~" in text
    assert "SV1*HC:J0013*1500*UN*56***1~" in text
    assert "SV1*HC:G2082*906.51*UN*1***1:2~" in text
    assert "CLM*KC000001*2406.51***11:B:1*Y*A*Y*Y~" in text
    assert "REF*G1*PA123~" in text


@pytest.mark.parametrize(
    "segment",
    ["REF*EI*123456789~", "NM1*PR*2*ACME HEALTH PLAN*****PI*60054~", "DTP*472*D8*20260105~"],
)
def test_837p_without_a_required_segment_fails_validation(segment: str) -> None:
    text = p837.write(claim_file())
    lines = [line for line in text.splitlines() if line != segment]
    assert len(lines) < len(text.splitlines())
    # Keep the SE count right, so the failure is the missing segment itself.
    body = len([line for line in lines if not line.startswith(("ISA", "GS", "GE", "IEA"))])
    lines = [f"SE*{body}*0001~" if line.startswith("SE*") else line for line in lines]
    result = check.validate("\n".join(lines) + "\n")
    assert not result.ok
    assert any("missing" in error.lower() for error in result.errors), result.errors


def test_837p_for_a_dependent_patient_validates() -> None:
    data = claim_file()
    sub = replace(
        data.subscriber,
        relationship="child",
        party=replace(data.subscriber.party, first_name="Parent"),
    )
    patient = p837.Party("Doe", "Pat", address=ADDRESS, birth_date=date(2010, 1, 2), sex="M")
    text = p837.write(replace(data, subscriber=sub, patient=patient))
    assert "PAT*19~" in text
    assert check.validate(text).ok


def test_837p_with_modifiers_and_secondary_coverage_validates() -> None:
    data = claim_file()
    line = p837.ServiceLine("99214", 15000, Decimal(1), date(2026, 1, 5), [1], modifiers=["25"])
    claim = replace(data.claim, lines=[line], prior_authorization="")
    sub = replace(data.subscriber, priority="secondary")
    text = p837.write(replace(data, claim=claim, subscriber=sub))
    assert "SV1*HC:99214:25*150*UN*1***1~" in text
    assert "SBR*S*18*" in text
    assert check.validate(text).ok


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"billing": p837.BillingProvider("N", "1234567890", "123456789", ADDRESS)}, "NPI"),
        ({"billing": p837.BillingProvider("N", "1234567893", "12345", ADDRESS)}, "tax id"),
        ({"rendering": p837.Party("P", "P", identifier="")}, "Rendering clinician NPI"),
    ],
)
def test_837p_refuses_bad_providers(change: dict[str, object], words: str) -> None:
    with pytest.raises(X12Error, match=words):
        p837.write(claim_file(**change))


def test_837p_refuses_bad_claim_values() -> None:
    data = claim_file()
    bad_line = p837.ServiceLine("J13", 0, Decimal(0), date(2026, 1, 5), [3], modifiers=["XYZ"])
    claim = replace(data.claim, diagnosis_codes=["F33.2", "not a code"], lines=[bad_line])
    with pytest.raises(X12Error) as raised:
        p837.write(replace(data, claim=claim))
    message = str(raised.value)
    for words in [
        "'not a code' is not an ICD-10-CM code",
        "'J13' is not a HCPCS or CPT code",
        "modifiers",
        "charge must be more than zero",
        "units must be more than zero",
        "diagnosis pointer names no diagnosis",
    ]:
        assert words in message


def test_npi_check_digit() -> None:
    assert p837.npi_valid("1234567893")
    assert not p837.npi_valid("1234567890")
    assert not p837.npi_valid("12345")


def test_amounts_are_integer_cents() -> None:
    assert amount(15000) == "150"
    assert amount(90651) == "906.51"
    assert amount(15050) == "150.5"
    assert cents("906.51") == 90651
    assert cents("150.5") == 15050
    assert cents("-20") == -2000
    with pytest.raises(X12Error):
        cents("12.345")
    with pytest.raises(X12Error):
        cents("abc")


def test_835_fixture_is_valid_and_parses() -> None:
    text = (FIXTURES / "era_kc000001.835").read_text()
    assert check.validate(text).ok
    era = r835.parse(text)
    assert era.payment_cents == 190000
    assert era.trace_number == "EFT20260128001"
    assert era.paid_on == date(2026, 1, 28)
    assert era.payee_npi == "1234567893"
    assert era.payer_id == "60054"
    first, second = era.claims
    assert first.control_number == "KC000001"
    assert (first.charge_cents, first.paid_cents) == (240651, 190000)
    assert first.patient_responsibility_cents == 15000
    drug, admin = first.lines
    assert (drug.code, drug.units, drug.paid_cents) == ("J0013", Decimal(56), 120000)
    assert drug.service_date == date(2026, 1, 5)
    assert [(a.group, a.reason, a.amount_cents) for a in drug.adjustments] == [
        ("CO", "45", 20000),
        ("PR", "2", 10000),
    ]
    assert drug.patient_responsibility_cents + admin.patient_responsibility_cents == 15000
    assert second.denied
    assert second.adjustments[0].reason == "197"


def test_835_refuses_other_files() -> None:
    with pytest.raises(X12Error):
        r835.parse("not an x12 file")
    with pytest.raises(X12Error, match="835"):
        r835.parse(p837.write(claim_file()))


def test_270_request() -> None:
    inquiry = eligibility.Inquiry(
        envelope=Envelope("KATCLINIC", "ACME", 7, datetime(2026, 1, 2, 8, 0, tzinfo=UTC)),
        payer_name="Acme Health Plan",
        payer_id="60054",
        provider_name="North Clinic",
        provider_npi="1234567893",
        trace_number="E000001",
        member_id="W123456789",
        last_name="Doe",
        first_name="Pat",
        birth_date=date(1985, 4, 12),
        service_date=date(2026, 1, 5),
    )
    text = eligibility.write_270(inquiry)
    assert "ST*270*0007*005010X279A1~" in text
    assert "NM1*IL*1*DOE*PAT****MI*W123456789~" in text
    assert "EQ*30~" in text
    assert "SE*13*0007~" in text
    with pytest.raises(X12Error, match="member id"):
        eligibility.write_270(replace(inquiry, member_id=""))


def test_271_answers_in_words() -> None:
    active = eligibility.parse_271((FIXTURES / "eligibility_active.271").read_text())
    assert active.status == "active"
    assert active.summary == "Coverage active: GOLD PPO"
    assert active.plan_begins == date(2026, 1, 1)
    assert "Deductible, individual, $1,500.00, per calendar year, in network" in active.benefits
    assert "Co-insurance, individual, 20% of the allowed amount, per visit, in network" in (
        active.benefits
    )
    rejected = eligibility.parse_271((FIXTURES / "eligibility_rejected.271").read_text())
    assert rejected.status == "rejected"
    assert rejected.summary == "The payer could not answer: Subscriber not found"
