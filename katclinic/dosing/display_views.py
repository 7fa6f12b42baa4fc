"""Issuing and revoking display links (staff), and the board they open (the link alone)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.accounts.middleware import STOP_POLLING
from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.dosing import board, display
from katclinic.dosing.models import BoardDisplay


def _links_page(request: StaffRequest, **extra: object) -> dict[str, object]:
    links = BoardDisplay.objects.for_clinic(request.clinic).select_related("created_by")
    return {"links": links.order_by("-created_at"), **extra}


@staff_view(Perm.ISSUE_BOARD_DISPLAY)
@require_http_methods(["GET", "POST"])
def links(request: StaffRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "dosing/display_links.html", _links_page(request))
    try:
        issued, raw = display.issue(
            clinic=request.clinic,
            label=request.POST.get("label", ""),
            by=request.user,
            request=request,
        )
    except display.DisplayError as error:
        context = _links_page(request, error=str(error))
        return render(request, "dosing/display_links.html", context, status=400)
    url = request.build_absolute_uri(f"/dosing/display/{raw}/")
    context = _links_page(request, issued=issued, url=url)
    return render(request, "dosing/display_links.html", context)


@staff_view(Perm.ISSUE_BOARD_DISPLAY)
@require_POST
def revoke(request: StaffRequest, display_id: int) -> HttpResponse:
    found = BoardDisplay.objects.for_clinic(request.clinic).filter(pk=display_id).first()
    if found is None:
        raise Http404("No such display link")
    try:
        display.revoke(display=found, by=request.user, request=request)
    except display.DisplayError as error:
        context = _links_page(request, error=str(error))
        return render(request, "dosing/display_links.html", context, status=400)
    return redirect("dosing:display_links")


def _board(request: HttpRequest, token: str, template: str) -> HttpResponse | None:
    found = display.active_display(token)
    if found is None:
        return None
    with timezone.override(found.clinic.timezone):
        now = timezone.now()
        context = {"chairs": board.floor(found.clinic, now), "now": now, "token": token}
        response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def wall(request: HttpRequest, token: str) -> HttpResponse:
    response = _board(request, token, "dosing/display_board.html")
    if response is None:
        raise Http404("This display link is not valid")
    return response


@require_GET
def wall_rows(request: HttpRequest, token: str) -> HttpResponse:
    response = _board(request, token, "dosing/_board_rows.html")
    if response is not None:
        return response
    reason = "This display link was revoked or is not valid."
    page = render(request, "accounts/_not_monitoring.html", {"reason": reason, "sign_in": "/"})
    page.status_code = STOP_POLLING
    return page
