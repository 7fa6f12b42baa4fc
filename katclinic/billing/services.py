"""Every billing write: one typed, keyword-only function each, in one transaction with its
audit event. Posted lines, payments and refunds are never changed afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Q, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.billing import clinic_settings, codes, payments, proposal
from katclinic.billing.models import (
    BillingCode,
    Charge,
    ChargeLine,
    ChargeStatus,
    CodeSystem,
    Fee,
    FeeSchedule,
    Invoice,
    PayerPosting,
    PayerPostingKind,
    Payment,
    PaymentMethod,
    PaymentQuerySet,
    PaymentStatus,
    Refund,
)
from katclinic.clinics.middleware import clinic_zone
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.dosing.models import DosingSession, SupportNote
from katclinic.dosing.statemachine import SessionState
from katclinic.lib.npi import npi_is_valid
from katclinic.patients.language import in_language_of
from katclinic.patients.models import Diagnosis, Patient

MAX_DIAGNOSIS_POINTERS = 4  # CMS-1500 item 24E points at up to four diagnoses
MAX_CENTS = 10_000_000_00  # ten million dollars: anything above is a typing error


class BillingError(ValueError):
    """A billing write that the rules refuse; `field` names the input at fault, if one is."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _audit(
    request: HttpRequest | None,
    by: User,
    obj: models.Model,
    action: Action,
    *,
    clinic_id: int,
    patient_id: int | None,
    **detail: object,
) -> None:
    audit.record(
        request=request,
        user=by,
        action=action,
        clinic_id=clinic_id,
        patient_id=patient_id,
        obj=obj,
        detail=detail or None,
    )


def money(cents: int, currency: str = "USD") -> str:
    """Cents as the clinic reads them: $1,234.50 (other currencies carry their code)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    text = f"{whole:,}.{part:02d}"
    return f"{sign}${text}" if currency == "USD" else f"{sign}{text} {currency}"


def parse_cents(raw: str, *, field: str) -> int:
    """A typed amount such as "450" or "450.00" as cents; refuses anything else, naming `field`."""
    text = str(raw).strip().replace(",", "").lstrip("$")
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise BillingError("Enter an amount such as 450.00.", field=field) from None
    if not value.is_finite() or value < 0 or value > MAX_CENTS / 100:
        raise BillingError("Enter an amount between 0 and 10,000,000.", field=field)
    if value != value.quantize(Decimal("0.01")):
        raise BillingError("Enter an amount with at most two decimals.", field=field)
    cents = int(value * 100)
    if cents > MAX_CENTS:
        raise BillingError("Enter an amount between 0 and 10,000,000.", field=field)
    return cents


def date_of_service(session: DosingSession) -> date:
    """The clinic-local date the session took place."""
    at = session.dose_started_at or session.scheduled_for
    return timezone.localtime(at, clinic_zone(session.clinic.timezone)).date()


# ---- fee schedules ----------------------------------------------------------------------------


def schedule_for(clinic: Clinic, *, on: date, payer: str = "") -> FeeSchedule | None:
    return (
        FeeSchedule.objects.filter(clinic=clinic, payer=payer, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("-valid_from", "-pk")
        .first()
    )


def fee_for(clinic: Clinic, code: BillingCode, *, on: date, payer: str = "") -> int | None:
    schedule = schedule_for(clinic, on=on, payer=payer)
    if schedule is None:
        return None
    fee = Fee.objects.filter(schedule=schedule, code__code=code.code).first()
    return fee.amount_cents if fee else None


def _priced_codes(name: str, valid_from: date, fees: dict[str, int]) -> dict[str, BillingCode]:
    """The billable codes `fees` prices, by code; refuses a missing name, an unknown code or
    an amount out of range."""
    if not name.strip():
        raise BillingError("Give the fee schedule a name.", field="name")
    if not fees:
        raise BillingError("Enter at least one price.", field="fees")
    known = {
        c.code: c
        # A schedule may price a code that only becomes valid during its life (J0013).
        for c in BillingCode.objects.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from),
            system__in=[CodeSystem.HCPCS, CodeSystem.CPT],
        ).order_by("valid_from")
    }
    for code, cents in fees.items():
        if code not in known:
            raise BillingError(f"{code} is not a billable code from {valid_from}.", field="fees")
        if not isinstance(cents, int) or cents < 0 or cents > MAX_CENTS:
            raise BillingError(f"The price of {code} is not a valid amount.", field="fees")
    return known


def _end_earlier_schedules(clinic: Clinic, payer: str, valid_from: date) -> None:
    """Schedules still open on `valid_from` end the day before it."""
    earlier = (
        FeeSchedule.objects.select_for_update()
        .filter(clinic=clinic, payer=payer, valid_from__lt=valid_from)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from))
    )
    for old in earlier:
        old.valid_to = valid_from - timedelta(days=1)
        old.save(update_fields=["valid_to"])


@transaction.atomic
def create_fee_schedule(
    *,
    clinic: Clinic,
    name: str,
    valid_from: date,
    fees: dict[str, int],
    by: User,
    payer: str = "",
    currency: str = "USD",
    request: HttpRequest | None = None,
) -> FeeSchedule:
    """A new version of the clinic's prices from `valid_from`; the one before ends the day before.

    `fees` maps a code to its price per unit in cents.
    """
    known = _priced_codes(name, valid_from, fees)
    _end_earlier_schedules(clinic, payer.strip(), valid_from)
    schedule = FeeSchedule.objects.create(
        clinic=clinic,
        name=name.strip(),
        payer=payer.strip(),
        currency=currency,
        valid_from=valid_from,
        created_by=by,
    )
    Fee.objects.bulk_create(
        Fee(clinic=clinic, schedule=schedule, code=known[code], amount_cents=cents)
        for code, cents in sorted(fees.items())
    )
    _audit(
        request,
        by,
        schedule,
        Action.CREATE,
        clinic_id=clinic.pk,
        patient_id=None,
        fees=dict(sorted(fees.items())),
        valid_from=valid_from.isoformat(),
    )
    return schedule


# ---- what happened in a session -----------------------------------------------------------------


@dataclass(frozen=True)
class SessionRecord:
    facts: proposal.SessionFacts
    day: date


def session_facts(session: DosingSession) -> SessionRecord:
    """What the session record says was given and how long the patient was watched."""
    doses = list(session.administrations.filter(is_adjunct=False).order_by("started_at", "pk"))
    total = sum((a.dose_mg for a in doses), Decimal(0))
    infusion = 0
    for given in doses:
        if given.ended_at is not None:
            infusion += int((given.ended_at - given.started_at).total_seconds() // 60)
    monitoring = 0
    if session.dose_started_at and session.discharged_at:
        monitoring = int((session.discharged_at - session.dose_started_at).total_seconds() // 60)
    established = (
        DosingSession.objects.filter(
            clinic_id=session.clinic_id,
            patient_id=session.patient_id,
            route=session.route,
            state=SessionState.DISCHARGED,
            scheduled_for__lt=session.scheduled_for,
        )
        .exclude(pk=session.pk)
        .exists()
    )
    signed_note = SupportNote.objects.filter(
        session=session, kind=SupportNote.Kind.SESSION, signed_at__isnull=False
    ).exists()
    clinic = session.clinic
    facts = proposal.SessionFacts(
        route=session.route,
        drug_mg=total,
        devices=len(doses),
        infusion_minutes=infusion,
        monitoring_minutes=monitoring,
        established=established,
        signed_session_note=signed_note,
        buy_and_bill=clinic_settings.BUY_AND_BILL.value(clinic),
        monitoring_codes=clinic_settings.MONITORING_CODES.value(clinic),
    )
    return SessionRecord(facts, date_of_service(session))


def chart_diagnoses(patient: Patient, *, on: date) -> list[str]:
    """Up to four of the chart's diagnoses that the code set holds on the date, primary first."""
    found: list[str] = []
    for row in Diagnosis.objects.filter(clinic_id=patient.clinic_id, patient=patient).order_by(
        "-is_primary", "pk"
    ):
        entry = codes.diagnosis(row.icd10_code, on=on)
        if entry and entry.code not in found:
            found.append(entry.code)
    return found[:MAX_DIAGNOSIS_POINTERS]


def _max_units(code: BillingCode, record: SessionRecord) -> int:
    facts = record.facts
    if code.unit_mg:
        return int(facts.drug_mg // code.unit_mg)
    if code.service == "iv_infusion_additional_hour":
        return proposal.extra_infusion_hours(facts.infusion_minutes)
    if code.unit_minutes and code.unit_minutes == 60 and code.service.startswith("monitoring"):
        return facts.monitoring_minutes // 60
    return 1


# ---- charges ----------------------------------------------------------------------------------


def _refuse_unless_discharged(session: DosingSession) -> None:
    if session.state != SessionState.DISCHARGED:
        raise BillingError(
            "This session has not been completed and discharged, so nothing can be charged for it."
        )


def _drug_unit(session: DosingSession, day: date) -> Decimal | None:
    """The mg per unit of the esketamine drug code on `day`; other routes bill the drug whole."""
    if session.route != "intranasal":
        return None
    drug_code = BillingCode.objects.valid_on(day).filter(service="esketamine_drug")
    return drug_code.values_list("unit_mg", flat=True).first()


def _store_proposed_lines(
    charge: Charge,
    planned: proposal.Proposal,
    diagnoses: list[str],
    notes: list[str],
    by: User,
) -> None:
    """A line for each planned service the code set bills; what cannot be billed or priced
    is added to `notes`."""
    day = charge.date_of_service
    for line in planned.lines:
        try:
            code = codes.code_for(line.service, on=day)
        except codes.NoCodeError:
            notes.append(f"No code in the code set bills this on {day}: {line.basis}.")
            continue
        price = fee_for(charge.clinic, code, on=day)
        if price is None:
            price = 0
            notes.append(f"No fee is set for {code.code}: enter the price before posting.")
        ChargeLine.objects.create(
            clinic=charge.clinic,
            charge=charge,
            code=code,
            units=line.units,
            max_units=line.max_units,
            unit_price_cents=price,
            amount_cents=price * line.units,
            diagnosis_codes=diagnoses,
            basis=line.basis,
            created_by=by,
        )


def _store_proposed_charge(session: DosingSession, day: date, notes: list[str], by: User) -> Charge:
    return Charge.objects.create(
        clinic=session.clinic,
        patient=session.patient,
        session=session,
        session_kind=session.route,
        date_of_service=day,
        rendering_clinician=session.patient.responsible_clinician or session.plan.created_by,
        # A copy: the lines add to `notes` afterwards, and the change is saved only if the
        # stored list differs from it.
        notes=list(notes),
        created_by=by,
    )


@transaction.atomic
def propose_charge(
    *, session: DosingSession, by: User, request: HttpRequest | None = None
) -> Charge:
    """The charge a discharged session supports, for staff to review; once per session."""
    session = (
        DosingSession.objects.select_for_update()
        .select_related("clinic", "patient")
        .get(pk=session.pk)
    )
    _refuse_unless_discharged(session)
    existing = Charge.objects.filter(session=session).first()
    if existing is not None:
        return existing
    record = session_facts(session)
    day = record.day
    planned = proposal.propose(record.facts, unit_mg=_drug_unit(session, day))
    diagnoses = chart_diagnoses(session.patient, on=day)
    notes = list(planned.notes)
    if not diagnoses:
        notes.append(
            "No diagnosis from the clinic's code set is on the chart: add one before posting."
        )
    charge = _store_proposed_charge(session, day, notes, by)
    _store_proposed_lines(charge, planned, diagnoses, notes, by)
    if notes != charge.notes:
        charge.notes = notes
        charge.save(update_fields=["notes"])
    _audit(
        request,
        by,
        charge,
        Action.CREATE,
        clinic_id=charge.clinic_id,
        patient_id=charge.patient_id,
        session=session.pk,
        lines=[(line.service, line.units) for line in planned.lines],
    )
    return charge


def _locked_charge(charge: Charge) -> Charge:
    return Charge.objects.select_for_update().select_related("clinic").get(pk=charge.pk)


def _check_units(units: int, max_units: int, code: BillingCode) -> None:
    if units < 1:
        raise BillingError("Units must be at least 1.", field="units")
    if units > max_units:
        raise BillingError(
            f"The record supports at most {max_units} unit(s) of {code.code}.", field="units"
        )


def _check_diagnoses(values: list[str], on: date) -> list[str]:
    cleaned: list[str] = []
    for raw in values:
        entry = codes.diagnosis(raw, on=on)
        if entry is None:
            raise BillingError(f"{raw} is not a diagnosis code valid on {on}.", field="diagnoses")
        if entry.code not in cleaned:
            cleaned.append(entry.code)
    if len(cleaned) > MAX_DIAGNOSIS_POINTERS:
        raise BillingError("A line points at four diagnoses at most.", field="diagnoses")
    return cleaned


def _check_modifiers(raw: str, on: date) -> str:
    parts = [p for p in raw.replace(",", " ").upper().split() if p]
    valid = set(
        BillingCode.objects.valid_on(on)
        .filter(system=CodeSystem.MODIFIER)
        .values_list("code", flat=True)
    )
    for part in parts:
        if part not in valid:
            raise BillingError(f"{part} is not a modifier the clinic uses.", field="modifiers")
    if len(parts) > 4:
        raise BillingError("A line takes four modifiers at most.", field="modifiers")
    return " ".join(parts)


def _locked_proposed_line(line: ChargeLine, charge: Charge, reason: str) -> ChargeLine:
    """The line, locked, refused once it or its charge is posted or without a reason."""
    line = ChargeLine.objects.select_for_update().select_related("code").get(pk=line.pk)
    if line.status != ChargeStatus.PROPOSED or charge.status != ChargeStatus.PROPOSED:
        raise BillingError("A posted line is corrected by reversing it and adding a new line.")
    if not reason.strip():
        raise BillingError("Say why the line is changed.", field="reason")
    return line


@transaction.atomic
def adjust_line(
    *,
    line: ChargeLine,
    units: int,
    unit_price_cents: int,
    reason: str,
    by: User,
    modifiers: str = "",
    diagnosis_codes: list[str] | None = None,
    request: HttpRequest | None = None,
) -> ChargeLine:
    """Change a proposed line before it is posted; the reason is kept on the line and audited."""
    charge = _locked_charge(line.charge)
    line = _locked_proposed_line(line, charge, reason)
    _check_units(units, line.max_units, line.code)
    if unit_price_cents < 0 or unit_price_cents > MAX_CENTS:
        raise BillingError("Enter a valid price.", field="unit_price")
    before = {"units": line.units, "unit_price_cents": line.unit_price_cents}
    line.units = units
    line.unit_price_cents = unit_price_cents
    line.amount_cents = units * unit_price_cents
    line.modifiers = _check_modifiers(modifiers, charge.date_of_service)
    if diagnosis_codes is not None:
        line.diagnosis_codes = _check_diagnoses(diagnosis_codes, charge.date_of_service)
    line.reason = reason.strip()
    line.save()
    _audit(
        request,
        by,
        line,
        Action.UPDATE,
        clinic_id=charge.clinic_id,
        patient_id=charge.patient_id,
        before=before,
        after={"units": units, "unit_price_cents": unit_price_cents},
        reason=line.reason,
    )
    return line


def _billed_units(charge: Charge, code: BillingCode) -> int:
    total = ChargeLine.objects.filter(charge=charge, code__code=code.code).aggregate(
        s=Sum("units")
    )["s"]
    return int(total or 0)


def _check_billable(code: BillingCode, day: date) -> None:
    valid = BillingCode.objects.valid_on(day).filter(pk=code.pk).exists()
    if not valid or code.system not in (CodeSystem.HCPCS, CodeSystem.CPT):
        raise BillingError(f"{code.code} is not a billable code on {day}.", field="code")


def _check_addable(charge: Charge, code: BillingCode, reason: str) -> None:
    """A discharged session's charge (or one without a session), a code billable on its date,
    and a reason."""
    if charge.session is not None:
        _refuse_unless_discharged(charge.session)
    _check_billable(code, charge.date_of_service)
    if not reason.strip():
        raise BillingError("Say why the line is added.", field="reason")


def _room(charge: Charge, code: BillingCode, units: int) -> int:
    """The units of `code` the record still supports on the charge, refusing `units` above it.
    A charge without a session supports what staff enter."""
    supported = _max_units(code, session_facts(charge.session)) if charge.session else units
    room = supported - _billed_units(charge, code)
    _check_units(units, max(room, 0), code)
    return room


def _added_price(charge: Charge, code: BillingCode, unit_price_cents: int | None) -> int:
    """The price entered, or the fee schedule's; a posted charge takes no zero price."""
    day = charge.date_of_service
    price = fee_for(charge.clinic, code, on=day) if unit_price_cents is None else unit_price_cents
    if price is None or price < 0 or price > MAX_CENTS:
        raise BillingError(f"No fee is set for {code.code}: enter the price.", field="unit_price")
    if charge.status == ChargeStatus.POSTED and price == 0:
        raise BillingError(f"Enter the price of {code.code}.", field="unit_price")
    return price


def _added_diagnoses(charge: Charge, diagnosis_codes: list[str] | None) -> list[str]:
    """The codes entered, checked, or else the chart's."""
    day = charge.date_of_service
    if diagnosis_codes is not None:
        return _check_diagnoses(diagnosis_codes, day)
    return chart_diagnoses(charge.patient, on=day)


def _store_added_line(
    charge: Charge,
    code: BillingCode,
    units: int,
    room: int,
    price: int,
    modifiers: str,
    diagnoses: list[str],
    reason: str,
    by: User,
) -> ChargeLine:
    """The line, posted at once on a posted charge."""
    posted = charge.status == ChargeStatus.POSTED
    return ChargeLine.objects.create(
        clinic=charge.clinic,
        charge=charge,
        code=code,
        modifiers=modifiers,
        units=units,
        max_units=room,
        unit_price_cents=price,
        amount_cents=units * price,
        diagnosis_codes=diagnoses,
        basis="Added by staff",
        reason=reason.strip(),
        status=ChargeStatus.POSTED if posted else ChargeStatus.PROPOSED,
        posted_at=timezone.now() if posted else None,
        created_by=by,
    )


@transaction.atomic
def add_line(
    *,
    charge: Charge,
    code: BillingCode,
    units: int,
    unit_price_cents: int | None,
    reason: str,
    by: User,
    modifiers: str = "",
    diagnosis_codes: list[str] | None = None,
    request: HttpRequest | None = None,
) -> ChargeLine:
    """Add a code staff know was done (an office visit), or a corrected line after a reversal.

    On a posted charge the new line is posted at once. Units never pass what the record
    supports for the code, counting what is already billed.
    """
    charge = _locked_charge(charge)
    _check_addable(charge, code, reason)
    day = charge.date_of_service
    room = _room(charge, code, units)
    price = _added_price(charge, code, unit_price_cents)
    diagnoses = _added_diagnoses(charge, diagnosis_codes)
    line = _store_added_line(
        charge, code, units, room, price, _check_modifiers(modifiers, day), diagnoses, reason, by
    )
    _audit(
        request,
        by,
        line,
        Action.CREATE,
        clinic_id=charge.clinic_id,
        patient_id=charge.patient_id,
        code=code.code,
        units=units,
        reason=line.reason,
    )
    return line


@transaction.atomic
def drop_line(
    *, line: ChargeLine, reason: str, by: User, request: HttpRequest | None = None
) -> None:
    """Take a proposed line off before posting (posted lines are reversed instead)."""
    charge = _locked_charge(line.charge)
    line = ChargeLine.objects.select_for_update().get(pk=line.pk)
    if line.status != ChargeStatus.PROPOSED:
        raise BillingError("A posted line is corrected by reversing it.")
    if not reason.strip():
        raise BillingError("Say why the line is taken off.", field="reason")
    _audit(
        request,
        by,
        line,
        Action.UPDATE,
        clinic_id=charge.clinic_id,
        patient_id=charge.patient_id,
        removed={"code": line.code.code, "units": line.units},
        reason=reason.strip(),
    )
    line.delete()


def _next_invoice_number(clinic: Clinic) -> str:
    count = Invoice.objects.filter(clinic=clinic).count()
    return f"{clinic.pk}-{count + 1:06d}"


def _session_record(charge: Charge) -> SessionRecord | None:
    """What the charge's session supports, refused unless it was discharged; None without one."""
    if charge.session is None:
        return None
    session = DosingSession.objects.select_related("clinic").get(pk=charge.session.pk)
    _refuse_unless_discharged(session)
    return session_facts(session)


def _check_postable(lines: list[ChargeLine], record: SessionRecord | None) -> None:
    """Every line priced and pointing at a diagnosis; no code billed past what the record
    supports."""
    if not lines:
        raise BillingError("There is nothing to post: add a line first.")
    per_code: dict[str, int] = {}
    for line in lines:
        per_code[line.code.code] = per_code.get(line.code.code, 0) + line.units
        if line.unit_price_cents == 0:
            raise BillingError(f"Enter the price of {line.code.code}.", field="unit_price")
        if not line.diagnosis_codes:
            raise BillingError(
                f"{line.code.code} points at no diagnosis: add one.", field="diagnoses"
            )
    if record is None:
        return
    for line in lines:
        supported = _max_units(line.code, record)
        if per_code[line.code.code] > supported:
            raise BillingError(
                f"{per_code[line.code.code]} unit(s) of {line.code.code} are more than the "
                f"session record supports ({supported}).",
                field="units",
            )


def _store_posting(charge: Charge, lines: list[ChargeLine], by: User) -> Invoice:
    """Mark the lines and the charge posted, and issue its invoice."""
    now = timezone.now()
    ChargeLine.objects.filter(pk__in=[line.pk for line in lines]).update(
        status=ChargeStatus.POSTED, posted_at=now
    )
    charge.status = ChargeStatus.POSTED
    charge.posted_by = by
    charge.posted_at = now
    charge.save(update_fields=["status", "posted_by", "posted_at"])
    return Invoice.objects.create(
        clinic=charge.clinic,
        patient_id=charge.patient_id,
        charge=charge,
        number=_next_invoice_number(charge.clinic),
        currency=charge.currency,
        issued_by=by,
        issued_at=now,
    )


@transaction.atomic
def post_charge(*, charge: Charge, by: User, request: HttpRequest | None = None) -> Charge:
    """Post every proposed line after checking it against the record; issues the invoice."""
    charge = _locked_charge(charge)
    if charge.status != ChargeStatus.PROPOSED:
        raise BillingError("This charge is already posted.")
    record = _session_record(charge)
    lines = list(charge.lines.select_related("code").filter(status=ChargeStatus.PROPOSED))
    _check_postable(lines, record)
    invoice = _store_posting(charge, lines, by)
    _audit(
        request,
        by,
        charge,
        Action.SIGN,
        clinic_id=charge.clinic_id,
        patient_id=charge.patient_id,
        posted=[(line.code.code, line.units, line.amount_cents) for line in lines],
        invoice=invoice.number,
    )
    return charge


def _locked_reversible(line: ChargeLine, reason: str) -> ChargeLine:
    """The posted line, locked, refused when it is a reversal, already reversed, or no
    reason is given."""
    line = ChargeLine.objects.select_for_update().select_related("code").get(pk=line.pk)
    if line.status != ChargeStatus.POSTED:
        raise BillingError("Only posted lines are reversed; change a proposed line instead.")
    if line.reverses_id is not None:
        raise BillingError("A reversal is not reversed again: add a new line instead.")
    if ChargeLine.objects.filter(reverses=line).exists():
        raise BillingError("This line is already reversed.")
    if not reason.strip():
        raise BillingError("Say why the line is reversed.", field="reason")
    return line


@transaction.atomic
def reverse_line(
    *, line: ChargeLine, reason: str, by: User, request: HttpRequest | None = None
) -> ChargeLine:
    """Cancel a posted line with a reversal line of equal and opposite units and amount."""
    charge = _locked_charge(line.charge)
    line = _locked_reversible(line, reason)
    reversal = ChargeLine.objects.create(
        clinic=charge.clinic,
        charge=charge,
        code=line.code,
        modifiers=line.modifiers,
        units=-line.units,
        max_units=line.max_units,
        unit_price_cents=line.unit_price_cents,
        amount_cents=-line.amount_cents,
        diagnosis_codes=line.diagnosis_codes,
        basis=f"Reversal of line {line.pk}",
        status=ChargeStatus.POSTED,
        reverses=line,
        reason=reason.strip(),
        created_by=by,
        posted_at=timezone.now(),
    )
    _audit(
        request,
        by,
        reversal,
        Action.CREATE,
        clinic_id=charge.clinic_id,
        patient_id=charge.patient_id,
        reverses=line.pk,
        code=line.code.code,
        reason=reversal.reason,
    )
    return reversal


# ---- balances -------------------------------------------------------------------------------


def charge_total(charge: Charge) -> int:
    total = charge.lines.filter(status=ChargeStatus.POSTED).aggregate(s=Sum("amount_cents"))["s"]
    return int(total or 0)


def refunded_cents(payment: Payment) -> int:
    return int(payment.refunds.aggregate(s=Sum("amount_cents"))["s"] or 0)


def _net_paid(payments_qs: PaymentQuerySet) -> int:
    paid = int(payments_qs.received().aggregate(s=Sum("amount_cents"))["s"] or 0)
    back = int(
        Refund.objects.filter(payment__in=payments_qs.received()).aggregate(s=Sum("amount_cents"))[
            "s"
        ]
        or 0
    )
    return paid - back


def invoice_paid(invoice: Invoice) -> int:
    return _net_paid(Payment.objects.filter(invoice=invoice))


def payer_settled(charge: Charge) -> int:
    """What payers have paid or adjusted off this charge: not the patient's to pay."""
    return int(charge.payer_postings.aggregate(s=Sum("amount_cents"))["s"] or 0)


def invoice_balance(invoice: Invoice) -> int:
    return charge_total(invoice.charge) - payer_settled(invoice.charge) - invoice_paid(invoice)


def patient_balance(patient: Patient) -> int:
    """What the patient owes (positive) or has in credit (negative), deposits included."""
    charged = ChargeLine.objects.filter(
        clinic_id=patient.clinic_id,
        charge__patient=patient,
        status=ChargeStatus.POSTED,
    ).aggregate(s=Sum("amount_cents"))["s"]
    settled = PayerPosting.objects.filter(
        clinic_id=patient.clinic_id, charge__patient=patient
    ).aggregate(s=Sum("amount_cents"))["s"]
    return (
        int(charged or 0)
        - int(settled or 0)
        - _net_paid(Payment.objects.filter(clinic_id=patient.clinic_id, patient=patient))
    )


# ---- what payers settle -----------------------------------------------------------------------


def _check_settlement(charge: Charge, paid_cents: int, written_off_cents: int) -> None:
    """What payers settle on the posted charge stays between nothing and its total."""
    if charge.status != ChargeStatus.POSTED:
        raise BillingError("Only a posted charge can be settled by a payer.", field="charge")
    settled = payer_settled(charge) + paid_cents + written_off_cents
    total = charge_total(charge)
    if not 0 <= settled <= total:
        raise BillingError(
            f"The payer would settle {money(settled)} of a {money(total)} charge "
            f"of {charge.date_of_service:%d %B %Y}; check the remittance before posting it.",
            field="file",
        )


def _store_payer_postings(
    charge: Charge, paid_cents: int, written_off_cents: int, source: str, by: User
) -> list[PayerPosting]:
    """One posting for the payment and one for the write-off, each only when not zero."""
    return [
        PayerPosting.objects.create(
            clinic_id=charge.clinic_id,
            charge=charge,
            kind=kind,
            amount_cents=amount,
            currency=charge.currency,
            source=source[:120],
            posted_by=by,
        )
        for kind, amount in (
            (PayerPostingKind.PAID, paid_cents),
            (PayerPostingKind.WRITTEN_OFF, written_off_cents),
        )
        if amount
    ]


@transaction.atomic
def post_payer_settlement(
    *,
    charge: Charge,
    paid_cents: int,
    written_off_cents: int,
    source: str,
    by: User,
    request: HttpRequest | None = None,
) -> list[PayerPosting]:
    """Record what a payer's remittance settled on a posted charge: its payment and what the
    clinic adjusts off under the payer's contract. Patient responsibility is not posted: it
    is what stays on the charge for the patient. A take-back is a negative amount; what
    payers settle on a charge stays between nothing and the charge's total."""
    charge = Charge.objects.select_for_update().get(pk=charge.pk)
    _check_settlement(charge, paid_cents, written_off_cents)
    rows = _store_payer_postings(charge, paid_cents, written_off_cents, source, by)
    for row in rows:
        _audit(
            request,
            by,
            row,
            Action.CREATE,
            clinic_id=charge.clinic_id,
            patient_id=charge.patient_id,
            charge=charge.pk,
            kind=row.kind,
            amount_cents=row.amount_cents,
            source=row.source,
        )
    return rows


# ---- payments and refunds ---------------------------------------------------------------------


def _check_invoice(patient: Patient, invoice: Invoice | None, amount_cents: int) -> None:
    if invoice is None:
        return
    if invoice.patient_id != patient.pk or invoice.clinic_id != patient.clinic_id:
        raise BillingError("That invoice is not this patient's.", field="invoice")
    if amount_cents > invoice_balance(invoice):
        raise BillingError(
            f"That is more than the {money(invoice_balance(invoice))} still owed on the invoice; "
            "take the rest as a deposit.",
            field="amount",
        )


def _check_hand_payment(method: str, amount_cents: int, reference: str) -> None:
    if method not in (PaymentMethod.CASH, PaymentMethod.CHEQUE):
        raise BillingError(
            "Take cash or a cheque here; cards go through a payment link.", field="method"
        )
    if amount_cents <= 0 or amount_cents > MAX_CENTS:
        raise BillingError("Enter an amount above zero.", field="amount")
    if method == PaymentMethod.CHEQUE and not reference.strip():
        raise BillingError("Enter the cheque number.", field="reference")
    if len(reference) > 60:
        raise BillingError("The reference is longer than 60 characters.", field="reference")


@transaction.atomic
def record_payment(
    *,
    patient: Patient,
    amount_cents: int,
    method: str,
    by: User,
    invoice: Invoice | None = None,
    reference: str = "",
    request: HttpRequest | None = None,
) -> Payment:
    """Cash or cheque taken by hand, against an invoice or (without one) as a deposit."""
    _check_hand_payment(method, amount_cents, reference)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    _check_invoice(patient, invoice, amount_cents)
    now = timezone.now()
    payment = Payment.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        invoice=invoice,
        is_deposit=invoice is None,
        method=method,
        amount_cents=amount_cents,
        status=PaymentStatus.COMPLETED,
        reference=reference.strip(),
        received_by=by,
        created_at=now,
        completed_at=now,
    )
    _audit(
        request,
        by,
        payment,
        Action.CREATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        amount_cents=amount_cents,
        method=method,
        invoice=invoice.number if invoice else None,
    )
    return payment


def payment_link_email(
    patient: Patient, amount_cents: int, invoice: Invoice | None, url: str
) -> tuple[str, str]:
    """(subject, body) of a payment link, in the patient's language."""
    clinic = patient.clinic
    with in_language_of(patient):
        what = _("Invoice %(number)s") % {"number": invoice.number} if invoice else _("Deposit")
        values = {"clinic": clinic.name, "amount": money(amount_cents), "what": what, "url": url}
        body = (
            _("%(clinic)s has sent you a secure payment link for %(amount)s (%(what)s).") % values
            + "\n\n"
            + _("Pay here: %(url)s") % values
            + "\n\n"
            + _(
                "Card details are entered on the payment provider's page and never reach "
                "%(clinic)s."
            )
            % values
        )
        return _("Payment link from %(clinic)s") % values, body


def _link_address(patient: Patient, amount_cents: int, email: str) -> str:
    """Where the link goes; refuses an amount out of range or no usable address."""
    if amount_cents <= 0 or amount_cents > MAX_CENTS:
        raise BillingError("Enter an amount above zero.", field="amount")
    to = (email or patient.email).strip()
    if not to or "@" not in to:
        raise BillingError("The patient has no email address for the link.", field="email")
    return to


def _store_checkout(
    patient: Patient, amount_cents: int, invoice: Invoice | None, to: str, by: User
) -> Payment:
    """A hosted checkout opened with the provider, kept as a payment waiting to be paid."""
    what = f"Invoice {invoice.number}" if invoice else "Deposit"
    checkout = payments.provider().create_checkout(
        amount_cents=amount_cents,
        currency="USD",
        description=f"{patient.clinic.name}: {what}",
        return_url=f"{_site()}/portal/",
    )
    return Payment.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        invoice=invoice,
        is_deposit=invoice is None,
        method=PaymentMethod.CARD,
        amount_cents=amount_cents,
        status=PaymentStatus.PENDING,
        provider=checkout.provider,
        provider_reference=checkout.reference,
        checkout_url=checkout.url,
        emailed_to=to,
        received_by=by,
    )


@transaction.atomic
def send_payment_link(
    *,
    patient: Patient,
    amount_cents: int,
    by: User,
    invoice: Invoice | None = None,
    email: str = "",
    request: HttpRequest | None = None,
) -> Payment:
    """Open a hosted checkout for the amount and email its link to the patient."""
    to = _link_address(patient, amount_cents, email)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    _check_invoice(patient, invoice, amount_cents)
    payment = _store_checkout(patient, amount_cents, invoice, to, by)
    subject, body = payment_link_email(patient, amount_cents, invoice, payment.checkout_url)
    transaction.on_commit(lambda: send_mail(subject, body, None, [to]))
    _audit(
        request,
        by,
        payment,
        Action.CREATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        amount_cents=amount_cents,
        method=PaymentMethod.CARD.value,
        provider=payment.provider,
    )
    return payment


def _site() -> str:
    return str(settings.SITE_URL).rstrip("/")


@transaction.atomic
def confirm_checkout(*, payment: Payment, by: User, request: HttpRequest | None = None) -> Payment:
    """Ask the provider whether the checkout was paid; mark the payment received if so."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.PENDING or payment.method != PaymentMethod.CARD:
        raise BillingError("Only a waiting payment link can be confirmed.")
    if not payments.provider(payment.provider).is_paid(payment.provider_reference):
        raise BillingError("The payment provider has not received this payment yet.")
    payment.status = PaymentStatus.COMPLETED
    payment.completed_at = timezone.now()
    payment.save(update_fields=["status", "completed_at"])
    _audit(
        request,
        by,
        payment,
        Action.UPDATE,
        clinic_id=payment.clinic_id,
        patient_id=payment.patient_id,
        status=PaymentStatus.COMPLETED.value,
    )
    return payment


def _check_refund(payment: Payment, amount_cents: int, reason: str) -> None:
    """A received payment, a reason, and no more than is left of it to give back."""
    if payment.status != PaymentStatus.COMPLETED:
        raise BillingError("Only a received payment can be refunded.")
    if not reason.strip():
        raise BillingError("Say why the money is given back.", field="reason")
    if amount_cents <= 0:
        raise BillingError("Enter an amount above zero.", field="amount")
    left = payment.amount_cents - refunded_cents(payment)
    if amount_cents > left:
        raise BillingError(f"Only {money(left)} of this payment is left to refund.", field="amount")


@transaction.atomic
def refund_payment(
    *,
    payment: Payment,
    amount_cents: int,
    reason: str,
    by: User,
    request: HttpRequest | None = None,
) -> Refund:
    """Give money back; all refunds of a payment together never exceed what was paid."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    _check_refund(payment, amount_cents, reason)
    reference = ""
    if payment.method == PaymentMethod.CARD:
        reference = payments.provider(payment.provider).refund(
            payment.provider_reference, amount_cents
        )
    refund = Refund.objects.create(
        clinic_id=payment.clinic_id,
        payment=payment,
        amount_cents=amount_cents,
        reason=reason.strip(),
        provider_reference=reference,
        refunded_by=by,
    )
    _audit(
        request,
        by,
        refund,
        Action.CREATE,
        clinic_id=payment.clinic_id,
        patient_id=payment.patient_id,
        payment=payment.pk,
        amount_cents=amount_cents,
        reason=refund.reason,
    )
    return refund


# ---- clinician identifiers --------------------------------------------------------------------


@transaction.atomic
def set_clinician_npi(
    *, clinic: Clinic, clinician: User, npi: str, by: User, request: HttpRequest | None = None
) -> User:
    """Record a clinician's own NPI (checked by its check digit) for superbills and claims."""
    value = npi.strip()
    if value and not npi_is_valid(value):
        raise BillingError("An NPI is 10 digits with a valid check digit.", field="npi")
    if not StaffMembership.objects.active().filter(clinic=clinic, user=clinician).exists():
        raise BillingError("That person is not on this clinic's staff.", field="clinician")
    before = clinician.npi
    clinician.npi = value
    clinician.save(update_fields=["npi"])
    _audit(
        request,
        by,
        clinician,
        Action.UPDATE,
        clinic_id=clinic.pk,
        patient_id=None,
        npi={"before": before, "after": value},
    )
    return clinician
