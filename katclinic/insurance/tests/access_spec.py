from typing import Any

from katclinic.access_spec import Url, patient_kwargs
from katclinic.clinics.permissions import Perm

P = Perm.MANAGE_COVERAGE


def _coverage(t: Any) -> Any:
    from katclinic.insurance.models import Coverage
    from katclinic.insurance.tests.factories import coverage

    return Coverage.objects.filter(patient=t.pat).first() or coverage(t.pat, t.alice)


def _auth(t: Any) -> Any:
    from katclinic.insurance.models import PriorAuthorization
    from katclinic.insurance.tests.factories import authorization

    return PriorAuthorization.objects.filter(patient=t.pat).first() or authorization(
        _coverage(t), t.alice
    )


def _check(t: Any) -> dict[str, Any]:
    from katclinic.insurance.models import EligibilityCheck

    cover = _coverage(t)
    found = EligibilityCheck.objects.filter(coverage=cover).first()
    if found is None:
        from django.utils import timezone

        found = EligibilityCheck.objects.create(
            clinic=t.clinic,
            patient=t.pat,
            coverage=cover,
            trace_number="E00000001",
            service_date=timezone.localdate(),
            request_file="ISA*",
            requested_by=t.alice,
            requested_at=timezone.now(),
        )
    return {"check_id": found.pk}


def _document(t: Any) -> dict[str, Any]:
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from katclinic.insurance.models import AuthorizationDocument

    auth = _auth(t)
    found = AuthorizationDocument.objects.filter(authorization=auth).first()
    if found is None:
        found = AuthorizationDocument(
            clinic=t.clinic,
            authorization=auth,
            kind="approval",
            original_name="approval.pdf",
            content_type="application/pdf",
            size=9,
            uploaded_by=t.alice,
            uploaded_at=timezone.now(),
        )
        found.file.save("approval.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    return {"document_id": found.pk}


def _cov(t: Any) -> dict[str, Any]:
    return {"coverage_id": _coverage(t).pk}


def _auth_kwargs(t: Any) -> dict[str, Any]:
    return {"auth_id": _auth(t).pk}


def _coverage_data(t: Any) -> dict[str, Any]:
    from katclinic.insurance.tests.factories import coverage_post

    return coverage_post()


def _auth_data(t: Any) -> dict[str, Any]:
    from katclinic.insurance.tests.factories import authorization_post

    return authorization_post()


def _posted_charge(t: Any) -> Any:
    from katclinic.billing.tests.access_spec import _charge

    _coverage(t)
    return _charge(t, posted=True)


def _claim(t: Any) -> dict[str, Any]:
    from katclinic.insurance import claims
    from katclinic.insurance.models import Claim

    found = Claim.objects.filter(patient=t.pat, file_name="matrix").first()
    if found is None:
        found = claims.build_claim(charge=_posted_charge(t), by=t.adam)
        Claim.objects.filter(pk=found.pk).update(file_text="ISA*", file_name="matrix")
    return {"claim_id": found.pk}


def _remittance(t: Any) -> dict[str, Any]:
    from django.utils import timezone

    from katclinic.insurance.models import Remittance

    found, _ = Remittance.objects.get_or_create(
        clinic=t.clinic,
        trace_number="MATRIX",
        defaults={
            "payment_cents": 0,
            "file_text": "ISA*",
            "imported_by": t.adam,
            "imported_at": timezone.now(),
        },
    )
    return {"remittance_id": found.pk}


C = Perm.MANAGE_CLAIMS

SPEC = {
    "insurance:patient": Url(P, kwargs=patient_kwargs, clinic_object=True),
    "insurance:coverage_add": Url(P, kwargs=patient_kwargs, clinic_object=True),
    "insurance:coverage_edit": Url(P, kwargs=_cov, clinic_object=True),
    # Without the clinic's clearinghouse ids, writing the request is refused with a message.
    "insurance:eligibility_request": Url(
        P,
        kwargs=_cov,
        method="POST",
        data=lambda t: {"service_date": "2026-01-05"},
        clinic_object=True,
        ok=(302, 400),
    ),
    "insurance:eligibility": Url(P, kwargs=_check, clinic_object=True),
    "insurance:eligibility_file": Url(P, kwargs=_check, clinic_object=True),
    # An empty post is refused: the answer file is required.
    "insurance:eligibility_answer": Url(
        P, kwargs=_check, method="POST", clinic_object=True, ok=(400,)
    ),
    "insurance:authorization_add": Url(P, kwargs=_cov, clinic_object=True),
    "insurance:authorizations": Url(P),
    "insurance:authorization": Url(P, kwargs=_auth_kwargs, clinic_object=True),
    "insurance:authorization_edit": Url(P, kwargs=_auth_kwargs, clinic_object=True),
    "insurance:authorization_use": Url(
        P,
        kwargs=_auth_kwargs,
        method="POST",
        data=lambda t: {"used_on": "2026-01-05", "units": "1", "note": ""},
        clinic_object=True,
    ),
    "insurance:document_add": Url(
        P, kwargs=_auth_kwargs, method="POST", clinic_object=True, ok=(400,)
    ),
    "insurance:document": Url(P, kwargs=_document, clinic_object=True),
    "insurance:claims": Url(C),
    # A charge that already has a claim answers with a message and a redirect.
    "insurance:claim_build": Url(
        C,
        kwargs=lambda t: {"charge_id": _posted_charge(t).pk},
        method="POST",
        clinic_object=True,
    ),
    "insurance:claim": Url(C, kwargs=_claim, clinic_object=True),
    "insurance:claim_check": Url(C, kwargs=_claim, method="POST", clinic_object=True),
    "insurance:claim_send": Url(C, kwargs=_claim, method="POST", clinic_object=True),
    # The matrix claim is not sent, so recording an answer is refused with the form again.
    "insurance:claim_status": Url(
        C,
        kwargs=_claim,
        method="POST",
        data=lambda t: {"status": "accepted", "note": ""},
        clinic_object=True,
        ok=(302, 400),
    ),
    "insurance:claim_file": Url(C, kwargs=_claim, clinic_object=True),
    "insurance:remittance_import": Url(C),
    "insurance:remittance": Url(C, kwargs=_remittance, clinic_object=True),
}
