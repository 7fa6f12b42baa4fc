"""Pages: a clinic admin registers SMART apps; each person sees the apps they connected and
stops any of them (an admin sees and stops every connection at the clinic)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from katclinic.accounts.models import User
from katclinic.clinics.access import deny, get_patient_for_user, has_perm, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.lib.parse import parse_id
from katclinic.smart import backend, services
from katclinic.smart.auth import served_types
from katclinic.smart.describe import describe
from katclinic.smart.forms import AppForm, LaunchForm
from katclinic.smart.launch import launchable_apps, start_launch
from katclinic.smart.models import SmartApp, SmartGrant
from katclinic.smart.oauth import invalid
from katclinic.smart.scopes import from_granted
from katclinic.smart.views import Redirect


def _apps_page(
    request: StaffRequest,
    form: AppForm,
    *,
    app: SmartApp | None = None,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    apps = SmartApp.objects.filter(clinic=request.clinic).order_by("disabled_at", "name", "pk")
    context = {"form": form, "apps": list(apps[:200]), "registered": app, "secret": secret}
    return render(request, "smart/apps.html", context, status=status)


@staff_view(Perm.MANAGE_CLINIC)
@require_GET
def apps(request: StaffRequest) -> HttpResponse:
    return _apps_page(request, AppForm())


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def register(request: StaffRequest) -> HttpResponse:
    form = AppForm(request.POST)
    if not form.is_valid():
        return _apps_page(request, form, status=400)
    data = form.cleaned_data
    try:
        if data["kind"] == "backend":
            return _apps_page(request, AppForm(), app=_backend(request, data), status=201)
        app, secret = services.register_app(
            clinic=request.clinic,
            name=data["name"],
            redirect_uris=data["redirect_uris"].splitlines(),
            origins=data["origins"].splitlines(),
            confidential=data["kind"] == "confidential",
            by=request.user,
            launch_url=data["launch_url"],
            request=request,
        )
    except services.AppRefused as error:
        field, _, why = str(error).partition(": ")
        form.add_error(field if field in form.fields else None, why)
        return _apps_page(request, form, status=400)
    # The secret is on this answer only: the clinic keeps a hash of it.
    return _apps_page(request, AppForm(), app=app, secret=secret, status=201)


def _backend(request: StaffRequest, data: dict[str, Any]) -> SmartApp:
    if data["redirect_uris"].strip():
        raise services.AppRefused("redirect_uris: a backend service has no redirect addresses")
    if data["launch_url"].strip():
        raise services.AppRefused("launch_url: a backend service is not opened from a chart")
    return backend.register_backend(
        clinic=request.clinic,
        name=data["name"],
        jwks=data["jwks"],
        scopes=data["system_scopes"],
        by=request.user,
        request=request,
    )


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def disable(request: StaffRequest, app_id: int) -> HttpResponse:
    app = SmartApp.objects.filter(clinic=request.clinic, pk=parse_id(app_id, "app")).first()
    if app is None:
        deny(request, reason="no such app at this clinic", not_found=True)
    services.disable_app(app=app, by=request.user, request=request)
    return redirect("oauth:apps")


def _visible_grants(request: HttpRequest, user: User) -> QuerySet[SmartGrant]:
    clinic = getattr(request, "clinic", None)
    rows = SmartGrant.objects.filter(clinic=clinic).select_related("app", "user", "patient")
    if not (user.is_staff_member and has_perm(request, Perm.MANAGE_CLINIC)):
        rows = rows.filter(user=user)
    return rows.order_by("revoked_at", "-created_at", "-pk")


def _signed_in(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@require_GET
def connected(request: HttpRequest) -> HttpResponse:
    user = _signed_in(request)
    if user is None:
        return redirect(f"/accounts/login/?next={request.path}")
    grants = list(_visible_grants(request, user)[:200])
    rows = [
        (
            grant,
            describe(
                from_granted(grant.scopes, served_types()), patient_user=not user.is_staff_member
            ),
        )
        for grant in grants
    ]
    return render(request, "smart/connected.html", {"rows": rows})


@require_POST
def disconnect(request: HttpRequest, grant_id: int) -> HttpResponse:
    user = _signed_in(request)
    if user is None:
        return redirect(f"/accounts/login/?next={request.path}")
    grant = _visible_grants(request, user).filter(pk=parse_id(grant_id, "grant")).first()
    if grant is None:
        deny(request, reason="no such connected app for this person", not_found=True)
    services.disconnect(grant=grant, by=user, request=request)
    return redirect("oauth:connected")


@staff_view(Perm.VIEW_CLINICAL)
@require_POST
def launch(request: StaffRequest, patient_id: int) -> HttpResponse:
    """EHR launch: from a patient's chart to the chosen app's launch address."""
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    form = LaunchForm(request.POST)
    chosen = form.cleaned_data["app"] if form.is_valid() else None
    app = next((a for a in launchable_apps(request.clinic) if a.pk == chosen), None)
    if app is None:
        error = invalid("app", "choose one of this clinic's apps that open from a chart")
        return render(request, "smart/error.html", {"error": error}, status=400)
    target = start_launch(
        app=app,
        user=request.user,
        patient=patient,
        fhir_base=request.build_absolute_uri(reverse("fhir:transaction")),
        request=request,
    )
    return Redirect(target)
