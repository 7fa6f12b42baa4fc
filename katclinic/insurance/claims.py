"""Claims from posted charges: build, check, send as 837P, follow, and post 835 remittances.

Each public write is one transaction with its audit event; every state change appends a
`ClaimEvent`. Amounts are integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.billing import services as billing
from katclinic.billing.models import BillingCode, Charge, ChargeLine, ChargeStatus
from katclinic.billing.services import BillingError
from katclinic.clinics.models import Clinic
from katclinic.clinics.registry import SettingValues, all_settings
from katclinic.insurance import clearinghouse, rules
from katclinic.insurance import clinic_settings as keys
from katclinic.insurance.models import (
    Adjustment,
    AuthorizationUse,
    Claim,
    ClaimEvent,
    ClaimLine,
    ClaimStatus,
    Coverage,
    LinePayment,
    PriorAuthorization,
    Remittance,
    RemittanceClaim,
)
from katclinic.insurance.services import InsuranceError, coverage_on
from katclinic.insurance.x12 import check, p837, r835
from katclinic.insurance.x12.envelope import Envelope, X12Error

S = ClaimStatus
# Which state may follow which. Paid and denied come from remittances; a rejected or denied
# claim is corrected by building a new claim, never by editing this one.
MOVES: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.READY}),
    S.READY: frozenset({S.SENT, S.DRAFT}),
    S.SENT: frozenset({S.ACCEPTED, S.REJECTED, S.PAID, S.DENIED}),
    S.ACCEPTED: frozenset({S.PAID, S.DENIED}),
    S.REJECTED: frozenset(),
    S.PAID: frozenset({S.PAID}),
    S.DENIED: frozenset({S.PAID}),
}
BY_HAND = (S.ACCEPTED, S.REJECTED)


def _event(claim: Claim, to: str, by: User, note: str = "") -> None:
    before = claim.status
    if to not in MOVES[before]:
        raise InsuranceError(
            f"A claim that is {S(before).label.lower()} cannot become {S(to).label.lower()}."
        )
    ClaimEvent.objects.create(
        clinic_id=claim.clinic_id,
        claim=claim,
        from_status=before,
        to_status=to,
        note=note[:300],
        by=by,
        at=timezone.now(),
    )
    claim.status = to


def _audit(
    request: HttpRequest | None, by: User, obj: object, action: Action, **detail: object
) -> None:
    audit.record(
        request=request,
        user=by,
        action=action,
        clinic_id=obj.clinic_id,  # type: ignore[attr-defined]
        patient_id=getattr(obj, "patient_id", None),
        obj=obj,
        detail={k: str(v) for k, v in detail.items()},
    )


# ---- building and checking ---------------------------------------------------------------


def _billable_lines(charge: Charge) -> list[ChargeLine]:
    """Posted lines that no reversal cancels, in order."""
    return [
        line
        for line in charge.lines.select_related("code").filter(
            status=ChargeStatus.POSTED, reverses__isnull=True
        )
        if not ChargeLine.objects.filter(reverses=line).exists()
    ]


def _authorization_for(claim: Claim) -> PriorAuthorization | None:
    codes = list(claim.lines.values_list("code", flat=True))
    for auth in PriorAuthorization.objects.filter(
        clinic_id=claim.clinic_id, patient_id=claim.patient_id
    ).with_used():
        rule = auth.as_rule()
        if any(rules.covers(rule, code=c, on=claim.date_of_service)[0] for c in codes):
            return auth
    return None


def _subscriber(coverage: Coverage, address: p837.Address) -> p837.Subscriber:
    party = p837.Party(
        coverage.subscriber_last_name,
        coverage.subscriber_first_name,
        identifier=coverage.member_id,
        address=address,
        birth_date=coverage.subscriber_birth_date,
        sex=coverage.subscriber_sex,
    )
    return p837.Subscriber(
        party,
        payer_name=coverage.payer_name,
        payer_id=coverage.payer_id,
        group_number=coverage.group_number,
        priority=coverage.priority,
        relationship=coverage.relationship,
    )


def _dependent(claim: Claim, address: p837.Address) -> p837.Party | None:
    """The patient when they are not the subscriber; they share the subscriber's address on
    file with the payer."""
    if claim.coverage.relationship == "self":
        return None
    patient = claim.patient
    sex = {"female": "F", "male": "M"}.get(str(patient.sex_at_birth).lower(), "U")
    return p837.Party(
        patient.last_name,
        patient.first_name,
        address=address,
        birth_date=patient.date_of_birth,
        sex=sex,
    )


def _rendering(claim: Claim) -> p837.Party | None:
    rendering = claim.charge.rendering_clinician
    if rendering is None:
        return None
    return p837.Party(
        rendering.full_name.split()[-1] if rendering.full_name else "Clinician",
        " ".join(rendering.full_name.split()[:-1]) or "-",
        identifier=rendering.npi,
    )


def _billing_provider(clinic: Clinic, values: SettingValues) -> p837.BillingProvider:
    return p837.BillingProvider(
        clinic.name,
        clinic.npi,
        clinic.tax_id,
        p837.Address(
            values[keys.BILLING_STREET],
            values[keys.BILLING_CITY],
            values[keys.BILLING_STATE].upper(),
            values[keys.BILLING_ZIP],
        ),
    )


def _claim_content(claim: Claim) -> p837.Claim:
    return p837.Claim(
        claim.control_number,
        list(claim.diagnosis_codes),
        [
            p837.ServiceLine(
                line.code,
                line.charge_cents,
                Decimal(line.units),
                line.service_date,
                list(line.diagnosis_pointers),
                modifiers=line.modifier_list,
            )
            for line in claim.lines.all()
        ],
        place_of_service=claim.place_of_service,
        prior_authorization=claim.authorization.number if claim.authorization else "",
    )


def claim_file(claim: Claim, *, control: int | None = None) -> p837.ClaimFile:
    """The typed 837P content of `claim`, from the clinic, coverage, patient and lines."""
    clinic = claim.clinic
    values = all_settings(clinic)
    coverage = claim.coverage
    address = p837.Address(coverage.street, coverage.city, coverage.state, coverage.postal_code)
    sender = values[keys.SUBMITTER_ID].strip() or "UNSET"
    receiver = values[keys.RECEIVER_ID].strip() or "UNSET"
    return p837.ClaimFile(
        envelope=Envelope(sender, receiver, control or claim.number, timezone.now()),
        submitter=p837.Party(clinic.name, identifier=sender),
        submitter_contact=clinic.name,
        submitter_phone=clinic.phone or "0000000000",
        receiver=p837.Party(values[keys.RECEIVER_NAME] or "Clearinghouse", identifier=receiver),
        billing=_billing_provider(clinic, values),
        subscriber=_subscriber(coverage, address),
        patient=_dependent(claim, address),
        rendering=_rendering(claim),
        claim=_claim_content(claim),
    )


def _code_problems(claim: Claim) -> list[str]:
    """Service codes and diagnoses that are not in their code set on the date of service."""
    found: list[str] = []
    for line in claim.lines.all():
        valid = BillingCode.objects.valid_on(line.service_date).filter(code=line.code).exists()
        if not valid:
            found.append(f"{line.code} is not a valid code on {line.service_date:%d %b %Y}.")
    for code in claim.diagnosis_codes:
        valid = (
            BillingCode.objects.valid_on(claim.date_of_service)
            .filter(system="icd10cm", code=code.upper())
            .exists()
        )
        if not valid:
            found.append(
                f"Diagnosis {code} is not in the code set on {claim.date_of_service:%d %b %Y}."
            )
    return found


def _file_problems(data: p837.ClaimFile) -> list[str]:
    """The guide's own checks of the content, then of the written file when those pass."""
    found = p837.problems(data)
    if found:
        return found
    try:
        result = check.validate(p837.write(data))
    except X12Error as error:
        return [str(error)]
    return [f"X12 check: {e}" for e in result.errors] if not result.ok else []


def problems(claim: Claim) -> list[str]:
    """Everything that stops this claim from leaving: required fields, codes valid on the date
    of service, diagnosis pointers, coverage on that date, and the guide's own checks."""
    found: list[str] = []
    values = all_settings(claim.clinic)
    if not values[keys.SUBMITTER_ID].strip() or not values[keys.RECEIVER_ID].strip():
        found.append("The clinic's clearinghouse submitter and receiver ids are not set up.")
    if not claim.coverage.valid_on(claim.date_of_service):
        found.append("The coverage was not valid on the date of service.")
    found += _code_problems(claim)
    data = claim_file(claim)
    if found:
        return found + p837.problems(data)
    return _file_problems(data)


def _locked_claimable(charge: Charge) -> Charge:
    """The charge, locked, refused unless it is posted and has no open claim."""
    charge = (
        Charge.objects.select_for_update(of=("self",))
        .select_related("patient", "clinic")
        .get(pk=charge.pk)
    )
    if charge.status != ChargeStatus.POSTED:
        raise InsuranceError("Only a posted charge can be claimed.")
    if Claim.objects.filter(charge=charge).exclude(status__in=[S.REJECTED, S.DENIED]).exists():
        raise InsuranceError("This charge already has an open claim.")
    return charge


def _coverage_for(charge: Charge, coverage: Coverage | None) -> Coverage:
    coverage = coverage or coverage_on(charge.patient, charge.date_of_service)
    if coverage is None or coverage.patient_id != charge.patient_id:
        raise InsuranceError("The patient has no coverage on the date of service.")
    return coverage


def _diagnoses(lines: list[ChargeLine]) -> list[str]:
    """The lines' diagnosis codes, upper-cased, each once, in the order they first appear."""
    diagnoses: list[str] = []
    for line in lines:
        for code in line.diagnosis_codes:
            if code.upper() not in diagnoses:
                diagnoses.append(code.upper())
    return diagnoses


def _store_draft(
    charge: Charge, coverage: Coverage, lines: list[ChargeLine], diagnoses: list[str], by: User
) -> Claim:
    """The next-numbered draft claim with its first event."""
    number = (Claim.objects.filter(clinic=charge.clinic).aggregate(n=Max("number"))["n"] or 0) + 1
    claim = Claim(
        clinic=charge.clinic,
        patient=charge.patient,
        coverage=coverage,
        charge=charge,
        number=number,
        control_number=f"KC{number:06d}",
        date_of_service=charge.date_of_service,
        place_of_service=charge.place_of_service,
        diagnosis_codes=diagnoses[:12],
        total_cents=sum(line.amount_cents for line in lines),
        currency=charge.currency,
        status=S.DRAFT,
        created_by=by,
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            claim.save()
    except IntegrityError:
        raise InsuranceError("Another claim was built at the same moment; try again.") from None
    ClaimEvent.objects.create(
        clinic_id=claim.clinic_id,
        claim=claim,
        to_status=S.DRAFT,
        note="Built from the posted charge",
        by=by,
        at=timezone.now(),
    )
    return claim


def _store_claim_lines(claim: Claim, lines: list[ChargeLine], diagnoses: list[str]) -> None:
    for position, line in enumerate(lines, start=1):
        ClaimLine.objects.create(
            clinic_id=claim.clinic_id,
            claim=claim,
            charge_line=line,
            position=position,
            code=line.code.code,
            modifiers=line.modifiers,
            units=line.units,
            charge_cents=line.amount_cents,
            service_date=claim.date_of_service,
            diagnosis_pointers=[diagnoses.index(c.upper()) + 1 for c in line.diagnosis_codes][:4],
        )


@transaction.atomic
def build_claim(
    *,
    charge: Charge,
    by: User,
    request: HttpRequest | None = None,
    coverage: Coverage | None = None,
) -> Claim:
    """A claim of the posted `charge` to the patient's coverage on its date of service: ready
    to send when it passes every check, otherwise a draft that lists what to fix."""
    charge = _locked_claimable(charge)
    coverage = _coverage_for(charge, coverage)
    lines = _billable_lines(charge)
    if not lines:
        raise InsuranceError("The charge has no posted lines left to claim.")
    diagnoses = _diagnoses(lines)
    claim = _store_draft(charge, coverage, lines, diagnoses, by)
    _store_claim_lines(claim, lines, diagnoses)
    claim.authorization = _authorization_for(claim)
    claim.problems = problems(claim)
    if not claim.problems:
        _event(claim, S.READY, by, "Passed every check")
    claim.save()
    _audit(request, by, claim, Action.CREATE, total_cents=claim.total_cents, status=claim.status)
    return claim


@transaction.atomic
def recheck_claim(*, claim: Claim, by: User, request: HttpRequest | None = None) -> Claim:
    """Check a draft again after the clinic fixed its set-up or the coverage."""
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    if claim.status not in (S.DRAFT, S.READY):
        raise InsuranceError("Only a claim that has not been sent can be checked again.")
    claim.authorization = _authorization_for(claim)
    claim.problems = problems(claim)
    target = S.READY if not claim.problems else S.DRAFT
    if target != claim.status:
        _event(claim, target, by, "Checked again")
    claim.save()
    _audit(request, by, claim, Action.UPDATE, status=claim.status)
    return claim


@transaction.atomic
def send_claim(*, claim: Claim, by: User, request: HttpRequest | None = None) -> Claim:
    """Write the 837P, check it once more, and hand it to the clearinghouse."""
    claim = Claim.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=claim.pk)
    if claim.status != S.READY:
        raise InsuranceError("Only a claim that is ready can be sent.")
    found = problems(claim)
    if found:
        claim.problems = found
        _event(claim, S.DRAFT, by, "Failed its checks before sending")
        claim.save()
        raise InsuranceError("The claim no longer passes its checks: " + " ".join(found))
    text = p837.write(claim_file(claim))
    name = f"{claim.control_number}-{timezone.now():%Y%m%d%H%M%S}.837"
    try:
        reference = clearinghouse.backend().submit(clinic=claim.clinic, name=name, text=text)
    except (OSError, ValueError) as error:
        raise InsuranceError(
            f"The claim file could not be left for the clearinghouse: {error}"
        ) from None
    claim.file_text = text
    claim.file_name = reference
    _event(claim, S.SENT, by, f"Sent as {name}")
    claim.save()
    _use_authorization(claim, by)
    _audit(request, by, claim, Action.EXPORT, file=name)
    return claim


def _use_authorization(claim: Claim, by: User) -> None:
    """A sent claim uses the units of its authorized lines."""
    auth = claim.authorization
    if auth is None:
        return
    covered = auth.code_list
    units = sum(line.units for line in claim.lines.all() if line.code in covered)
    if units > 0:
        AuthorizationUse.objects.create(
            clinic_id=claim.clinic_id,
            authorization=auth,
            used_on=claim.date_of_service,
            units=units,
            note=f"Claim {claim.control_number}",
            recorded_by=by,
            recorded_at=timezone.now(),
        )


@transaction.atomic
def mark_claim(
    *, claim: Claim, to: str, note: str, by: User, request: HttpRequest | None = None
) -> Claim:
    """Record the clearinghouse's acknowledgement: accepted, or rejected with its reason."""
    if to not in BY_HAND:
        raise InsuranceError("Choose accepted or rejected.", field="status")
    if to == S.REJECTED and not note.strip():
        raise InsuranceError("Say why the claim was rejected.", field="note")
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    _event(claim, to, by, note.strip())
    claim.save()
    _audit(request, by, claim, Action.UPDATE, status=to)
    return claim


# ---- remittances -------------------------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    remittance: Remittance
    matched: int
    unmatched: int


def _match_line(claim: Claim, paid: r835.LinePayment, taken: set[int]) -> ClaimLine | None:
    for line in claim.lines.all():
        if line.pk in taken or line.code != paid.code:
            continue
        if paid.service_date is not None and paid.service_date != line.service_date:
            continue
        taken.add(line.pk)
        return line
    return None


def written_off_cents(paid: r835.ClaimPayment) -> int:
    """What the clinic adjusts off: every adjustment group but patient responsibility (PR),
    at claim and at line level (X12 835 CAS groups CO, OA, PI, CR)."""
    adjustments = [*paid.adjustments, *(a for line in paid.lines for a in line.adjustments)]
    return sum(a.amount_cents for a in adjustments if a.group != "PR")


def _settle(
    claim: Claim, paid: r835.ClaimPayment, trace: str, by: User, request: HttpRequest | None
) -> None:
    """The payer's payment and write-off go on the claim's charge, so what the patient still
    owes is what the payer left them."""
    try:
        billing.post_payer_settlement(
            charge=claim.charge,
            paid_cents=paid.paid_cents,
            written_off_cents=written_off_cents(paid),
            source=f"Remittance {trace}, claim {claim.control_number}",
            by=by,
            request=request,
        )
    except BillingError as error:
        raise InsuranceError(f"Claim {claim.control_number}: {error}", field="file") from None


def _parse_new_remittance(clinic: Clinic, text: str) -> r835.Remittance:
    """The parsed 835, refused when it cannot be read, has no trace number or was imported."""
    try:
        era = r835.parse(text)
    except X12Error as error:
        raise InsuranceError(str(error), field="file") from None
    if not era.trace_number:
        raise InsuranceError("The remittance has no trace number.", field="file")
    if Remittance.objects.filter(clinic=clinic, trace_number=era.trace_number[:50]).exists():
        raise InsuranceError(f"Remittance {era.trace_number} was already imported.", field="file")
    return era


def _store_remittance(clinic: Clinic, era: r835.Remittance, text: str, by: User) -> Remittance:
    return Remittance.objects.create(
        clinic=clinic,
        trace_number=era.trace_number[:50],
        payer_name=era.payer_name[:60],
        payer_id=era.payer_id[:80],
        payment_cents=era.payment_cents,
        paid_on=era.paid_on,
        file_text=text,
        imported_by=by,
        imported_at=timezone.now(),
    )


def _claim_paid(clinic: Clinic, paid: r835.ClaimPayment) -> Claim | None:
    """The sent claim this payment answers, locked, or None when no such claim is open."""
    return (
        Claim.objects.select_for_update()
        .filter(clinic=clinic, control_number=paid.control_number)
        .exclude(status__in=[S.DRAFT, S.READY, S.REJECTED])
        .first()
    )


def _store_adjustments(
    row: RemittanceClaim,
    adjustments: list[r835.Adjustment],
    line_row: LinePayment | None = None,
) -> None:
    for adj in adjustments:
        Adjustment.objects.create(
            clinic_id=row.clinic_id,
            remittance_claim=row,
            line_payment=line_row,
            group=adj.group,
            reason=adj.reason[:5],
            amount_cents=adj.amount_cents,
        )


def _store_line_payments(
    row: RemittanceClaim, claim: Claim | None, paid: r835.ClaimPayment
) -> None:
    """Each service line paid, matched to a line of `claim` where one fits."""
    taken: set[int] = set()
    for line in paid.lines:
        line_row = LinePayment.objects.create(
            clinic_id=row.clinic_id,
            remittance_claim=row,
            claim_line=_match_line(claim, line, taken) if claim else None,
            code=line.code[:10],
            charge_cents=line.charge_cents,
            paid_cents=line.paid_cents,
            patient_responsibility_cents=line.patient_responsibility_cents,
        )
        _store_adjustments(row, line.adjustments, line_row)


def _store_claim_payment(
    remittance: Remittance, claim: Claim | None, paid: r835.ClaimPayment
) -> None:
    row = RemittanceClaim.objects.create(
        clinic_id=remittance.clinic_id,
        remittance=remittance,
        claim=claim,
        control_number=paid.control_number[:38],
        status_code=paid.status[:2],
        status_label=paid.status_label[:80],
        charge_cents=paid.charge_cents,
        paid_cents=paid.paid_cents,
        patient_responsibility_cents=paid.patient_responsibility_cents,
        payer_claim_number=paid.payer_claim_number[:50],
        patient_name=paid.patient_name[:120],
    )
    _store_adjustments(row, paid.adjustments)
    _store_line_payments(row, claim, paid)


def _post_to_claim(
    claim: Claim, paid: r835.ClaimPayment, trace: str, by: User, request: HttpRequest | None
) -> None:
    """Settle the charge and move the claim to paid or denied; a paid claim stays paid."""
    _settle(claim, paid, trace, by, request)
    claim.paid_cents += paid.paid_cents
    claim.patient_responsibility_cents += paid.patient_responsibility_cents
    to = S.DENIED if paid.denied or paid.paid_cents <= 0 else S.PAID
    if to == S.DENIED and claim.status == S.PAID:
        to = S.PAID
    _event(claim, to, by, f"Remittance {trace}: {paid.status_label}")
    claim.save()


@transaction.atomic
def import_remittance(
    *, clinic: Clinic, text: str, by: User, request: HttpRequest | None = None
) -> Posting:
    """Post an 835: each claim payment to its claim (by claim number), each service line to
    its claim line, with adjustments and patient responsibility; the rest is kept unmatched
    for review. A file is imported once."""
    era = _parse_new_remittance(clinic, text)
    remittance = _store_remittance(clinic, era, text, by)
    matched = unmatched = 0
    for paid in era.claims:
        claim = _claim_paid(clinic, paid)
        _store_claim_payment(remittance, claim, paid)
        if claim is None:
            unmatched += 1
            continue
        matched += 1
        _post_to_claim(claim, paid, era.trace_number, by, request)
    _audit(
        request,
        by,
        remittance,
        Action.CREATE,
        payment_cents=era.payment_cents,
        matched=matched,
        unmatched=unmatched,
    )
    return Posting(remittance, matched, unmatched)


def claimable_charges(clinic: Clinic, *, limit: int = 50) -> list[Charge]:
    """Posted charges of insured patients that have no open claim yet."""
    open_claims = Claim.objects.filter(clinic=clinic).exclude(status__in=[S.REJECTED, S.DENIED])
    charges = (
        Charge.objects.for_clinic(clinic)
        .posted()
        .exclude(pk__in=open_claims.values("charge_id"))
        .select_related("patient")
        .order_by("-date_of_service", "-pk")[: limit * 2]
    )
    found = []
    for charge in charges:
        if coverage_on(charge.patient, charge.date_of_service) is not None:
            found.append(charge)
    return found[:limit]


def unmatched_payments(clinic: Clinic) -> list[RemittanceClaim]:
    return list(
        RemittanceClaim.objects.filter(clinic=clinic, claim__isnull=True)
        .select_related("remittance")
        .order_by("-pk")[:100]
    )


def awaiting_payer(charges: list[Charge]) -> dict[int, int]:
    """For each charge on a claim the payer has not answered yet (built, sent or accepted),
    its claimed total: money the front desk should not ask the patient for yet."""
    waiting = [S.DRAFT, S.READY, S.SENT, S.ACCEPTED]
    rows = Claim.objects.filter(charge__in=charges, status__in=waiting).values_list(
        "charge_id", "total_cents"
    )
    return dict(rows)
