"""Demo billing: a self-pay fee schedule, the clinic's and prescriber's identifiers, a billing
clerk, and proposed charges for every finished session; one infusion posted and part paid."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.hashers import make_password

from katclinic.billing import services
from katclinic.billing.models import ChargeStatus
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Role
from katclinic.demo.generator import DEMO_DOMAIN, DEMO_PASSWORD, DemoWorld, make_staff
from katclinic.dosing.models import DosingSession
from katclinic.dosing.statemachine import SessionState

# Demo self-pay prices in cents, per unit of each code (illustrative, not a market survey).
SELF_PAY = {
    "S0013": 1000,
    "J0013": 1000,
    "G2082": 45000,
    "G2083": 60000,
    "96365": 30000,
    "96366": 12000,
    "J3490": 5000,
    "0820T": 15000,
    "99204": 30000,
    "99213": 15000,
    "99214": 22000,
    "90791": 30000,
    "90837": 20000,
}


def build(world: DemoWorld) -> None:
    clinic = world.clinics[0]
    Clinic.objects.filter(pk=clinic.pk).update(npi="1234567893", tax_id="12-3456789")
    clinic.refresh_from_db()
    prescriber = world.staff["prescriber"]
    prescriber.npi = "1245319599"
    prescriber.save(update_fields=["npi"])
    clerk = make_staff(
        f"billing@{DEMO_DOMAIN}",
        "Bea Billing",
        {clinic: [Role.BILLING]},
        make_password(DEMO_PASSWORD),
        family_name="Billing",
    )
    world.staff["billing"] = clerk
    services.create_fee_schedule(
        clinic=clinic, name="Self-pay prices", valid_from=date(2025, 1, 1), fees=SELF_PAY, by=clerk
    )
    charges = [
        services.propose_charge(session=session, by=clerk)
        for session in DosingSession.objects.for_clinic(clinic)
        .filter(state=SessionState.DISCHARGED)
        .order_by("dose_started_at", "pk")
    ]
    infusion = next((c for c in charges if c.session_kind == "iv" and c.lines.exists()), None)
    if infusion is not None and infusion.status == ChargeStatus.PROPOSED:
        services.post_charge(charge=infusion, by=clerk)
        services.record_payment(
            patient=infusion.patient,
            amount_cents=services.charge_total(infusion) // 2,
            method="cash",
            invoice=infusion.invoice,
            by=world.staff["frontdesk"],
        )
