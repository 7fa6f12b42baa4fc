"""Fetching a visit note for a request: the active clinic's only, else a recorded 404."""

from __future__ import annotations

from katclinic.clinics.access import deny, require_perm
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.visitnotes.models import VisitNote


def get_note(request: StaffRequest, note_id: int, perm: Perm = Perm.VIEW_CLINICAL) -> VisitNote:
    clinic = require_perm(request, perm)
    note = (
        VisitNote.objects.for_clinic(clinic)
        .filter(pk=note_id)
        .select_related("patient", "appointment", "author", "signed_by")
        .first()
    )
    if note is None:
        deny(request, reason="no such visit note in the active clinic", not_found=True)
    return note
