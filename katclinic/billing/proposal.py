"""Which codes a finished session supports, and how many units: pure rules, no database.

The units follow each code's unit: the esketamine drug code per 1 mg given; G2082 for up to
56 mg and G2083 above it (established patients only; a first session is billed with an office
visit chosen by staff); infusion 96365 for the first hour (more than 15 minutes) and 96366 for
each further hour begun more than 30 minutes past the last; psychotherapy by time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# CPT time rules for infusions and psychotherapy (AMA CPT 2026 Professional, infusion and
# psychotherapy guidelines, https://www.ama-assn.org/practice-management/cpt).
INFUSION_FIRST_HOUR_MIN_MINUTES = 16
INFUSION_EXTRA_HOUR_AFTER_MINUTES = 30
PSYCHOTHERAPY_BANDS = ((53, "psychotherapy_60"), (38, "psychotherapy_45"), (16, "psychotherapy_30"))
ESKETAMINE_LOW_BAND_MG = Decimal(56)


@dataclass(frozen=True)
class SessionFacts:
    route: str
    drug_mg: Decimal
    devices: int
    infusion_minutes: int
    monitoring_minutes: int
    established: bool
    signed_session_note: bool
    buy_and_bill: bool = True
    monitoring_codes: bool = False


@dataclass(frozen=True)
class ProposedLine:
    service: str
    units: int
    max_units: int
    basis: str


@dataclass
class Proposal:
    lines: list[ProposedLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def extra_infusion_hours(minutes: int) -> int:
    """96366 units: each hour past the first, counted once it runs more than 30 minutes."""
    beyond = minutes - 60
    if beyond <= INFUSION_EXTRA_HOUR_AFTER_MINUTES:
        return 0
    return (beyond - INFUSION_EXTRA_HOUR_AFTER_MINUTES - 1) // 60 + 1


def psychotherapy_service(minutes: int) -> str | None:
    for floor, service in PSYCHOTHERAPY_BANDS:
        if minutes >= floor:
            return service
    return None


def _mg_text(facts: SessionFacts) -> str:
    return f"{facts.drug_mg.normalize():f} mg"


def _intranasal(proposal: Proposal, facts: SessionFacts, unit_mg: Decimal | None) -> None:
    """The esketamine drug by unit, and its administration band for an established patient."""
    mg_text = _mg_text(facts)
    if facts.buy_and_bill and facts.drug_mg > 0:
        per = unit_mg or Decimal(1)
        units = int(facts.drug_mg // per)
        proposal.lines.append(
            ProposedLine(
                "esketamine_drug", units, units, f"{mg_text} given from {facts.devices} device(s)"
            )
        )
    if not facts.established:
        proposal.notes.append(
            "First esketamine session for this patient: the administration codes are for "
            "established patients, so add the office visit that was done."
        )
        return
    service = (
        "esketamine_admin_up_to_56"
        if facts.drug_mg <= ESKETAMINE_LOW_BAND_MG
        else "esketamine_admin_over_56"
    )
    proposal.lines.append(
        ProposedLine(
            service,
            1,
            1,
            f"{mg_text} self-administered, observed {facts.monitoring_minutes} minutes",
        )
    )


def _infusion(proposal: Proposal, facts: SessionFacts) -> None:
    """The first infusion hour and each further hour, by the CPT time rules."""
    if facts.infusion_minutes < INFUSION_FIRST_HOUR_MIN_MINUTES:
        proposal.notes.append("The infusion ran 15 minutes or less: no infusion code applies.")
        return
    basis = f"Infusion ran {facts.infusion_minutes} minutes"
    proposal.lines.append(ProposedLine("iv_infusion_first_hour", 1, 1, basis))
    extra = extra_infusion_hours(facts.infusion_minutes)
    if extra:
        proposal.lines.append(ProposedLine("iv_infusion_additional_hour", extra, extra, basis))


def _iv(proposal: Proposal, facts: SessionFacts) -> None:
    """Infusion time, the ketamine given, and clinician monitoring hours where billed."""
    _infusion(proposal, facts)
    if facts.drug_mg > 0:
        proposal.lines.append(ProposedLine("ketamine_drug", 1, 1, f"Ketamine {_mg_text(facts)}"))
    hours = facts.monitoring_minutes // 60
    if facts.monitoring_codes and hours:
        proposal.lines.append(
            ProposedLine(
                "monitoring_first_clinician_hour",
                hours,
                hours,
                f"Monitored {facts.monitoring_minutes} minutes",
            )
        )


def _psychotherapy(proposal: Proposal, facts: SessionFacts) -> None:
    if not facts.signed_session_note:
        return
    therapy = psychotherapy_service(facts.monitoring_minutes)
    if therapy:
        proposal.lines.append(
            ProposedLine(
                therapy,
                1,
                1,
                f"Signed therapist note; {facts.monitoring_minutes} minutes with the patient",
            )
        )


def propose(facts: SessionFacts, *, unit_mg: Decimal | None = None) -> Proposal:
    """The lines a session supports; `unit_mg` is the drug code's mg per unit."""
    proposal = Proposal()
    if facts.route == "intranasal":
        _intranasal(proposal, facts, unit_mg)
    elif facts.route == "iv":
        _iv(proposal, facts)
    else:
        proposal.notes.append("No billing rule for this route yet: add the lines by hand.")
    _psychotherapy(proposal, facts)
    return proposal
