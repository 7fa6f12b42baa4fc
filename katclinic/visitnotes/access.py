"""Fetching a visit note for a request: the active clinic's only, else a recorded 404."""

from __future__ import annotations

from katclinic.clinics.access import get_in_clinic
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.visitnotes.models import VisitNote


def get_note(request: StaffRequest, note_id: int, perm: Perm = Perm.VIEW_CLINICAL) -> VisitNote:
    related = VisitNote.objects.select_related("patient", "appointment", "author", "signed_by")
    return get_in_clinic(request, related, note_id, what="visit note", perm=perm)
