"""The page from which an administrator downloads the clinic's full export."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from katclinic.clinics import export
from katclinic.clinics.access import staff_view
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
    name = f"{slugify(request.clinic.name) or 'clinic'}-export-{stamp}.zip"
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
