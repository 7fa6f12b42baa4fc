"""Billing pages: the worklist, a charge's review and posting, a patient's account,
payments and refunds, fee schedules, reports, and the patient's own statements."""

from __future__ import annotations

import csv
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.billing import documents, payments, reports, services
from katclinic.billing.codes import billable_codes
from katclinic.billing.forms import (
    AddLineForm,
    AdjustLineForm,
    FeeScheduleForm,
    LinkForm,
    NpiForm,
    PaymentForm,
    PeriodForm,
    ReasonForm,
    RefundForm,
)
from katclinic.billing.models import (
    BillingCode,
    Charge,
    ChargeLine,
    ChargeStatus,
    CodeSystem,
    FeeSchedule,
    Invoice,
    PayerPostingKind,
    Payment,
    PaymentStatus,
)
from katclinic.billing.services import BillingError
from katclinic.clinics.access import (
    deny,
    get_in_clinic,
    get_patient_for_user,
    has_perm,
    staff_view,
)
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.middleware import clinic_zone
from katclinic.clinics.permissions import Perm
from katclinic.dosing.models import DosingSession
from katclinic.dosing.statemachine import SessionState
from katclinic.insurance.claims import awaiting_payer
from katclinic.patients.models import Patient
from katclinic.patients.views import chart_tabs
from katclinic.portal.access import get_own_patient


def _viewed(request: StaffRequest, obj: Any, patient_id: int | None, what: str) -> None:
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=request.clinic.pk,
        patient_id=patient_id,
        obj=obj,
        detail={"section": what},
    )


def _charge(request: StaffRequest, charge_id: int) -> Charge:
    related = Charge.objects.select_related("patient", "clinic", "session", "rendering_clinician")
    return get_in_clinic(request, related, charge_id, what="charge")


def _line(request: StaffRequest, line_id: int) -> ChargeLine:
    related = ChargeLine.objects.select_related("charge", "code")
    return get_in_clinic(request, related, line_id, what="charge line")


def _payment(request: StaffRequest, payment_id: int) -> Payment:
    related = Payment.objects.select_related("patient", "invoice")
    return get_in_clinic(request, related, payment_id, what="payment")


def _money_rows(rows: list[dict], currency: str = "USD") -> list[dict]:
    for row in rows:
        for key in list(row):
            if key.endswith("_cents"):
                row[key.removesuffix("_cents")] = services.money(row[key] or 0, currency)
    return rows


def _form_error(form: forms.Form, exc: BillingError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc))


# ---- worklist -------------------------------------------------------------------------------


@require_GET
@staff_view(Perm.VIEW_BILLING)
def home(request: StaffRequest) -> HttpResponse:
    clinic = request.clinic
    waiting = list(
        DosingSession.objects.for_clinic(clinic)
        .filter(state=SessionState.DISCHARGED, charge__isnull=True)
        .select_related("patient")
        .order_by("-discharged_at")[:50]
    )
    proposed = list(
        Charge.objects.for_clinic(clinic)
        .filter(status=ChargeStatus.PROPOSED)
        .select_related("patient")[:50]
    )
    posted = list(Charge.objects.for_clinic(clinic).posted().select_related("patient")[:20])
    for charge in proposed + posted:
        charge.total = services.money(  # type: ignore[attr-defined]
            sum(line.amount_cents for line in charge.lines.all())
        )
    audit.record_list(
        request=request,
        patient_ids=[s.patient_id for s in waiting] + [c.patient_id for c in proposed + posted],
        what="billing worklist",
    )
    return render(
        request,
        "billing/home.html",
        {
            "waiting": waiting,
            "proposed": proposed,
            "posted": posted,
            "can_post": has_perm(request, Perm.POST_CHARGES),
            "zone": timezone.get_current_timezone_name(),
        },
    )


@require_POST
@staff_view(Perm.POST_CHARGES)
def propose(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_in_clinic(request, DosingSession.objects, session_id, what="session")
    try:
        charge = services.propose_charge(session=session, by=request.user, request=request)
    except BillingError as exc:
        messages.error(request, str(exc))
        return redirect("billing:home")
    return redirect("billing:charge", charge_id=charge.pk)


# ---- one charge -------------------------------------------------------------------------------


def _line_form(line: ChargeLine, forms_: dict[str, forms.Form]) -> forms.Form:
    """The line's refused change when there is one, otherwise its current values."""
    return forms_.get(f"adjust_{line.pk}") or AdjustLineForm(
        initial={
            "units": line.units,
            "unit_price": f"{line.unit_price_cents / 100:.2f}" if line.unit_price_cents else "",
            "modifiers": line.modifiers,
            "diagnoses": ", ".join(line.diagnosis_codes),
        },
        auto_id=f"l{line.pk}_%s",
    )


def _shown_lines(charge: Charge, forms_: dict[str, forms.Form]) -> list[ChargeLine]:
    """The charge's lines with their amounts as text, whether reversed, and their forms."""
    lines = list(charge.lines.select_related("code", "reverses"))
    reversed_ids = {line.reverses_id for line in lines if line.reverses_id}
    for line in lines:
        line.price = services.money(line.unit_price_cents, charge.currency)  # type: ignore[attr-defined]
        line.amount = services.money(line.amount_cents, charge.currency)  # type: ignore[attr-defined]
        line.is_reversed = line.pk in reversed_ids  # type: ignore[attr-defined]
        line.form = _line_form(line, forms_)  # type: ignore[attr-defined]
    return lines


def _charge_page(
    request: StaffRequest, charge: Charge, status: int = 200, **forms_: forms.Form
) -> HttpResponse:
    lines = _shown_lines(charge, forms_)
    invoice = Invoice.objects.filter(charge=charge).first()
    total = (
        services.charge_total(charge)
        if charge.status == ChargeStatus.POSTED
        else sum(line.amount_cents for line in lines)
    )
    context = {
        "charge": charge,
        "patient": charge.patient,
        "lines": lines,
        "total": services.money(total, charge.currency),
        "invoice": invoice,
        "paid": services.money(services.invoice_paid(invoice)) if invoice else None,
        "balance": services.money(services.invoice_balance(invoice)) if invoice else None,
        "add_form": forms_.get("add") or AddLineForm(),
        "reason_form": forms_.get("reason") or ReasonForm(),
        "error_line": forms_.get("error_line"),
        # The line change that was refused, for the notice above the lines.
        "refused_change": next((f for k, f in forms_.items() if k.startswith("adjust_")), None),
        "codes": services_codes(charge.date_of_service),
        "can_post": has_perm(request, Perm.POST_CHARGES),
        "can_pay": has_perm(request, Perm.TAKE_PAYMENT),
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, "billing/charge.html", context, status=status)


def services_codes(day: date) -> list[BillingCode]:
    return billable_codes(on=day)


@require_GET
@staff_view(Perm.VIEW_BILLING)
def charge(request: StaffRequest, charge_id: int) -> HttpResponse:
    found = _charge(request, charge_id)
    _viewed(request, found, found.patient_id, "charge")
    return _charge_page(request, found)


@require_POST
@staff_view(Perm.POST_CHARGES)
def adjust_line(request: StaffRequest, line_id: int) -> HttpResponse:
    line = _line(request, line_id)
    form = AdjustLineForm(request.POST, auto_id=f"l{line.pk}_%s")
    if form.is_valid():
        try:
            services.adjust_line(
                line=line,
                units=form.cleaned_data["units"],
                unit_price_cents=form.cleaned_data["unit_price"],
                modifiers=form.cleaned_data["modifiers"],
                diagnosis_codes=form.diagnosis_list(),
                reason=form.cleaned_data["reason"],
                by=request.user,
                request=request,
            )
            messages.success(request, f"{line.code.code} changed.")
            return redirect("billing:charge", charge_id=line.charge_id)
        except BillingError as exc:
            _form_error(form, exc)
    return _charge_page(request, line.charge, 400, **{f"adjust_{line.pk}": form})


@require_POST
@staff_view(Perm.POST_CHARGES)
def add_line(request: StaffRequest, charge_id: int) -> HttpResponse:
    found = _charge(request, charge_id)
    form = AddLineForm(request.POST)
    if form.is_valid():
        code = (
            BillingCode.objects.valid_on(found.date_of_service)
            .filter(
                code=form.cleaned_data["code"].strip().upper(),
                system__in=[CodeSystem.HCPCS, CodeSystem.CPT],
            )
            .first()
        )
        if code is None:
            form.add_error("code", "Not a billable code on the date of service.")
        else:
            try:
                services.add_line(
                    charge=found,
                    code=code,
                    units=form.cleaned_data["units"],
                    unit_price_cents=form.cleaned_data["unit_price"],
                    modifiers=form.cleaned_data["modifiers"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    request=request,
                )
                messages.success(request, f"{code.code} added.")
                return redirect("billing:charge", charge_id=found.pk)
            except BillingError as exc:
                _form_error(form, exc)
    return _charge_page(request, found, 400, add=form)


def _reason_action(request: StaffRequest, line: ChargeLine, action: Any, done: str) -> HttpResponse:
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            action(line=line, reason=form.cleaned_data["reason"], by=request.user, request=request)
            messages.success(request, done)
            return redirect("billing:charge", charge_id=line.charge_id)
        except BillingError as exc:
            _form_error(form, exc)
    return _charge_page(request, line.charge, 400, reason=form, error_line=line.pk)  # type: ignore[arg-type]


@require_POST
@staff_view(Perm.POST_CHARGES)
def drop_line(request: StaffRequest, line_id: int) -> HttpResponse:
    line = _line(request, line_id)
    return _reason_action(request, line, services.drop_line, f"{line.code.code} taken off.")


@require_POST
@staff_view(Perm.POST_CHARGES)
def reverse_line(request: StaffRequest, line_id: int) -> HttpResponse:
    line = _line(request, line_id)
    return _reason_action(request, line, services.reverse_line, f"{line.code.code} reversed.")


@require_POST
@staff_view(Perm.POST_CHARGES)
def post_charge(request: StaffRequest, charge_id: int) -> HttpResponse:
    found = _charge(request, charge_id)
    try:
        services.post_charge(charge=found, by=request.user, request=request)
    except BillingError as exc:
        form = ReasonForm.refused(str(exc))
        return _charge_page(request, found, 400, reason=form, error_line=0)  # type: ignore[arg-type]
    messages.success(request, "Charge posted and invoice issued.")
    return redirect("billing:charge", charge_id=found.pk)


def _pdf(body: bytes, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _export(request: HttpRequest, obj: Any, patient_id: int, what: str) -> None:
    audit.record(
        request=request,
        action=Action.EXPORT,
        clinic_id=obj.clinic_id,
        patient_id=patient_id,
        obj=obj,
        detail={"document": what},
    )


@require_GET
@staff_view(Perm.VIEW_BILLING)
def superbill(request: StaffRequest, charge_id: int) -> HttpResponse:
    found = _charge(request, charge_id)
    if found.status != ChargeStatus.POSTED:
        messages.error(request, "A superbill is given for a posted charge.")
        return redirect("billing:charge", charge_id=found.pk)
    _export(request, found, found.patient_id, "superbill")
    body = documents.superbill_for_patient(found)
    return _pdf(body, f"superbill-{found.date_of_service.isoformat()}.pdf")


# ---- a patient's account ------------------------------------------------------------------


def _payer_summary(charge: Charge, waiting_cents: int | None) -> str:
    """What insurance did with the charge, in words: waiting, or paid and adjusted."""
    if waiting_cents is not None:
        return f"Waiting for the payer ({services.money(waiting_cents)} claimed)"
    postings = list(charge.payer_postings.all())
    if not postings:
        return ""
    paid = sum(p.amount_cents for p in postings if p.kind == PayerPostingKind.PAID)
    off = sum(p.amount_cents for p in postings if p.kind == PayerPostingKind.WRITTEN_OFF)
    return f"Insurance paid {services.money(paid)}, adjusted {services.money(off)}"


def _account_page(
    request: StaffRequest, patient: Patient, status: int = 200, **forms_: forms.Form
) -> HttpResponse:
    invoices = list(Invoice.objects.filter(patient=patient).select_related("charge"))
    waiting = awaiting_payer([invoice.charge for invoice in invoices])
    for invoice in invoices:
        invoice.total = services.money(services.charge_total(invoice.charge))  # type: ignore[attr-defined]
        invoice.owed_cents = services.invoice_balance(invoice)  # type: ignore[attr-defined]
        invoice.owed = services.money(invoice.owed_cents)  # type: ignore[attr-defined]
        invoice.payer = _payer_summary(invoice.charge, waiting.get(invoice.charge_id))  # type: ignore[attr-defined]
    zone = clinic_zone(patient.clinic.timezone)
    pays = list(Payment.objects.filter(patient=patient).select_related("invoice"))
    for payment in pays:
        payment.amount = services.money(payment.amount_cents)  # type: ignore[attr-defined]
        payment.refunded = services.money(services.refunded_cents(payment))  # type: ignore[attr-defined]
        payment.when = timezone.localtime(payment.created_at, zone)  # type: ignore[attr-defined]
    balance = services.patient_balance(patient)
    return render(
        request,
        "billing/account.html",
        {
            "patient": patient,
            "tabs": chart_tabs(request, patient, "billing"),
            "invoices": invoices,
            "payments": pays,
            "balance": services.money(abs(balance)),
            "in_credit": balance < 0,
            "waiting": services.money(min(balance, sum(waiting.values())))
            if waiting and balance > 0
            else "",
            "pay_form": forms_.get("pay") or PaymentForm(),
            "link_form": forms_.get("link") or LinkForm(),
            "refund_form": forms_.get("refund") or RefundForm(),
            "refund_error": forms_.get("refund_for"),
            "can_pay": has_perm(request, Perm.TAKE_PAYMENT),
            "can_refund": has_perm(request, Perm.REFUND_PAYMENT),
            "zone": zone.key,
        },
        status=status,
    )


def _billing_patient(request: StaffRequest, patient_id: int) -> Patient:
    if not request.user.is_staff_member:
        deny(request, reason="staff page", patient_id=patient_id)
    return get_patient_for_user(request, patient_id, Perm.VIEW_BILLING)


@require_GET
@staff_view(Perm.VIEW_BILLING)
def account(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = _billing_patient(request, patient_id)
    _viewed(request, patient, patient.pk, "billing account")
    return _account_page(request, patient)


@require_POST
@staff_view(Perm.TAKE_PAYMENT)
def take_payment(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = _billing_patient(request, patient_id)
    form = PaymentForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            payment = services.record_payment(
                patient=patient,
                amount_cents=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                reference=form.cleaned_data["reference"],
                invoice=form.cleaned_data["invoice"],
                by=request.user,
                request=request,
            )
        except BillingError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{services.money(payment.amount_cents)} received.")
            return redirect("billing:account", patient_id=patient.pk)
    return _account_page(request, patient, 400, pay=form)


@require_POST
@staff_view(Perm.TAKE_PAYMENT)
def send_link(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = _billing_patient(request, patient_id)
    form = LinkForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            payment = services.send_payment_link(
                patient=patient,
                amount_cents=form.cleaned_data["amount"],
                email=form.cleaned_data["email"] or "",
                invoice=form.cleaned_data["invoice"],
                by=request.user,
                request=request,
            )
        except BillingError as exc:
            _form_error(form, exc)
        except payments.ProviderError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Payment link sent to {payment.emailed_to}.")
            return redirect("billing:account", patient_id=patient.pk)
    return _account_page(request, patient, 400, link=form)


@require_POST
@staff_view(Perm.TAKE_PAYMENT)
def confirm_link(request: StaffRequest, payment_id: int) -> HttpResponse:
    payment = _payment(request, payment_id)
    try:
        services.confirm_checkout(payment=payment, by=request.user, request=request)
        messages.success(request, "Card payment received.")
    except (BillingError, payments.ProviderError) as exc:
        messages.error(request, str(exc))
        return _account_page(request, payment.patient, 400)
    return redirect("billing:account", patient_id=payment.patient_id)


@require_POST
@staff_view(Perm.REFUND_PAYMENT)
def refund(request: StaffRequest, payment_id: int) -> HttpResponse:
    payment = _payment(request, payment_id)
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            services.refund_payment(
                payment=payment,
                amount_cents=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                by=request.user,
                request=request,
            )
            messages.success(request, "Refund recorded.")
            return redirect("billing:account", patient_id=payment.patient_id)
        except (BillingError, payments.ProviderError) as exc:
            if isinstance(exc, BillingError):
                _form_error(form, exc)
            else:
                form.add_error(None, str(exc))
    return _account_page(request, payment.patient, 400, refund=form, refund_for=payment.pk)  # type: ignore[arg-type]


@require_GET
@staff_view(Perm.VIEW_BILLING)
def receipt(request: StaffRequest, payment_id: int) -> HttpResponse:
    payment = _payment(request, payment_id)
    if payment.status != PaymentStatus.COMPLETED:
        messages.error(request, "A receipt is given once the payment is received.")
        return redirect("billing:account", patient_id=payment.patient_id)
    _export(request, payment, payment.patient_id, "receipt")
    return _pdf(documents.receipt_pdf(payment), f"receipt-{payment.pk}.pdf")


# ---- fee schedules --------------------------------------------------------------------------


def _fees_page(request: StaffRequest, form: FeeScheduleForm, status: int = 200) -> HttpResponse:
    clinic = request.clinic
    schedules = list(FeeSchedule.objects.filter(clinic=clinic).prefetch_related("fees__code"))
    for schedule in schedules:
        schedule.rows = [  # type: ignore[attr-defined]
            (fee.code.code, fee.code.short_description, services.money(fee.amount_cents))
            for fee in sorted(schedule.fees.all(), key=lambda f: f.code.code)
        ]
    return render(
        request,
        "billing/fees.html",
        {
            "schedules": schedules,
            "form": form,
            "codes": services_codes(timezone.localdate()),
        },
        status=status,
    )


@require_GET
@staff_view(Perm.MANAGE_FEES)
def fees(request: StaffRequest) -> HttpResponse:
    return _fees_page(request, FeeScheduleForm())


@require_POST
@staff_view(Perm.MANAGE_FEES)
def fees_new(request: StaffRequest) -> HttpResponse:
    form = FeeScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.create_fee_schedule(
                clinic=request.clinic,
                name=form.cleaned_data["name"],
                payer=form.cleaned_data["payer"],
                valid_from=form.cleaned_data["valid_from"],
                fees=form.cleaned_data["fees"],
                by=request.user,
                request=request,
            )
            messages.success(request, "Fee schedule saved.")
            return redirect("billing:fees")
        except BillingError as exc:
            _form_error(form, exc)
    return _fees_page(request, form, 400)


# ---- clinician identifiers ------------------------------------------------------------------


def _npi_page(
    request: StaffRequest, form: NpiForm | None = None, status: int = 200
) -> HttpResponse:
    people = list(
        User.objects.filter(
            memberships__clinic=request.clinic,
            memberships__is_active=True,
            memberships__role__in=["prescriber", "nurse", "therapist"],
        )
        .distinct()
        .order_by("full_name")
    )
    return render(
        request,
        "billing/npis.html",
        {"people": people, "form": form, "failed": form.data.get("clinician") if form else None},
        status=status,
    )


@require_GET
@staff_view(Perm.MANAGE_FEES)
def npis(request: StaffRequest) -> HttpResponse:
    return _npi_page(request)


@require_POST
@staff_view(Perm.MANAGE_FEES)
def npi_set(request: StaffRequest) -> HttpResponse:
    form = NpiForm(request.POST)
    if form.is_valid():
        person = User.objects.filter(pk=form.cleaned_data["clinician"]).first()
        if person is None:
            form.add_error("clinician", "No such clinician.")
        else:
            try:
                services.set_clinician_npi(
                    clinic=request.clinic,
                    clinician=person,
                    npi=form.cleaned_data["npi"],
                    by=request.user,
                    request=request,
                )
                messages.success(request, f"NPI saved for {person.full_name}.")
                return redirect("billing:npis")
            except BillingError as exc:
                _form_error(form, exc)
    return _npi_page(request, form, 400)


# ---- reports --------------------------------------------------------------------------------


def _period(request: StaffRequest) -> tuple[PeriodForm, date | None, date | None]:
    form = PeriodForm(request.GET or None)
    if request.GET and form.is_valid():
        return form, form.cleaned_data.get("start"), form.cleaned_data.get("end")
    return form, None, None


@require_GET
@staff_view(Perm.VIEW_BILLING_REPORTS)
def report(request: StaffRequest) -> HttpResponse:
    form, start, end = _period(request)
    if request.GET and not form.is_valid():
        return render(request, "billing/reports.html", {"form": form, "tables": []}, status=400)
    clinic = request.clinic
    today = timezone.localdate()
    tables = []
    for key, (title, columns) in reports.TABLES.items():
        rows = _money_rows(reports.table(key, clinic, today=today, start=start, end=end))
        shown = [c.removesuffix("_cents") for c in columns]
        tables.append({"key": key, "title": title, "columns": shown, "rows": rows})
    return render(
        request,
        "billing/reports.html",
        {"form": form, "tables": tables, "query": request.GET.urlencode()},
    )


@require_GET
@staff_view(Perm.VIEW_BILLING_REPORTS)
def report_csv(request: StaffRequest, table: str) -> HttpResponse:
    if table not in reports.TABLES:
        deny(request, reason="no such report", not_found=True)
    form, start, end = _period(request)
    if request.GET and not form.is_valid():
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain",
        )
    clinic = request.clinic
    _, columns = reports.TABLES[table]
    rows = reports.table(table, clinic, today=timezone.localdate(), start=start, end=end)
    audit.record(
        request=request,
        action=Action.EXPORT,
        clinic_id=clinic.pk,
        object_type="billing report",
        object_id=table,
        detail={"start": str(start or ""), "end": str(end or "")},
    )
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="billing-{table}.csv"'
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    return response


# ---- the patient's own statements (portal) ------------------------------------------------


@require_GET
def my_statements(request: HttpRequest, patient_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    patient = get_own_patient(request, patient_id)
    invoices = list(
        Invoice.objects.filter(patient=patient, clinic_id=patient.clinic_id).select_related(
            "charge"
        )
    )
    for invoice in invoices:
        invoice.total = services.money(services.charge_total(invoice.charge))  # type: ignore[attr-defined]
        invoice.paid = services.money(services.invoice_paid(invoice))  # type: ignore[attr-defined]
        invoice.owed = services.money(services.invoice_balance(invoice))  # type: ignore[attr-defined]
    links = Payment.objects.filter(
        patient=patient, status=PaymentStatus.PENDING, checkout_url__gt=""
    ).filter(~Q(checkout_url=""))
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "portal statements"},
    )
    return render(
        request,
        "billing/my_statements.html",
        {"patient": patient, "invoices": invoices, "links": links},
    )


@require_GET
def my_superbill(request: HttpRequest, patient_id: int, charge_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    patient = get_own_patient(request, patient_id)
    found = Charge.objects.filter(
        pk=charge_id, patient=patient, clinic_id=patient.clinic_id, status=ChargeStatus.POSTED
    ).first()
    if found is None:
        deny(request, reason="not this patient's charge", patient_id=patient.pk, not_found=True)
    _export(request, found, patient.pk, "superbill (portal)")
    body = documents.superbill_for_patient(found)
    return _pdf(body, f"superbill-{found.date_of_service.isoformat()}.pdf")
