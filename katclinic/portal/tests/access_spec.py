from typing import Any

from katclinic.access_spec import Url, patient_kwargs
from katclinic.clinics.permissions import Perm


def _entry(t: Any) -> dict[str, Any]:
    from katclinic.portal.models import JournalEntry

    entry, _ = JournalEntry.objects.get_or_create(
        clinic=t.clinic,
        patient=t.pat,
        text="Matrix entry",
        defaults={"shared_with_therapist": False},
    )
    return {"patient_id": t.pat.pk, "entry_id": entry.pk}


def _request(t: Any) -> dict[str, Any]:
    from katclinic.portal.models import AppointmentRequest

    found, _ = AppointmentRequest.objects.get_or_create(
        clinic=t.clinic, patient=t.pat, kind="cancel", message="matrix"
    )
    return {"request_id": found.pk}


def _own(access: str = "patient_self", **extra: Any) -> Url:
    """A patient's own page: staff 403, the patient 200, another patient 404."""
    return Url(access, kwargs=patient_kwargs, **extra)  # type: ignore[arg-type]


GONE = (410,)

SPEC = {
    # /portal/ sends each person to their own home: patients to theirs, staff to /today/.
    "portal:index": Url("signed_in", ok=(302,)),
    "portal:link_request": Url("public", ok=(200,), anonymous=(200,)),
    "portal:reset_request": Url("public", ok=(200,), anonymous=(200,)),
    # An unknown token answers 410 for everyone; the real flow is in test_sign_in_links.
    "portal:link_sign_in": Url(
        "public", kwargs=lambda t: {"token": "nope"}, ok=GONE, anonymous=GONE
    ),
    "portal:set_password": Url(
        "public", kwargs=lambda t: {"token": "nope"}, ok=GONE, anonymous=GONE
    ),
    "portal:home": _own(),
    "portal:progress": _own(),
    "portal:journal": _own(),
    "portal:appointments": _own(),
    "portal:record": _own(),
    "portal:record_pdf": _own(ok=(200,)),
    "portal:record_fhir": _own(ok=(200,)),
    "portal:security": _own(),
    "portal:journal_share": Url(
        "patient_self", kwargs=_entry, method="POST", data=lambda t: {"shared": "1"}, ok=(302,)
    ),
    "portal:invite": Url(
        Perm.EDIT_DEMOGRAPHICS,
        kwargs=patient_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"email": "someone@example.org"},
        ok=(302,),
    ),
    "portal:journal_tab": Url(Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True),
    "portal:requests": Url(Perm.SCHEDULE),
    "portal:inbox": Url(Perm.SCHEDULE),
    "portal:request_done": Url(
        Perm.SCHEDULE, kwargs=_request, clinic_object=True, method="POST", ok=(302,)
    ),
}
