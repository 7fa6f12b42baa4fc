"""Electronic remittance advice, ASC X12 005010X221A1 (835), read into dataclasses.

Follows the implementation guide (ASC X12N/005010X221A1, 2010, https://x12.org/products/transaction-sets):
BPR carries the total payment, TRN the trace (cheque or EFT) number, loop 1000A/1000B the payer
and payee, loop 2100 (CLP) each claim paid and loop 2110 (SVC) each service line. CAS segments
hold adjustments by group (CO contractual obligation, PR patient responsibility, OA other,
PI payer initiated, CR correction) and claim adjustment reason code (X12 CARC list,
https://x12.org/codes/claim-adjustment-reason-codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from katclinic.insurance.x12.envelope import X12Error, cents, split

VERSION = "005010X221A1"
GROUPS = {
    "CO": "Contractual obligation",
    "PR": "Patient responsibility",
    "OA": "Other adjustment",
    "PI": "Payer initiated reduction",
    "CR": "Correction or reversal",
}
# CLP02 claim status codes of the guide.
CLAIM_STATUSES = {
    "1": "Processed as primary",
    "2": "Processed as secondary",
    "3": "Processed as tertiary",
    "4": "Denied",
    "19": "Processed as primary, forwarded to another payer",
    "20": "Processed as secondary, forwarded to another payer",
    "21": "Processed as tertiary, forwarded to another payer",
    "22": "Reversal of previous payment",
    "23": "Not our claim, forwarded to another payer",
}


@dataclass(frozen=True)
class Adjustment:
    group: str
    reason: str
    amount_cents: int
    quantity: Decimal | None = None


@dataclass
class LinePayment:
    code: str
    modifiers: tuple[str, ...]
    charge_cents: int
    paid_cents: int
    units: Decimal
    service_date: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def patient_responsibility_cents(self) -> int:
        return sum(a.amount_cents for a in self.adjustments if a.group == "PR")


@dataclass
class ClaimPayment:
    control_number: str
    status: str
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    payer_claim_number: str
    patient_name: str = ""
    member_id: str = ""
    adjustments: list[Adjustment] = field(default_factory=list)
    lines: list[LinePayment] = field(default_factory=list)

    @property
    def denied(self) -> bool:
        return self.status == "4"

    @property
    def status_label(self) -> str:
        return CLAIM_STATUSES.get(self.status, f"Status {self.status}")


@dataclass
class Remittance:
    payment_cents: int
    method: str
    trace_number: str
    paid_on: date | None
    payer_name: str = ""
    payer_id: str = ""
    payee_name: str = ""
    payee_npi: str = ""
    claims: list[ClaimPayment] = field(default_factory=list)


def _date(value: str) -> date:
    try:
        if len(value) != 8 or not (value.isascii() and value.isdigit()):
            raise ValueError(value)
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise X12Error(f"{value!r} is not a CCYYMMDD date.") from None


def _decimal(value: str, name: str) -> Decimal:
    try:
        return Decimal(value or "1")
    except InvalidOperation:
        raise X12Error(f"{name}: {value!r} is not a number.") from None


def _el(seg: list[str], index: int) -> str:
    return seg[index] if len(seg) > index else ""


def _adjustments(seg: list[str]) -> list[Adjustment]:
    group = _el(seg, 1)
    if group not in GROUPS:
        raise X12Error(f"CAS: {group!r} is not an adjustment group code.")
    found = []
    for start in range(2, min(len(seg), 20), 3):
        reason = _el(seg, start)
        if not reason:
            continue
        qty = _el(seg, start + 2)
        found.append(
            Adjustment(
                group=group,
                reason=reason,
                amount_cents=cents(_el(seg, start + 1), name="CAS amount"),
                quantity=_decimal(qty, "CAS quantity") if qty else None,
            )
        )
    return found


@dataclass
class _Reading:
    """Where the reader is: the payment, and the claim and service line segments apply to."""

    remittance: Remittance
    component: str
    claim: ClaimPayment | None = None
    line: LinePayment | None = None
    entity: str = ""


def _payment(seg: list[str]) -> Remittance:
    return Remittance(
        payment_cents=cents(_el(seg, 2), name="BPR02 payment amount"),
        method=_el(seg, 4),
        trace_number="",
        paid_on=_date(_el(seg, 16)) if _el(seg, 16) else None,
    )


def _read_parties(reading: _Reading, seg: list[str]) -> None:
    """TRN trace number, N1 payer and payee, REF*2U payer id."""
    remittance = reading.remittance
    tag = seg[0]
    if tag == "TRN":
        remittance.trace_number = _el(seg, 2)
    elif tag == "N1":
        reading.entity = _el(seg, 1)
        if reading.entity == "PR":
            remittance.payer_name = _el(seg, 2)
            remittance.payer_id = _el(seg, 4)
        elif reading.entity == "PE":
            remittance.payee_name = _el(seg, 2)
            remittance.payee_npi = _el(seg, 4) if _el(seg, 3) == "XX" else ""
    elif tag == "REF" and _el(seg, 1) == "2U" and reading.entity == "PR":
        remittance.payer_id = _el(seg, 2)


def _claim_payment(seg: list[str]) -> ClaimPayment:
    return ClaimPayment(
        control_number=_el(seg, 1),
        status=_el(seg, 2),
        charge_cents=cents(_el(seg, 3), name="CLP03 charge"),
        paid_cents=cents(_el(seg, 4), name="CLP04 payment"),
        patient_responsibility_cents=cents(_el(seg, 5) or "0", name="CLP05"),
        payer_claim_number=_el(seg, 7),
    )


def _line_payment(seg: list[str], component: str) -> LinePayment:
    procedure = _el(seg, 1).split(component)
    return LinePayment(
        code=_el(procedure, 1),
        modifiers=tuple(m for m in procedure[2:6] if m),
        charge_cents=cents(_el(seg, 2), name="SVC02 charge"),
        paid_cents=cents(_el(seg, 3), name="SVC03 payment"),
        units=_decimal(_el(seg, 5), "SVC05 units"),
    )


def _read_claims(reading: _Reading, seg: list[str]) -> None:
    """CLP claim payment, NM1*QC patient, SVC line payment, DTM*472 date, CAS adjustments."""
    tag, claim, line = seg[0], reading.claim, reading.line
    if tag == "CLP":
        reading.claim = _claim_payment(seg)
        reading.remittance.claims.append(reading.claim)
        reading.line = None
    elif tag == "NM1" and claim is not None and _el(seg, 1) == "QC":
        claim.patient_name = " ".join(p for p in (_el(seg, 4), _el(seg, 3)) if p)
        claim.member_id = _el(seg, 9)
    elif tag == "SVC" and claim is not None:
        reading.line = _line_payment(seg, reading.component)
        claim.lines.append(reading.line)
    elif tag == "DTM" and line is not None and _el(seg, 1) == "472":
        line.service_date = _date(_el(seg, 2))
    elif tag == "CAS":
        if line is not None:
            line.adjustments.extend(_adjustments(seg))
        elif claim is not None:
            claim.adjustments.extend(_adjustments(seg))


def parse(text: str) -> Remittance:
    """Every claim and line payment of one 835 transaction; `X12Error` on a malformed file."""
    segments = split(text)
    component = segments[0][16][:1] if len(segments[0]) > 16 else ":"
    st = next((s for s in segments if s[0] == "ST"), None)
    if st is None or _el(st, 1) != "835":
        raise X12Error("The file holds no 835 transaction.")
    reading: _Reading | None = None
    for seg in segments:
        tag = seg[0]
        if tag == "BPR":
            if reading is None:
                reading = _Reading(_payment(seg), component)
            else:
                reading.remittance = _payment(seg)
        elif reading is None:
            continue
        elif tag == "SE":
            break
        elif tag in ("TRN", "N1", "REF"):
            _read_parties(reading, seg)
        else:
            _read_claims(reading, seg)
    if reading is None:
        raise X12Error("The 835 has no BPR payment segment.")
    return reading.remittance
