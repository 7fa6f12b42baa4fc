"""Eligibility and benefit inquiry (270) and answer (271), ASC X12 005010X279A1.

The request names the payer (2100A), the clinic as information receiver (2100B, by NPI) and the
subscriber (2100C, by member id and date of birth) and asks for service type 30 (health benefit
plan coverage) on a date. The answer's EB segments are read into plain sentences (implementation
guide ASC X12N/005010X279A1, 2010, https://x12.org/products/transaction-sets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from katclinic.insurance.x12.envelope import Envelope, X12Error, cents, segment, split, wrap
from katclinic.insurance.x12.p837 import npi_valid

VERSION = "005010X279A1"

# EB01 eligibility or benefit information codes used in the reading.
BENEFITS = {
    "1": "Active coverage",
    "6": "Inactive",
    "7": "Inactive, pending eligibility update",
    "8": "Inactive, pending investigation",
    "A": "Co-insurance",
    "B": "Co-payment",
    "C": "Deductible",
    "G": "Out-of-pocket maximum",
    "I": "Non-covered",
    "CB": "Coverage basis",
}
LEVELS = {"IND": "individual", "FAM": "family"}
PERIODS = {"23": "per calendar year", "27": "per visit", "29": "remaining", "22": "service year"}
NETWORK = {"Y": "in network", "N": "out of network", "W": "in and out of network"}
# AAA03 reject reason codes of the guide that front desks meet most often.
REJECTIONS = {
    "15": "Required application data missing",
    "41": "Authorization or access restrictions",
    "42": "Unable to respond at current time",
    "43": "Invalid or missing provider identification",
    "58": "Invalid or missing date of birth",
    "65": "Invalid or missing patient name",
    "72": "Invalid or missing subscriber or member id",
    "73": "Invalid or missing subscriber name",
    "75": "Subscriber not found",
    "76": "Duplicate subscriber",
}


@dataclass(frozen=True)
class Inquiry:
    envelope: Envelope
    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    trace_number: str
    member_id: str
    last_name: str
    first_name: str
    birth_date: date
    service_date: date
    service_type: str = "30"


def _missing(inquiry: Inquiry) -> list[str]:
    missing = []
    if not inquiry.payer_id:
        missing.append("payer id")
    if not npi_valid(inquiry.provider_npi):
        missing.append("clinic NPI")
    if not inquiry.member_id:
        missing.append("member id")
    if not inquiry.last_name:
        missing.append("subscriber name")
    return missing


def _subscriber_270(inquiry: Inquiry) -> list[str]:
    """2000C/2100C: the subscriber, the date of service and the benefit asked about."""
    return [
        segment("HL", 3, 2, 22, 0),
        segment("TRN", 1, inquiry.trace_number, "9" + inquiry.provider_npi[:9]),
        segment(
            "NM1",
            "IL",
            1,
            inquiry.last_name,
            inquiry.first_name,
            "",
            "",
            "",
            "MI",
            inquiry.member_id,
        ),
        segment("DMG", "D8", inquiry.birth_date.strftime("%Y%m%d")),
        segment("DTP", "291", "D8", inquiry.service_date.strftime("%Y%m%d")),
        segment("EQ", inquiry.service_type),
    ]


def write_270(inquiry: Inquiry) -> str:
    """The 270 request file, or `X12Error` naming what is missing."""
    missing = _missing(inquiry)
    if missing:
        raise X12Error("Cannot ask for eligibility without: " + ", ".join(missing) + ".")
    when = inquiry.envelope.created_at
    body = [
        segment(
            "BHT",
            "0022",
            "13",
            inquiry.trace_number,
            when.strftime("%Y%m%d"),
            when.strftime("%H%M"),
        ),
        segment("HL", 1, "", 20, 1),
        segment("NM1", "PR", 2, inquiry.payer_name, "", "", "", "", "PI", inquiry.payer_id),
        segment("HL", 2, 1, 21, 1),
        segment("NM1", "1P", 2, inquiry.provider_name, "", "", "", "", "XX", inquiry.provider_npi),
        *_subscriber_270(inquiry),
    ]
    return wrap(inquiry.envelope, functional_id="HS", transaction="270", version=VERSION, body=body)


@dataclass
class Answer:
    """A 271 in words: the status, the plan and one line per benefit."""

    status: str  # active, inactive, rejected, unknown
    trace_number: str = ""
    payer_name: str = ""
    member_id: str = ""
    subscriber_name: str = ""
    plan: str = ""
    plan_begins: date | None = None
    benefits: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.status == "active":
            return "Coverage active" + (f": {self.plan}" if self.plan else "")
        if self.status == "inactive":
            return "Coverage inactive"
        if self.status == "rejected":
            return "The payer could not answer: " + "; ".join(self.rejections)
        return "The answer names no coverage status"


def _el(seg: list[str], index: int) -> str:
    return seg[index] if len(seg) > index else ""


def _date(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


def _percent(value: str) -> str:
    """EB08 is a decimal fraction: 0.2 is 20%."""
    try:
        return f"{(Decimal(value) * 100).normalize():f}%"
    except InvalidOperation:
        raise X12Error(f"EB08: {value!r} is not a percentage.") from None


def _benefit(seg: list[str]) -> str:
    code = _el(seg, 1)
    words = [BENEFITS.get(code, f"Benefit {code}")]
    if _el(seg, 2) in LEVELS:
        words.append(LEVELS[_el(seg, 2)])
    if _el(seg, 5):
        words.append(_el(seg, 5))
    if _el(seg, 7):
        value = cents(_el(seg, 7), name="EB07")
        words.append(f"${value // 100:,}.{value % 100:02d}")
    if _el(seg, 8):
        words.append(f"{_percent(_el(seg, 8))} of the allowed amount")
    if _el(seg, 6) in PERIODS:
        words.append(PERIODS[_el(seg, 6)])
    if _el(seg, 12) in NETWORK:
        words.append(NETWORK[_el(seg, 12)])
    return ", ".join(words)


def parse_271(text: str) -> Answer:
    segments = split(text)
    st = next((s for s in segments if s[0] == "ST"), None)
    if st is None or _el(st, 1) != "271":
        raise X12Error("The file holds no 271 eligibility answer.")
    answer = Answer(status="unknown")
    entity = ""
    for seg in segments:
        tag = seg[0]
        if tag == "NM1":
            entity = _el(seg, 1)
            if entity == "PR":
                answer.payer_name = _el(seg, 3)
            elif entity == "IL":
                answer.subscriber_name = " ".join(p for p in (_el(seg, 4), _el(seg, 3)) if p)
                answer.member_id = _el(seg, 9)
        elif tag == "TRN" and not answer.trace_number:
            answer.trace_number = _el(seg, 2)
        elif tag == "AAA" and _el(seg, 1) == "N":
            reason = _el(seg, 3)
            answer.rejections.append(REJECTIONS.get(reason, f"Reject reason {reason}"))
            answer.status = "rejected"
        elif tag == "DTP" and _el(seg, 1) == "346":
            answer.plan_begins = _date(_el(seg, 3))
        elif tag == "EB":
            code = _el(seg, 1)
            if code == "1" and answer.status != "rejected":
                answer.status = "active"
                answer.plan = answer.plan or _el(seg, 5)
            elif code in ("6", "7", "8") and answer.status == "unknown":
                answer.status = "inactive"
            answer.benefits.append(_benefit(seg))
    return answer
