"""Typed claim values shared by the X12 tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from katclinic.insurance.x12 import p837
from katclinic.insurance.x12.envelope import Envelope

ADDRESS = p837.Address("1 Main St", "Springfield", "IL", "62701-1234")


def claim_file(**changes: object) -> p837.ClaimFile:
    data = p837.ClaimFile(
        envelope=Envelope("KATCLINIC", "CLEARHOUSE", 1, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        submitter=p837.Party("North Clinic", identifier="KATCLINIC"),
        submitter_contact="Billing Office",
        submitter_phone="555-010-1000",
        receiver=p837.Party("Clearing House", identifier="CLEARHOUSE"),
        billing=p837.BillingProvider("North Clinic", "1234567893", "12-3456789", ADDRESS),
        subscriber=p837.Subscriber(
            p837.Party(
                "Doe",
                "Pat",
                identifier="W123456789",
                address=ADDRESS,
                birth_date=date(1985, 4, 12),
                sex="F",
            ),
            payer_name="Acme Health Plan",
            payer_id="60054",
            group_number="GRP1",
        ),
        claim=p837.Claim(
            "KC000001",
            ["F33.2", "F41.1"],
            [
                p837.ServiceLine("J0013", 150000, Decimal(56), date(2026, 1, 5), [1]),
                p837.ServiceLine("G2082", 90651, Decimal(1), date(2026, 1, 5), [1, 2]),
            ],
            prior_authorization="PA123",
        ),
        rendering=p837.Party("Prescott", "Paula", identifier="1245319599"),
    )
    return replace(data, **changes)  # type: ignore[arg-type]
