"""One fetch per kind of messaging record, for staff and for the patient's own portal.

Staff reach a thread only through the chart access rule for messages (the active clinic's
patient, and a role that handles messages); a patient only their own threads, and never
a message hidden from them. Anything else is a recorded 404 (or 403 for a missing role).
"""

from __future__ import annotations

from django.http import HttpRequest

from katclinic.clinics.access import deny, get_in_clinic, get_patient_for_user
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.messaging.models import Attachment, Message, Thread
from katclinic.patients.models import Patient

P = Perm.HANDLE_MESSAGES


def get_patient_for_messages(request: StaffRequest, patient_id: int) -> Patient:
    """A patient whose messages the staff member may handle (the chart access rule)."""
    if not request.user.is_staff_member:
        deny(request, reason="patients use their portal", patient_id=patient_id, not_found=True)
    return get_patient_for_user(request, patient_id, P)


def get_thread_for_staff(request: StaffRequest, thread_id: int) -> Thread:
    related = Thread.objects.select_related("patient", "assigned_to", "started_by")
    found = get_in_clinic(request, related, thread_id, what="thread", perm=P)
    # The patient record itself must be one this person may see.
    get_patient_for_messages(request, found.patient_id)
    return found


def get_message_for_staff(request: StaffRequest, message_id: int) -> Message:
    related = Message.objects.select_related("thread")
    found = get_in_clinic(request, related, message_id, what="message", perm=P)
    get_patient_for_messages(request, found.thread.patient_id)
    return found


def get_attachment_for_staff(request: StaffRequest, attachment_id: int) -> Attachment:
    related = Attachment.objects.select_related("message__thread")
    found = get_in_clinic(request, related, attachment_id, what="attachment", perm=P)
    get_patient_for_messages(request, found.message.thread.patient_id)
    return found


def get_own_thread(request: HttpRequest, patient: Patient, thread_id: int) -> Thread:
    found = Thread.objects.filter(patient=patient, pk=thread_id).first()
    if found is None:
        deny(request, reason="not this patient's thread", patient_id=patient.pk, not_found=True)
    return found


def get_own_attachment(request: HttpRequest, patient: Patient, attachment_id: int) -> Attachment:
    found = (
        Attachment.objects.filter(
            pk=attachment_id,
            message__thread__patient=patient,
            message__hidden_from_patient=False,
        )
        .select_related("message__thread")
        .first()
    )
    if found is None:
        deny(request, reason="not this patient's attachment", patient_id=patient.pk, not_found=True)
    return found
