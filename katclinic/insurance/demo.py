"""Demo insurance: the clinic enrolled with a clearinghouse, one patient's esketamine session
claimed as an 837P under an approved prior authorization, and the payer's 835 for it posted,
so the billing account shows what the payer paid and what the patient still owes."""

from __future__ import annotations

from datetime import date, timedelta

from katclinic.billing import services as billing
from katclinic.billing.models import Charge, ChargeStatus
from katclinic.clinics.registry import set_setting
from katclinic.demo.generator import DemoWorld
from katclinic.insurance import claims, services
from katclinic.insurance.models import Claim, Coverage

ENROLMENT = {
    "insurance.submitter_id": "RIVERBEND",
    "insurance.receiver_id": "CLEARHOUSE",
    "insurance.receiver_name": "Demo Clearing House",
    "insurance.billing_street": "100 River Road",
    "insurance.billing_city": "Springfield",
    "insurance.billing_state": "IL",
    "insurance.billing_zip": "627011234",
}
SEX = {"female": "F", "male": "M"}
# The demo payer pays 80% of what is billed, the patient owes a $36 copay, and the rest is
# the clinic's contractual write-off (illustrative figures, not any payer's contract).
PAYER_SHARE = 0.8
COPAY_CENTS = 3600


def _esketamine_charge(world: DemoWorld) -> Charge | None:
    charges = Charge.objects.for_clinic(world.clinics[0]).filter(
        session_kind="intranasal", status=ChargeStatus.PROPOSED
    )
    return charges.order_by("date_of_service", "pk").first()


def _cover(world: DemoWorld, charge: Charge) -> Coverage:
    """The patient's coverage from the year before the charge, with an approved
    authorization around its date."""
    patient = charge.patient
    cover = services.add_coverage(
        request=None,
        by=world.staff["frontdesk"],
        patient=patient,
        data=services.CoverageData(
            payer_name="Acme Health Plan",
            payer_id="60054",
            plan_name="Gold PPO",
            member_id=f"W{patient.pk:09d}",
            group_number="GRP1",
            subscriber_first_name=patient.first_name,
            subscriber_last_name=patient.last_name,
            subscriber_birth_date=patient.date_of_birth,
            subscriber_sex=SEX.get(patient.sex_at_birth, "U"),
            street="100 River Road",
            city="Springfield",
            state="IL",
            postal_code="627011234",
            valid_from=date(charge.date_of_service.year - 1, 1, 1),
        ),
    )
    services.add_authorization(
        request=None,
        by=world.staff["frontdesk"],
        coverage=cover,
        data=services.AuthorizationData(
            codes="J0013, S0013, G2082, G2083",
            status="approved",
            number="PA-DEMO-1",
            approved_units=2000,
            valid_from=charge.date_of_service - timedelta(days=30),
            valid_to=charge.date_of_service + timedelta(days=150),
        ),
    )
    return cover


def build(world: DemoWorld) -> None:
    charge = _esketamine_charge(world)
    if charge is None:
        return
    clinic, clerk = world.clinics[0], world.staff["billing"]
    for key, value in ENROLMENT.items():
        set_setting(clinic=clinic, key=key, raw=value, by=world.staff["admin"], reason="Demo")
    billing.post_charge(charge=charge, by=clerk)
    _cover(world, charge)
    claim = claims.build_claim(charge=charge, by=clerk)
    if claim.status != "ready":
        return
    claim = claims.send_claim(claim=claim, by=clerk)
    claims.import_remittance(clinic=clinic, text=remittance_for(claim), by=clerk)


def remittance_for(claim: Claim) -> str:
    """The payer's 835 for a demo claim: each line paid at the demo share, the copay on the
    first line as patient responsibility (PR-3), the rest adjusted off (CO-45)."""
    day = f"{claim.date_of_service + timedelta(days=14):%Y%m%d}"
    lines, paid_total = [], 0
    for index, line in enumerate(claim.lines.all()):
        copay = min(COPAY_CENTS, line.charge_cents) if index == 0 else 0
        paid = min(int(line.charge_cents * PAYER_SHARE), line.charge_cents - copay)
        paid_total += paid
        off = line.charge_cents - paid - copay
        lines.append(f"SVC*HC:{line.code}*{_d(line.charge_cents)}*{_d(paid)}**{line.units}~")
        lines.append(f"DTM*472*{line.service_date:%Y%m%d}~")
        if off:
            lines.append(f"CAS*CO*45*{_d(off)}~")
        if copay:
            lines.append(f"CAS*PR*3*{_d(copay)}~")
    first = claim.lines.first()
    copay_total = min(COPAY_CENTS, first.charge_cents) if first is not None else 0
    body = [
        "ST*835*0001~",
        f"BPR*I*{_d(paid_total)}*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*"
        f"021000021*DA*987654321*{day}~",
        f"TRN*1*DEMO{claim.control_number}*1512345678~",
        f"DTM*405*{day}~",
        "N1*PR*ACME HEALTH PLAN~",
        "REF*2U*60054~",
        f"N1*PE*{claim.clinic.name.upper()}*XX*{claim.clinic.npi}~",
        "LX*1~",
        f"CLP*{claim.control_number}*1*{_d(claim.total_cents)}*{_d(paid_total)}*"
        f"{_d(copay_total)}*12*ACM{claim.control_number}*11*1~",
        f"NM1*QC*1*{claim.patient.last_name.upper()}*{claim.patient.first_name.upper()}~",
        *lines,
    ]
    body.append(f"SE*{len(body) + 1}*0001~")
    envelope = [
        "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*RIVERBEND      *"
        f"{day[2:]}*0930*^*00501*000000001*0*T*:~",
        f"GS*HP*ACMEHEALTH*RIVERBEND*{day}*0930*1*X*005010X221A1~",
    ]
    return "\n".join([*envelope, *body, "GE*1*1~", "IEA*1*000000001~"])


def _d(cents: int) -> str:
    """Cents as an X12 decimal amount (no trailing zeros after the point)."""
    whole, part = divmod(cents, 100)
    return f"{whole}" if part == 0 else f"{whole}.{part:02d}".rstrip("0")
