"""The superbill and the receipt: their content as data first, then drawn as a PDF.

A superbill is the itemised statement a self-pay patient sends to their insurer for
out-of-network reimbursement: the clinic's and clinician's NPI, the clinic's tax id, the
dates of service, the codes with their diagnoses, and what was charged and paid.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from katclinic.billing import services
from katclinic.billing.models import Charge, ChargeStatus, Payment
from katclinic.clinics.middleware import clinic_zone
from katclinic.outcomes.pdf import Document, latin1
from katclinic.patients.language import in_language_of


def _superbill_lines(charge: Charge) -> list[dict[str, Any]]:
    return [
        {
            "date": charge.date_of_service.isoformat(),
            "code": line.code.code,
            "modifiers": line.modifiers,
            "description": line.code.short_description,
            "units": line.units,
            "diagnoses": ", ".join(line.diagnosis_codes),
            "amount": services.money(line.amount_cents, charge.currency),
        }
        for line in charge.lines.filter(status=ChargeStatus.POSTED).select_related("code")
    ]


def _superbill_diagnoses(charge: Charge) -> list[str]:
    """Every line's diagnosis codes, each once, in the order they first appear."""
    diagnoses: list[str] = []
    for line in charge.lines.all():
        for code in line.diagnosis_codes:
            if code not in diagnoses:
                diagnoses.append(code)
    return diagnoses


def _superbill_parties(charge: Charge) -> dict[str, Any]:
    """The clinic, the rendering clinician and the patient, with what is missing said so."""
    clinic = charge.clinic
    patient = charge.patient
    clinician = charge.rendering_clinician
    missing = _("not recorded")
    return {
        "clinic": {
            "name": clinic.name,
            "address": clinic.address,
            "phone": clinic.phone,
            "npi": clinic.npi or missing,
            "tax_id": clinic.tax_id or missing,
        },
        "clinician": {
            "name": clinician.full_name if clinician else missing,
            "npi": (clinician.npi if clinician else "") or missing,
        },
        "patient": {
            "name": patient.full_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "mrn": patient.mrn,
            "address": patient.address,
        },
    }


def superbill_data(charge: Charge) -> dict[str, Any]:
    """Everything the superbill shows, for the page, the PDF and the tests alike."""
    invoice = getattr(charge, "invoice", None)
    paid = services.invoice_paid(invoice) if invoice else 0
    total = services.charge_total(charge)
    return {
        **_superbill_parties(charge),
        "invoice": invoice.number if invoice else "",
        "dates_of_service": [charge.date_of_service.isoformat()],
        "place_of_service": charge.place_of_service,
        "diagnoses": _superbill_diagnoses(charge),
        "lines": _superbill_lines(charge),
        "total": services.money(total, charge.currency),
        "paid": services.money(paid, charge.currency),
        "balance": services.money(total - paid, charge.currency),
    }


def superbill_for_patient(charge: Charge) -> bytes:
    """The superbill PDF in the patient's language (codes and amounts are the same in all)."""
    with in_language_of(charge.patient):
        return superbill_pdf(superbill_data(charge))


def _superbill_head(data: dict[str, Any]) -> Document:
    clinic, patient, clinician = data["clinic"], data["patient"], data["clinician"]
    pdf = Document(
        _("Superbill (itemised statement for insurance reimbursement)"),
        f"{clinic['name']} · {clinic['address']} · {clinic['phone']}".strip(" ·"),
    )
    pdf.heading(_("Provider"))
    pdf.paragraph(
        _("Clinic NPI: %(npi)s    Tax id: %(tax_id)s") % clinic
        + "\n"
        + _("Rendering clinician: %(name)s    NPI: %(npi)s") % clinician
        + "\n"
        + _("Place of service: %(code)s (office)") % {"code": data["place_of_service"]}
    )
    pdf.heading(_("Patient"))
    pdf.paragraph(
        _("%(name)s    Date of birth: %(date_of_birth)s    Record no.: %(mrn)s") % patient
    )
    pdf.heading(_("Services"))
    pdf.paragraph(_("Dates of service:") + " " + ", ".join(data["dates_of_service"]))
    diagnoses = ", ".join(data["diagnoses"]) or _("none recorded")
    pdf.paragraph(_("Diagnoses (ICD-10-CM):") + " " + diagnoses)
    return pdf


def superbill_pdf(data: dict[str, Any]) -> bytes:
    pdf = _superbill_head(data)
    widths = (22, 18, 12, 78, 12, 20, 24)
    titles = (
        _("Date"),
        _("Code"),
        _("Mod"),
        _("Description"),
        _("Units"),
        _("Diagnoses"),
        _("Amount"),
    )
    pdf.set_font("Helvetica", "B", 8)
    for width, title in zip(widths, titles, strict=True):
        pdf.cell(width, 6, latin1(title), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for line in data["lines"]:
        values = (
            line["date"],
            line["code"],
            line["modifiers"],
            line["description"][:52],
            str(line["units"]),
            line["diagnoses"],
            line["amount"],
        )
        for width, value in zip(widths, values, strict=True):
            pdf.cell(width, 6, latin1(value), border=1)
        pdf.ln()
    pdf.ln(2)
    pdf.paragraph(
        _("Total charged: %(total)s    Amount paid: %(paid)s    Balance: %(balance)s") % data
    )
    if data["invoice"]:
        pdf.paragraph(_("Invoice %(number)s") % {"number": data["invoice"]})
    return bytes(pdf.output())


def receipt_pdf(payment: Payment) -> bytes:
    """The receipt, in the patient's language."""
    with in_language_of(payment.patient):
        return _receipt(payment)


def _receipt(payment: Payment) -> bytes:
    clinic = payment.patient.clinic
    zone = clinic_zone(clinic.timezone)
    when = timezone.localtime(payment.completed_at or payment.created_at, zone)
    pdf = Document(_("Receipt"), f"{clinic.name} · {clinic.address}".strip(" ·"))
    refunded = services.refunded_cents(payment)
    method = str(payment.get_method_display())
    if payment.reference:
        method += " " + _("(no. %(reference)s)") % {"reference": payment.reference}
    lines = [
        _("Received from: %(name)s") % {"name": payment.patient.full_name},
        _("Amount: %(amount)s")
        % {"amount": services.money(payment.amount_cents, payment.currency)},
        _("Method: %(method)s") % {"method": method},
        _("Received: %(when)s (%(zone)s)") % {"when": f"{when:%Y-%m-%d %H:%M}", "zone": zone.key},
        _("For invoice %(number)s") % {"number": payment.invoice.number}
        if payment.invoice
        else _("Deposit"),
    ]
    if refunded:
        lines.append(
            _("Refunded: %(amount)s") % {"amount": services.money(refunded, payment.currency)}
        )
    lines.append(_("Tax id: %(tax_id)s") % {"tax_id": clinic.tax_id or _("not recorded")})
    pdf.paragraph("\n".join(lines))
    return bytes(pdf.output())
