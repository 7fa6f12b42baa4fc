"""The superbill and the receipt: their content as data first, then drawn as a PDF.

A superbill is the itemised statement a self-pay patient sends to their insurer for
out-of-network reimbursement: the clinic's and clinician's NPI, the clinic's tax id, the
dates of service, the codes with their diagnoses, and what was charged and paid.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from katclinic.billing import services
from katclinic.billing.models import Charge, ChargeStatus, Payment
from katclinic.clinics.middleware import clinic_zone
from katclinic.outcomes.pdf import Document, latin1


def superbill_data(charge: Charge) -> dict[str, Any]:
    """Everything the superbill shows, for the page, the PDF and the tests alike."""
    clinic = charge.clinic
    patient = charge.patient
    clinician = charge.rendering_clinician
    lines = []
    for line in charge.lines.filter(status=ChargeStatus.POSTED).select_related("code"):
        lines.append(
            {
                "date": charge.date_of_service.isoformat(),
                "code": line.code.code,
                "modifiers": line.modifiers,
                "description": line.code.short_description,
                "units": line.units,
                "diagnoses": ", ".join(line.diagnosis_codes),
                "amount": services.money(line.amount_cents, charge.currency),
            }
        )
    invoice = getattr(charge, "invoice", None)
    paid = services.invoice_paid(invoice) if invoice else 0
    total = services.charge_total(charge)
    diagnoses = []
    for line in charge.lines.all():
        for code in line.diagnosis_codes:
            if code not in diagnoses:
                diagnoses.append(code)
    return {
        "clinic": {
            "name": clinic.name,
            "address": clinic.address,
            "phone": clinic.phone,
            "npi": clinic.npi or "not recorded",
            "tax_id": clinic.tax_id or "not recorded",
        },
        "clinician": {
            "name": clinician.full_name if clinician else "not recorded",
            "npi": (clinician.npi if clinician else "") or "not recorded",
        },
        "patient": {
            "name": patient.full_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "mrn": patient.mrn,
            "address": patient.address,
        },
        "invoice": invoice.number if invoice else "",
        "dates_of_service": [charge.date_of_service.isoformat()],
        "place_of_service": charge.place_of_service,
        "diagnoses": diagnoses,
        "lines": lines,
        "total": services.money(total, charge.currency),
        "paid": services.money(paid, charge.currency),
        "balance": services.money(total - paid, charge.currency),
    }


def superbill_pdf(data: dict[str, Any]) -> bytes:
    clinic, patient, clinician = data["clinic"], data["patient"], data["clinician"]
    pdf = Document(
        "Superbill (itemised statement for insurance reimbursement)",
        f"{clinic['name']} · {clinic['address']} · {clinic['phone']}".strip(" ·"),
    )
    pdf.heading("Provider")
    pdf.paragraph(
        f"Clinic NPI: {clinic['npi']}    Tax id: {clinic['tax_id']}\n"
        f"Rendering clinician: {clinician['name']}    NPI: {clinician['npi']}\n"
        f"Place of service: {data['place_of_service']} (office)"
    )
    pdf.heading("Patient")
    pdf.paragraph(
        f"{patient['name']}    Date of birth: {patient['date_of_birth']}    "
        f"Record no.: {patient['mrn']}"
    )
    pdf.heading("Services")
    pdf.paragraph("Dates of service: " + ", ".join(data["dates_of_service"]))
    pdf.paragraph("Diagnoses (ICD-10-CM): " + (", ".join(data["diagnoses"]) or "none recorded"))
    widths = (22, 18, 12, 78, 12, 20, 24)
    pdf.set_font("Helvetica", "B", 8)
    for width, title in zip(
        widths, ("Date", "Code", "Mod", "Description", "Units", "Diagnoses", "Amount"), strict=True
    ):
        pdf.cell(width, 6, title, border=1)
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
        f"Total charged: {data['total']}    Amount paid: {data['paid']}    "
        f"Balance: {data['balance']}"
    )
    if data["invoice"]:
        pdf.paragraph(f"Invoice {data['invoice']}")
    return bytes(pdf.output())


def receipt_pdf(payment: Payment) -> bytes:
    clinic = payment.patient.clinic
    zone = clinic_zone(clinic.timezone)
    when = timezone.localtime(payment.completed_at or payment.created_at, zone)
    pdf = Document("Receipt", f"{clinic.name} · {clinic.address}".strip(" ·"))
    refunded = services.refunded_cents(payment)
    pdf.paragraph(
        f"Received from: {payment.patient.full_name}\n"
        f"Amount: {services.money(payment.amount_cents, payment.currency)}\n"
        f"Method: {payment.get_method_display()}"
        + (f" (no. {payment.reference})" if payment.reference else "")
        + f"\nReceived: {when:%Y-%m-%d %H:%M} ({zone.key})\n"
        + (f"For invoice {payment.invoice.number}\n" if payment.invoice else "Deposit\n")
        + (f"Refunded: {services.money(refunded, payment.currency)}\n" if refunded else "")
        + f"Tax id: {clinic.tax_id or 'not recorded'}"
    )
    return bytes(pdf.output())
