"""Access rules for every visit-note URL. Each cell gets a fresh note by tara (a therapist) of
a follow-up visit, the kind every note-writing role may write."""

from typing import Any

from katclinic.access_spec import Url, patient_kwargs
from katclinic.clinics.permissions import Perm
from katclinic.visitnotes import services

FOLLOW_UP = {"progress": "Sleeping better; PHQ-9 down to 9", "plan": "Review in four weeks"}
WRITE = Perm.WRITE_FOLLOW_UP_NOTE


def _note(t: Any, *, signed: bool) -> dict[str, Any]:
    note = services.create_note(
        patient=t.pat, kind="follow_up", content=FOLLOW_UP, by=t.tara, sign=signed
    )
    return {"note_id": note.pk}


def _post(data: dict[str, str], *, signed: bool, ok: tuple[int, ...]) -> Url:
    return Url(
        WRITE,
        kwargs=lambda t: _note(t, signed=signed),
        method="POST",
        data=lambda t: data,
        clinic_object=True,
        ok=ok,
    )


SPEC: dict[str, Url] = {
    "visitnotes:mine": Url(WRITE),
    "visitnotes:chart": Url(Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True),
    "visitnotes:new": Url(
        WRITE,
        kwargs=patient_kwargs,
        method="POST",
        data=lambda t: {"kind": "follow_up", **FOLLOW_UP},
        clinic_object=True,
    ),
    "visitnotes:note": Url(
        Perm.VIEW_CLINICAL, kwargs=lambda t: _note(t, signed=True), clinic_object=True
    ),
    # Only the author (tara) may change or sign a draft: others are refused (400), nothing stored.
    "visitnotes:edit": _post(FOLLOW_UP, signed=False, ok=(302, 400)),
    "visitnotes:sign": _post({}, signed=False, ok=(302, 400)),
    "visitnotes:addendum": _post({"text": "Called back; all well."}, signed=True, ok=(302,)),
}
