"""API tokens from the web: staff issue, scope, expire and revoke their own; an admin sees
and revokes every token of the clinic."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from katclinic.api import services
from katclinic.api.forms import TokenForm
from katclinic.api.models import ApiToken
from katclinic.clinics.access import deny, has_perm
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.lib.parse import parse_id

View = Callable[..., HttpResponse]


def any_staff(view: View) -> View:
    """Signed in as staff with a clinic chosen; any role may hold tokens of their own."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        if not request.user.is_staff_member:
            deny(request, reason="staff page")
        if getattr(request, "clinic", None) is None:
            return redirect("clinics:choose")
        return view(request, *args, **kwargs)

    return wrapped


def _is_admin(request: StaffRequest) -> bool:
    return has_perm(request, Perm.MANAGE_CLINIC)


def _page(
    request: StaffRequest,
    form: TokenForm,
    *,
    secret: str = "",
    issued: ApiToken | None = None,
    status: int = 200,
) -> HttpResponse:
    admin = _is_admin(request)
    tokens = services.tokens_visible_to(user=request.user, clinic=request.clinic, is_admin=admin)
    context = {
        "form": form,
        "tokens": list(tokens[:200]),
        "is_admin": admin,
        "secret": secret,
        "issued": issued,
        "now": timezone.now(),
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, "api/tokens.html", context, status=status)


@any_staff
@require_GET
def tokens(request: StaffRequest) -> HttpResponse:
    return _page(request, TokenForm())


@any_staff
@require_POST
def issue(request: StaffRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        token, raw = services.issue_token(
            user=request.user,
            clinic=request.clinic,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            days=form.cleaned_data["days"],
            by=request.user,
            request=request,
        )
    except services.TokenRefused as error:
        field, _, why = str(error).partition(": ")
        form.add_error(field if field in form.fields else None, why)
        return _page(request, form, status=400)
    # The secret is on this answer only: it is stored hashed and cannot be shown again.
    return _page(request, TokenForm(), secret=raw, issued=token, status=201)


@any_staff
@require_POST
def revoke(request: StaffRequest, token_id: int) -> HttpResponse:
    rows = services.tokens_visible_to(
        user=request.user, clinic=request.clinic, is_admin=_is_admin(request)
    )
    token = rows.filter(pk=parse_id(token_id, "token")).first()
    if token is None:
        deny(request, reason="no such token for this person", not_found=True)
    services.revoke_token(token=token, by=request.user, request=request)
    return redirect("tokens:list")
