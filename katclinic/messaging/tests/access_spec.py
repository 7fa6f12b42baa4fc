from typing import Any

from katclinic.access_spec import Url, patient_kwargs
from katclinic.clinics.permissions import Perm

P = Perm.HANDLE_MESSAGES


def _thread(t: Any) -> Any:
    from django.utils import timezone

    from katclinic.messaging.models import Message, Thread

    found = Thread.objects.filter(patient=t.pat).first()
    if found is None:
        found = Thread.objects.create(
            clinic=t.clinic,
            patient=t.pat,
            subject="Matrix thread",
            started_by=t.pat_user,
            started_at=timezone.now(),
        )
        Message.objects.create(
            clinic=t.clinic,
            thread=found,
            author=t.pat_user,
            from_patient=True,
            body="Matrix message",
            sent_at=timezone.now(),
        )
    return found


def _thread_kwargs(t: Any) -> dict[str, Any]:
    return {"thread_id": _thread(t).pk}


def _own_thread(t: Any) -> dict[str, Any]:
    return {"patient_id": t.pat.pk, "thread_id": _thread(t).pk}


def _message(t: Any) -> dict[str, Any]:
    """A fresh visible message for each cell, so hiding it can succeed every time."""
    from django.utils import timezone

    from katclinic.messaging.models import Message

    found = Message.objects.create(
        clinic=t.clinic,
        thread=_thread(t),
        author=t.tara,
        from_patient=False,
        body="Matrix reply",
        sent_at=timezone.now(),
    )
    return {"message_id": found.pk}


def _attachment(t: Any) -> Any:
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from katclinic.messaging.models import Attachment

    thread = _thread(t)
    found = Attachment.objects.filter(message__thread=thread).first()
    if found is None:
        found = Attachment(
            clinic=t.clinic,
            message=thread.messages.first(),
            original_name="letter.pdf",
            content_type="application/pdf",
            size=9,
            uploaded_at=timezone.now(),
        )
        found.file.save("letter.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    return found


def _own(**extra: Any) -> Url:
    return Url("patient_self", **extra)


SPEC = {
    "messaging:inbox": Url(P),
    # Without a record number the form is refused, naming the field.
    "messaging:find_patient": Url(P, ok=(400,)),
    "messaging:chart_tab": Url(P, kwargs=patient_kwargs, clinic_object=True),
    "messaging:start": Url(P, kwargs=patient_kwargs, clinic_object=True, ok=(200,)),
    "messaging:thread": Url(P, kwargs=_thread_kwargs, clinic_object=True, ok=(200,)),
    "messaging:reply": Url(
        P,
        kwargs=_thread_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"body": "Thank you, we will talk on Friday."},
        ok=(302,),
    ),
    "messaging:assign": Url(
        P,
        kwargs=_thread_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"assignee": str(t.tara.pk)},
        ok=(302,),
    ),
    "messaging:hide": Url(
        P,
        kwargs=_message,
        clinic_object=True,
        method="POST",
        data=lambda t: {"reason": "Sent to the wrong patient"},
        ok=(302,),
    ),
    "messaging:attachment": Url(
        P, kwargs=lambda t: {"attachment_id": _attachment(t).pk}, clinic_object=True, ok=(200,)
    ),
    "messaging:mine": _own(kwargs=patient_kwargs, ok=(200,)),
    "messaging:mine_new": _own(kwargs=patient_kwargs, ok=(200,)),
    "messaging:mine_thread": _own(kwargs=_own_thread, ok=(200,)),
    "messaging:mine_reply": _own(
        kwargs=_own_thread, method="POST", data=lambda t: {"body": "See you Friday."}, ok=(302,)
    ),
    "messaging:mine_attachment": _own(
        kwargs=lambda t: {"patient_id": t.pat.pk, "attachment_id": _attachment(t).pk},
        ok=(200,),
    ),
}
