"""A clinic's licensed wording of an instrument whose wording is not shipped.

The clinic names who holds the licence and its reference; the worded definition is stored as
a new version for that clinic only (scoring unchanged, earlier responses keep their version).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.measures.catalogue import add_definition, definition_of, sync_builtin_instruments
from katclinic.measures.models import Instrument
from katclinic.measures.scoring import (
    DefinitionError,
    InstrumentDefinition,
    load_builtin_instruments,
    with_clinic_wording,
)

MAX_ITEM_TEXT = 2000


class WordingError(ValueError):
    """Wording that cannot be stored; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class LicensedInstrument:
    shipped: InstrumentDefinition
    clinic_row: Instrument | None  # the clinic's newest own wording, if any

    @property
    def clinic_definition(self) -> InstrumentDefinition | None:
        return definition_of(self.clinic_row) if self.clinic_row is not None else None


def needs_licence() -> dict[str, InstrumentDefinition]:
    """Shipped instruments whose item wording is not shipped (a licence is needed)."""
    return {k: d for k, d in load_builtin_instruments().items() if not d.wording_licensed}


def _clinic_rows(clinic: Clinic, key: str) -> list[Instrument]:
    return list(Instrument.objects.filter(clinic=clinic, key=key).order_by("-created_at", "-pk"))


def licensed_instruments(clinic: Clinic) -> list[LicensedInstrument]:
    rows = []
    for key, definition in sorted(needs_licence().items(), key=lambda kv: kv[1].title):
        mine = _clinic_rows(clinic, key)
        rows.append(LicensedInstrument(definition, mine[0] if mine else None))
    return rows


def _licence(holder: str, reference: str) -> tuple[str, str]:
    """The licence holder and reference, trimmed, or WordingError naming the empty one."""
    holder, reference = holder.strip(), reference.strip()
    if not holder:
        raise WordingError("holder", "Name who holds the licence.")
    if not reference:
        raise WordingError("reference", "Give the licence number or agreement reference.")
    return holder, reference


def _item_texts(shipped: InstrumentDefinition, wording: dict[str, str]) -> dict[str, str]:
    """The wording with its spaces tidied, refused unless every question has one that fits."""
    texts = {link_id: " ".join(text.split()) for link_id, text in wording.items()}
    for item in shipped.items:
        text = texts.get(item.link_id, "")
        if not text:
            raise WordingError(item.link_id, "Give the licensed wording of this question.")
        if len(text) > MAX_ITEM_TEXT:
            raise WordingError(
                item.link_id, f"Keep each question under {MAX_ITEM_TEXT} characters."
            )
    return texts


def _worded(shipped: InstrumentDefinition, texts: dict[str, str]) -> InstrumentDefinition:
    try:
        return with_clinic_wording(shipped, texts)
    except DefinitionError as exc:
        raise WordingError("wording", str(exc)) from exc


def _clinic_version(
    *,
    worded: InstrumentDefinition,
    shipped: InstrumentDefinition,
    clinic: Clinic,
    holder: str,
    reference: str,
) -> InstrumentDefinition:
    """The worded definition numbered as the clinic's next version, naming its licence."""
    number = len(_clinic_rows(clinic, shipped.key)) + 1
    return worded.model_copy(
        update={
            "version": f"{shipped.version}-{clinic.slug}-{number}",
            "licence": f"Wording licensed to {holder}, reference {reference}. {shipped.licence}",
        }
    )


@transaction.atomic
def store_clinic_wording(
    *,
    clinic: Clinic,
    key: str,
    wording: dict[str, str],
    holder: str,
    reference: str,
    by: User,
    request: HttpRequest | None = None,
) -> Instrument:
    """Store the clinic's licensed item wording of `key` as its next clinic version."""
    shipped = needs_licence().get(key)
    if shipped is None:
        raise WordingError("key", "This questionnaire's wording is shipped; no licence is needed.")
    holder, reference = _licence(holder, reference)
    worded = _worded(shipped, _item_texts(shipped, wording))
    sync_builtin_instruments()
    worded = _clinic_version(
        worded=worded, shipped=shipped, clinic=clinic, holder=holder, reference=reference
    )
    row = add_definition(worded, clinic)
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        obj=row,
        detail={
            "instrument": key,
            "version": row.version,
            "licence_holder": holder,
            "licence_reference": reference,
        },
    )
    return row


def preview_definition(key: str, wording: dict[str, str]) -> InstrumentDefinition:
    """The shipped definition with `wording` laid over it, for a preview (nothing stored)."""
    shipped = needs_licence()[key]
    texts = {k: " ".join(v.split()) for k, v in wording.items() if v.strip()}
    return with_clinic_wording(shipped, texts)
