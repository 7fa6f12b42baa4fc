"""A clinic set up for claims, and a real esketamine session charged and posted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from katclinic.billing import services as billing
from katclinic.billing.models import Charge
from katclinic.billing.tests import helpers as b
from katclinic.clinics.registry import set_setting
from katclinic.insurance.tests import factories as f

CLEARINGHOUSE = {
    "insurance.submitter_id": "KATCLINIC",
    "insurance.receiver_id": "CLEARHOUSE",
    "insurance.receiver_name": "Clearing House",
    "insurance.billing_street": "1 Main St",
    "insurance.billing_city": "Springfield",
    "insurance.billing_state": "IL",
    "insurance.billing_zip": "627011234",
}


def set_up_clinic(t: Any) -> None:
    t.clinic.npi = "1234567893"
    t.clinic.tax_id = "12-3456789"
    t.clinic.phone = "555-010-1000"
    t.clinic.save()
    t.paula.npi = "1245319599"
    t.paula.save()
    for key, value in CLEARINGHOUSE.items():
        set_setting(clinic=t.clinic, key=key, raw=value, by=t.adam, reason="enrolment")


def posted_esketamine_charge(t: Any) -> Charge:
    b.fee_schedule(t)
    b.diagnose(t, t.pat)
    session = b.discharged(t, t.pat)
    charge = billing.propose_charge(session=session, by=t.adam)
    return billing.post_charge(charge=charge, by=t.adam)


def insured(t: Any) -> Any:
    """Coverage from last year on, and an approved authorization around today."""
    today = timezone.localdate()
    cover = f.coverage(t.pat, t.alice, valid_from=today - timedelta(days=365))
    f.authorization(
        cover,
        t.alice,
        number="PA-7001",
        codes="J0013, G2082, G2083",
        valid_from=today - timedelta(days=30),
        valid_to=today + timedelta(days=150),
    )
    return cover
