"""The page from which an administrator downloads the clinic's full export, and the
download of one patient's whole record (from the patient's chart)."""

from __future__ import annotations

from typing import IO

from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from katclinic.clinics import export
from katclinic.clinics.access import get_patient_for_user, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm


@staff_view(Perm.MANAGE_CLINIC)
@require_GET
def export_page(request: StaffRequest) -> HttpResponse:
    tables = [m._meta.verbose_name_plural for m in export.clinic_models()]
    return render(request, "clinics/export.html", {"table_count": len(tables) + 2})


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def export_download(request: StaffRequest) -> HttpResponse:
    archive = export.export_clinic(clinic=request.clinic, by=request.user, request=request)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _zip(archive, f"{slugify(request.clinic.name) or 'clinic'}-export-{stamp}.zip")


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def patient_export_download(request: StaffRequest, patient_id: int) -> HttpResponse:
    """One patient's whole record, in the clinic export's format (admins only)."""
    patient = get_patient_for_user(request, patient_id, Perm.MANAGE_CLINIC)
    archive = export.export_patient(patient=patient, by=request.user, request=request)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _zip(archive, f"record-{slugify(patient.mrn) or patient.pk}-{stamp}.zip")


def _zip(archive: IO[bytes], name: str) -> HttpResponse:
    size = archive.seek(0, 2)
    archive.seek(0)
    if size > export.SPOOL_BYTES:
        # Large: streamed from the temporary file, which the response closes when sent.
        # (A streaming response; staff_view's signature names only HttpResponse.)
        return FileResponse(  # type: ignore[return-value]
            archive, as_attachment=True, filename=name, content_type="application/zip"
        )
    with archive:
        response = HttpResponse(archive.read(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
