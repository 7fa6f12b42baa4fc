"""SMART App Launch 2.x: discovery, the consent page, the token and revocation endpoints,
and the pages where an admin registers apps and people see and stop what they connected.

OAuth errors answer JSON ``{"error": ..., "error_description": "<field>: ..."}``; an
authorize request whose app or redirect address cannot be trusted gets a page saying so and
is never redirected (RFC 6749 section 4.1.2.1).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote_plus, urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from katclinic.accounts.models import User
from katclinic.clinics.access import deny
from katclinic.clinics.middleware import clinic_roles
from katclinic.clinics.permissions import Perm, roles_allow
from katclinic.patients.models import Patient
from katclinic.smart import backend, idtoken, services
from katclinic.smart.auth import served_types
from katclinic.smart.describe import describe
from katclinic.smart.discovery import openid_configuration, smart_configuration
from katclinic.smart.forms import PatientChoiceForm
from katclinic.smart.launch import launch_for
from katclinic.smart.models import EhrLaunch, SmartApp, hash_secret
from katclinic.smart.oauth import (
    CHALLENGE,
    CLIENT_ID,
    STATE,
    VERIFIER,
    OAuthError,
    invalid,
    redirect_uri_problem,
    with_query,
)
from katclinic.smart.scopes import ScopeError, Scopes, parse_scopes

AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "code_challenge",
    "code_challenge_method",
    "launch",
    "nonce",
)
MAX_VALUE = 4000
MAX_NONCE = 255


class Redirect(HttpResponseRedirect):
    # Registered redirect addresses are https, or http on the loopback interface.
    allowed_schemes = ["http", "https"]


def oauth_error(error: OAuthError) -> JsonResponse:
    response = JsonResponse(
        {"error": error.error, "error_description": error.description}, status=error.status
    )
    if error.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response


def one(params: QueryDict, name: str, *, required: bool = True) -> str:
    """One value of ``name``; RFC 6749 section 3.1 allows each parameter only once."""
    values = params.getlist(name)
    if len(values) > 1:
        raise invalid(name, "send it once")
    value = values[0] if values else ""
    if required and not value:
        raise invalid(name, "is required")
    if len(value) > MAX_VALUE or "\x00" in value:
        raise invalid(name, f"must be text of at most {MAX_VALUE} characters")
    return value


@require_GET
def configuration(request: HttpRequest) -> HttpResponse:
    return JsonResponse(smart_configuration(request, served_types()))


@require_GET
def openid(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openid_configuration(request))


@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    """The public key id_tokens are signed with."""
    return JsonResponse(idtoken.jwks())


@dataclass(frozen=True)
class Asked:
    app: SmartApp
    redirect_uri: str
    state: str
    scopes: Scopes
    code_challenge: str
    params: dict[str, str]
    # The EHR launch value the app was given (checked against the person once signed in).
    launch: str = ""
    nonce: str = ""


def _client(params: QueryDict) -> tuple[SmartApp, str]:
    """The app and its registered redirect address; nothing is redirected before both hold."""
    client_id = one(params, "client_id")
    app = None
    if CLIENT_ID.fullmatch(client_id):
        app = (
            SmartApp.objects.select_related("clinic")
            .filter(client_id=client_id, disabled_at__isnull=True)
            .first()
        )
    if app is None:
        raise invalid("client_id", "no app is registered with this id")
    redirect_uri = one(params, "redirect_uri")
    if redirect_uri not in app.redirect_uris or redirect_uri_problem(redirect_uri):
        raise invalid("redirect_uri", "is not one of the addresses registered for this app")
    return app, redirect_uri


def _asked(request: HttpRequest, params: QueryDict, app: SmartApp, redirect_uri: str) -> Asked:
    state = one(params, "state", required=False)
    if state and not STATE.fullmatch(state):
        raise invalid("state", "must be visible ASCII text of at most 1024 characters")
    if one(params, "response_type") != "code":
        raise OAuthError("unsupported_response_type", "response_type: must be code")
    aud = one(params, "aud").rstrip("/")
    if aud != request.build_absolute_uri(reverse("fhir:transaction")).rstrip("/"):
        raise invalid("aud", "must be this server's FHIR base address")
    if one(params, "code_challenge_method") != "S256":
        raise invalid("code_challenge_method", "must be S256")
    challenge = one(params, "code_challenge")
    if not CHALLENGE.fullmatch(challenge):
        raise invalid("code_challenge", "must be the 43-character S256 challenge")
    try:
        scopes = parse_scopes(one(params, "scope"), served_types())
    except ScopeError as error:
        raise OAuthError("invalid_scope", f"scope: {error}") from error
    launch = one(params, "launch", required=scopes.launch)
    if launch and not scopes.launch:
        raise invalid("launch", "sent without the launch scope; add launch to scope")
    nonce = one(params, "nonce", required=False)
    if nonce and not (len(nonce) <= MAX_NONCE and STATE.fullmatch(nonce)):
        raise invalid("nonce", f"must be visible ASCII text of at most {MAX_NONCE} characters")
    kept = {name: one(params, name, required=False) for name in AUTHORIZE_PARAMS}
    kept = {name: value for name, value in kept.items() if value}
    return Asked(app, redirect_uri, state, scopes, challenge, kept, launch, nonce)


def _error_page(request: HttpRequest, error: OAuthError) -> HttpResponse:
    return render(request, "smart/error.html", {"error": error}, status=400)


def _back(asked_uri: str, state: str, **params: str) -> HttpResponse:
    return Redirect(with_query(asked_uri, params | ({"state": state} if state else {})))


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """GET: the consent page. POST: the person's answer, sent back to the app."""
    params = request.GET if request.method == "GET" else request.POST
    try:
        app, redirect_uri = _client(params)
    except OAuthError as error:
        return _error_page(request, error)
    try:
        asked = _asked(request, params, app, redirect_uri)
    except OAuthError as error:
        state = params.get("state", "")
        state = state if STATE.fullmatch(state) and len(params.getlist("state")) == 1 else ""
        return _back(redirect_uri, state, error=error.error, error_description=error.description)
    if not request.user.is_authenticated:
        here = f"{reverse('oauth:authorize')}?{urlencode(asked.params)}"
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': here})}")
    user = cast(User, request.user)
    patient = _own_record(request, user, app)
    try:
        launch = launch_for(raw=asked.launch, app=app, user=user) if asked.launch else None
    except OAuthError as error:
        return _back(
            redirect_uri, asked.state, error=error.error, error_description=error.description
        )
    form = PatientChoiceForm(request.POST or None)
    if request.method == "POST":
        return _decide(request, asked, user, launch.patient if launch else patient, form, launch)
    return _consent(request, asked, user, form, status=200, launch=launch)


def _decide(
    request: HttpRequest,
    asked: Asked,
    user: User,
    known: Patient | None,
    form: PatientChoiceForm,
    launch: EhrLaunch | None,
) -> HttpResponse:
    """``known``: the patient already settled, by the person's own record or the launch."""
    decision = request.POST.get("decision")
    if decision == "deny":
        return _back(asked.redirect_uri, asked.state, error="access_denied")
    valid = form.is_valid()
    if decision != "allow":
        form.add_error(None, "Choose Allow or Do not allow.")
    if decision != "allow" or not valid:
        return _consent(request, asked, user, form, status=400, launch=launch)
    patient = known
    if patient is None and asked.scopes.needs_patient:
        patient = _chosen_patient(user, asked.app, form)
        if patient is None:
            return _consent(request, asked, user, form, status=400)
    return _allow(request, asked, user, patient, launch)


def _own_record(request: HttpRequest, user: User, app: SmartApp) -> Patient | None:
    """A patient's own record at the app's clinic; staff must work there."""
    if user.is_staff_member:
        if app.clinic_id not in clinic_roles(user):
            deny(request, reason="this app belongs to a clinic this account does not work at")
        return None
    patient = Patient.objects.filter(user=user, clinic_id=app.clinic_id).first()
    if patient is None:
        deny(request, reason="this app belongs to a clinic that does not hold this record")
    return patient


def _chosen_patient(user: User, app: SmartApp, form: PatientChoiceForm) -> Patient | None:
    """The patient a staff member picked for patient scopes (a form error if none fits)."""
    mrn = form.cleaned_data["mrn"].strip()
    roles = clinic_roles(user)[app.clinic_id][1]
    if not roles_allow(roles, Perm.VIEW_DEMOGRAPHICS):
        form.add_error("mrn", "Your role cannot open patient records.")
        return None
    patient = Patient.objects.filter(clinic_id=app.clinic_id, mrn=mrn).first() if mrn else None
    if patient is None:
        form.add_error("mrn", "Give the record number of one of this clinic's patients.")
    return patient


def _allow(
    request: HttpRequest,
    asked: Asked,
    user: User,
    patient: Patient | None,
    launch: EhrLaunch | None,
) -> HttpResponse:
    try:
        _, code = services.authorize(
            app=asked.app,
            user=user,
            patient=patient,
            scopes=asked.scopes,
            redirect_uri=asked.redirect_uri,
            code_challenge=asked.code_challenge,
            nonce=asked.nonce,
            launch=launch,
            request=request,
        )
    except OAuthError as error:  # the launch was spent by another request meanwhile
        return _back(
            asked.redirect_uri, asked.state, error=error.error, error_description=error.description
        )
    return _back(asked.redirect_uri, asked.state, code=code)


def _consent(
    request: HttpRequest,
    asked: Asked,
    user: User,
    form: PatientChoiceForm,
    status: int,
    launch: EhrLaunch | None = None,
) -> HttpResponse:
    patient_user = not user.is_staff_member
    context = {
        "app": asked.app,
        "lines": describe(asked.scopes, patient_user=patient_user),
        "params": sorted(asked.params.items()),
        "form": form,
        "choose_patient": asked.scopes.needs_patient and not patient_user and launch is None,
        "launch_patient": launch.patient if launch is not None else None,
        "redirect_host": asked.redirect_uri.split("/")[2],
    }
    return render(request, "smart/authorize.html", context, status=status)


def _basic(header: str) -> tuple[str, str]:
    kind, _, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    client_id, sep, secret = decoded.partition(":")
    if kind.lower() != "basic" or not sep:
        raise OAuthError(
            "invalid_client", "Authorization: send Basic with the client id and secret", 401
        )
    # RFC 6749 section 2.3.1: both are form-encoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


def _client_auth(request: HttpRequest) -> SmartApp:
    """The app making a token or revocation request (RFC 6749 section 2.3)."""
    body_id = one(request.POST, "client_id", required=False)
    secret = one(request.POST, "client_secret", required=False)
    header = request.headers.get("Authorization", "")
    client_id = body_id
    if header:
        if secret:
            raise invalid(
                "client_secret", "send it in the Authorization header or the body, not both"
            )
        client_id, secret = _basic(header)
        if body_id and body_id != client_id:
            raise invalid("client_id", "differs from the one in the Authorization header")
    if not client_id:
        raise invalid("client_id", "is required")
    app = None
    if CLIENT_ID.fullmatch(client_id):
        app = SmartApp.objects.filter(client_id=client_id, disabled_at__isnull=True).first()
    if app is None:
        raise OAuthError("invalid_client", "client_id: no app is registered with this id", 401)
    if app.confidential and not (
        secret and hmac.compare_digest(hash_secret(secret), app.secret_hash)
    ):
        raise OAuthError("invalid_client", "client_secret: wrong or missing", 401)
    return app


def _form_post(request: HttpRequest) -> None:
    if request.method != "POST":
        raise OAuthError("invalid_request", "method: use POST", 405)
    kind = (request.content_type or "").lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise invalid("Content-Type", "must be application/x-www-form-urlencoded")


def _grant(request: HttpRequest, app: SmartApp) -> services.Issued:
    grant_type = one(request.POST, "grant_type")
    if grant_type == "authorization_code":
        return services.exchange_code(
            app=app,
            raw_code=one(request.POST, "code"),
            redirect_uri=one(request.POST, "redirect_uri"),
            verifier=_verifier(request.POST),
            request=request,
        )
    if grant_type == "refresh_token":
        raw = one(request.POST, "refresh_token")
        scope = one(request.POST, "scope", required=False)
        try:
            narrower = parse_scopes(scope, served_types()) if scope else None
        except ScopeError as error:
            raise OAuthError("invalid_scope", f"scope: {error}") from error
        return services.refresh(
            app=app, raw_refresh=raw, narrower=narrower, served=served_types(), request=request
        )
    raise OAuthError(
        "unsupported_grant_type",
        "grant_type: must be authorization_code, refresh_token or client_credentials",
    )


def _verifier(params: QueryDict) -> str:
    verifier = one(params, "code_verifier")
    if not VERIFIER.fullmatch(verifier):
        raise invalid("code_verifier", "must be 43 to 128 letters, digits or -._~")
    return verifier


def _client_credentials(request: HttpRequest) -> backend.BackendIssued:
    """SMART Backend Services: the app proves itself with the JWT it signed."""
    if request.headers.get("Authorization") or request.POST.get("client_secret"):
        raise invalid("client_assertion", "a backend service signs an assertion; send no secret")
    return backend.client_credentials(
        assertion_type=one(request.POST, "client_assertion_type"),
        assertion=one(request.POST, "client_assertion"),
        scope=one(request.POST, "scope"),
        client_id=one(request.POST, "client_id", required=False),
        request=request,
    )


@csrf_exempt  # called by apps, never with a session: the client authenticates itself
def token(request: HttpRequest) -> HttpResponse:
    try:
        _form_post(request)
        issued: services.Issued | backend.BackendIssued
        if one(request.POST, "grant_type", required=False) == "client_credentials":
            issued = _client_credentials(request)
        else:
            issued = _grant(request, _client_auth(request))
    except OAuthError as error:
        return oauth_error(error)
    return JsonResponse(issued.answer())


@csrf_exempt  # as the token endpoint
def revoke(request: HttpRequest) -> HttpResponse:
    """RFC 7009: 200 whether or not the token was known, so that no one learns which are."""
    try:
        _form_post(request)
        app = _client_auth(request)
        raw = one(request.POST, "token")
        hint = one(request.POST, "token_type_hint", required=False)
        if hint not in ("", "access_token", "refresh_token"):
            raise invalid("token_type_hint", "must be access_token or refresh_token")
    except OAuthError as error:
        return oauth_error(error)
    services.revoke(app=app, raw=raw, request=request)
    return JsonResponse({})
