"""Access rules of every intake URL. Object builders make a fresh object per cell, so
each allowed role's POST finds something it may validly act on."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from django.db.models import Max

from katclinic.access_spec import Url, api_url, patient_kwargs
from katclinic.clinics.permissions import Perm
from katclinic.intake import screening as screenings
from katclinic.intake.models import (
    ConsentDocument,
    ConsentSignature,
    ConsultationRequest,
    Screening,
    SignatureChannel,
)

_serial = itertools.count(1)


def new_request(t: Any) -> ConsultationRequest:
    n = next(_serial)
    return ConsultationRequest.objects.create(
        clinic=t.clinic,
        name=f"Visitor {n}",
        phone=f"555-01{n:02d}",
        consent_to_contact=True,
        source_key=f"test-{n}",
    )


def new_draft(t: Any) -> Screening:
    last = Screening.objects.filter(patient=t.pat, route="iv").aggregate(v=Max("version"))["v"] or 0
    return Screening.objects.create(
        clinic=t.clinic,
        patient=t.pat,
        version=last + 1,
        route="iv",
        diagnosis="F33.2",
        created_by=t.paula,
    )


def new_signed(t: Any) -> Screening:
    draft = new_draft(t)
    screenings.sign_decision(screening=draft, decision="needs_review", rationale="Test", by=t.paula)
    return draft


def program_document(t: Any) -> ConsentDocument:
    found = (
        ConsentDocument.objects.filter(clinic=t.clinic, scope="program")
        .order_by("-version")
        .first()
    )
    return found or ConsentDocument.objects.create(
        clinic=t.clinic,
        scope="program",
        title="Program consent",
        body="Text.",
        version=1,
        effective_on=date(2026, 1, 1),
        created_by=t.adam,
    )


def new_signature(t: Any) -> ConsentSignature:
    document = program_document(t)
    return ConsentSignature.objects.create(
        clinic=t.clinic,
        patient=t.pat,
        document=document,
        typed_name="Pat Doe",
        document_hash=document.text_hash,
        channel=SignatureChannel.PORTAL,
    )


def public_request_data(t: Any) -> dict[str, str]:
    n = next(_serial)
    return {
        "name": "Visitor Example",
        "email": f"visitor{n}@example.org",
        "consent_to_contact": "on",
    }


SCREENING_POST = {
    "route": "iv",
    "diagnosis": "F33.2 Major depressive disorder",
    "trials-TOTAL_FORMS": "0",
    "trials-INITIAL_FORMS": "0",
}

SPEC: dict[str, Url] = {
    "intake:public": Url(
        "public",
        kwargs=lambda t: {"slug": t.clinic.slug},
        method="POST",
        data=public_request_data,
        ok=(302,),
        anonymous=(302,),
    ),
    "intake:public_thanks": Url(
        "public", kwargs=lambda t: {"slug": t.clinic.slug}, ok=(200,), anonymous=(200,)
    ),
    "intake:requests": Url(Perm.MANAGE_REQUESTS),
    "intake:request_detail": Url(
        Perm.MANAGE_REQUESTS, kwargs=lambda t: {"request_id": new_request(t).pk}, clinic_object=True
    ),
    "intake:request_state": Url(
        Perm.MANAGE_REQUESTS,
        kwargs=lambda t: {"request_id": new_request(t).pk},
        clinic_object=True,
        method="POST",
        data=lambda t: {"to_state": "contacted"},
    ),
    "intake:request_convert": Url(
        Perm.MANAGE_REQUESTS,
        kwargs=lambda t: {"request_id": new_request(t).pk},
        clinic_object=True,
        method="POST",
        data=lambda t: {
            "first_name": "New",
            "last_name": "Visitor",
            "date_of_birth": "1990-02-03",
            "sex_at_birth": "unknown",
            "phone": "555-0188",
        },
    ),
    "intake:chart_tab": Url(Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True),
    "intake:screening_new": Url(
        Perm.SCREEN,
        kwargs=patient_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: SCREENING_POST,
    ),
    "intake:screening": Url(
        Perm.VIEW_CLINICAL, kwargs=lambda t: {"screening_id": new_draft(t).pk}, clinic_object=True
    ),
    "intake:screening_edit": Url(
        Perm.SCREEN,
        kwargs=lambda t: {"screening_id": new_draft(t).pk},
        clinic_object=True,
        method="POST",
        data=lambda t: SCREENING_POST,
    ),
    "intake:screening_sign": Url(
        Perm.SCREEN,
        kwargs=lambda t: {"screening_id": new_draft(t).pk},
        clinic_object=True,
        method="POST",
        data=lambda t: {"decision": "eligible", "rationale": "Fits.", "confirm": "on"},
    ),
    "intake:screening_correct": Url(
        Perm.SCREEN,
        kwargs=lambda t: {"screening_id": new_signed(t).pk},
        clinic_object=True,
        method="POST",
    ),
    "intake:consents": Url(Perm.MANAGE_CONSENT),
    "intake:documents": Url(
        Perm.PUBLISH_CONSENT,
        method="POST",
        data=lambda t: {
            "scope": "program",
            "title": "Program consent",
            "body": "New text.",
            "effective_on": "2026-01-01",
        },
    ),
    "intake:sign_on_device": Url(
        Perm.MANAGE_CONSENT,
        kwargs=lambda t: {"patient_id": t.pat.pk, "document_id": program_document(t).pk},
        clinic_object=True,
        method="POST",
        data=lambda t: {"typed_name": "Pat Doe", "agree": "on"},
    ),
    "intake:withdraw": Url(
        Perm.MANAGE_CONSENT,
        kwargs=lambda t: {"signature_id": new_signature(t).pk},
        clinic_object=True,
        method="POST",
        data=lambda t: {"reason": "Changed my mind"},
    ),
    "intake:my_consents": Url("patient_self", kwargs=patient_kwargs),
    "intake:my_sign": Url(
        "patient_self",
        kwargs=lambda t: {"patient_id": t.pat.pk, "document_id": program_document(t).pk},
        method="POST",
        data=lambda t: {"typed_name": "Pat Doe", "agree": "on"},
    ),
}

SPEC |= {"api:intake_requests": api_url(Perm.MANAGE_REQUESTS)}
