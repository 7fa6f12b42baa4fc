"""Pages where patients answer: their portal, a single-use emailed link, a clinic tablet.

A link or tablet page reaches exactly one invitation and nothing else; after
answering, the tablet returns to a locked screen.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from katclinic.audit import services as audit
from katclinic.clinics.access import deny
from katclinic.measures import services
from katclinic.measures.catalogue import definition_of, require_instrument
from katclinic.measures.forms import answers_from_post, errors_by_item, question_rows
from katclinic.measures.instrument_translations import in_language, wording_read
from katclinic.measures.models import Invitation, SafetyAlert, Source
from katclinic.measures.scoring import InstrumentDefinition
from katclinic.patients.language import in_language_of
from katclinic.patients.models import Patient

KIOSK_SESSION_KEY = "measures_kiosk_token"


def _own_patient(request: HttpRequest, patient_id: int) -> Patient:
    """The signed-in patient's own record; staff 403, anyone else's record 404 (recorded)."""
    if request.user.is_staff_member:  # type: ignore[union-attr]
        deny(request, reason="patient pages are for patients")
    patient = (
        Patient.objects.select_related("clinic")
        .filter(pk=patient_id, user_id=request.user.pk or 0)
        .first()
    )
    if patient is None:
        deny(request, reason="not this patient's record", patient_id=patient_id, not_found=True)
    return patient


def _answer_page(
    request: HttpRequest,
    invitation: Invitation,
    source: str,
    *,
    template: str = "measures/answer.html",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """Show the questionnaire of ``invitation``; on a valid POST submit it and thank."""
    instrument = require_instrument(invitation.instrument_key, invitation.clinic_id)
    definition = definition_of(instrument)
    # A link or the clinic tablet has no patient signed in: the page is in the patient's
    # language all the same. Only the words are translated; answers are read and scored
    # against the instrument itself.
    with in_language_of(invitation.patient) as language:
        shown = in_language(definition, language, invitation.clinic_id)
        read_in = wording_read(definition, language, invitation.clinic_id)
        return _answer_or_thanks(
            request, invitation, source, (definition, shown, read_in), template, extra
        )


def _answer_or_thanks(
    request: HttpRequest,
    invitation: Invitation,
    source: str,
    wording: tuple[InstrumentDefinition, InstrumentDefinition, tuple[str, str]],
    template: str,
    extra: dict[str, Any] | None,
) -> HttpResponse:
    """`wording`: the instrument, what the patient reads, and its (language, version)."""
    definition, shown, read_in = wording
    errors: dict[str, str] = {}
    answers: dict[str, Any] = {}
    if request.method == "POST":
        answers, problems = answers_from_post(definition, request.POST)
        if not problems:
            user = request.user if request.user.is_authenticated else None
            try:
                response = services.submit_response(
                    patient=invitation.patient,
                    instrument_key=invitation.instrument_key,
                    answers=answers,
                    source=source,
                    submitted_by=user,
                    request=request,
                    comment=request.POST.get("comment", ""),
                    invitation=invitation,
                    read_in=read_in,
                )
            except services.SubmissionError as exc:
                problems = exc.errors
            except services.InvitationUnusable:
                return _gone(request)
            else:
                return _thanks(request, invitation.patient, response.flagged, extra)
        errors = errors_by_item(problems)
    context = {
        "definition": shown,
        "errors": errors,
        "questions": question_rows(shown, answers, errors),
        "invitation": invitation,
        "comment": request.POST.get("comment", ""),
        "patient": invitation.patient,
        **(extra or {}),
    }
    return render(request, template, context, status=400 if errors else 200)


def _thanks(
    request: HttpRequest, patient: Patient, flagged: bool, extra: dict[str, Any] | None
) -> HttpResponse:
    context = {
        "flagged": flagged,
        "crisis": patient.clinic.crisis_resources,
        "clinic": patient.clinic,
        **(extra or {}),
    }
    # A signed-in patient stays in the portal; a link or the clinic tablet shows the page alone.
    template = "measures/portal_thanks.html" if context.get("home") else "measures/thanks.html"
    return render(request, template, context | {"patient": patient})


def _gone(request: HttpRequest) -> HttpResponse:
    return render(request, "measures/link_gone.html", status=410)


@require_GET
def my_home(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A patient's questionnaires waiting for them, and crisis resources while a concern is open."""
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    patient = _own_patient(request, patient_id)
    audit.record_view(request, patient_id=patient.pk, obj=patient, section="my measures")
    context = {
        "patient": patient,
        "invitations": Invitation.objects.filter(patient=patient)
        .open_at(timezone.now())
        .order_by("due_at"),
        "concern": SafetyAlert.objects.open_alerts(patient).exists(),
        "crisis": patient.clinic.crisis_resources,
    }
    return render(request, "measures/my_home.html", context)


@require_http_methods(["GET", "POST"])
def my_answer(request: HttpRequest, invitation_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    if request.user.is_staff_member:
        deny(request, reason="patient pages are for patients")
    invitation = (
        Invitation.objects.select_related("patient__clinic", "clinic")
        .filter(pk=invitation_id, patient__user=request.user)
        .first()
    )
    if invitation is None:
        deny(request, reason="not this patient's questionnaire", not_found=True)
    if invitation.used_at is not None or invitation.expires_at <= timezone.now():
        return _gone(request)
    return _answer_page(
        request,
        invitation,
        Source.PORTAL,
        template="measures/portal_answer.html",
        extra={"home": invitation.patient_id},
    )


@require_http_methods(["GET", "POST"])
def link(request: HttpRequest, token: str) -> HttpResponse:
    """An emailed single-use link: no sign-in, one questionnaire, then it stops working."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "measures/link_gone.html", status=404)
    user = request.user
    if user.is_authenticated and (user.is_staff_member or invitation.patient.user_id != user.pk):
        # Answers must be the link's own patient's: never store one person's answers in
        # another's record because of who happened to be signed in on this browser.
        deny(
            request,
            reason="a questionnaire link is for its own patient, or for no one signed in",
            patient_id=invitation.patient_id,
        )
    if invitation.used_at is not None or invitation.expires_at <= timezone.now():
        return _gone(request)
    return _answer_page(request, invitation, Source.LINK)


@require_http_methods(["GET", "POST"])
def kiosk(request: HttpRequest) -> HttpResponse:
    """The tablet's one questionnaire; any other state shows the locked screen."""
    invitation = services.invitation_for_token(request.session.get(KIOSK_SESSION_KEY, ""))
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.expires_at <= timezone.now()
    ):
        request.session.pop(KIOSK_SESSION_KEY, None)
        return redirect("measures:kiosk_locked")
    result = _answer_page(request, invitation, Source.KIOSK, extra={"kiosk": True})
    if request.method == "POST" and result.status_code == 200:
        request.session.flush()  # answered: nothing of this patient stays on the tablet
    return result


@require_GET
def kiosk_locked(request: HttpRequest) -> HttpResponse:
    return render(request, "measures/kiosk_locked.html")
