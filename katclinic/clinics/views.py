from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from katclinic.clinics.access import deny
from katclinic.clinics.middleware import ACTIVE_CLINIC_KEY


@require_http_methods(["GET", "POST"])
def choose(request: HttpRequest) -> HttpResponse:
    """Pick the clinic to work in, for staff with memberships at several."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    if not request.user.is_staff_member:
        deny(request, reason="staff page")
    choices = getattr(request, "clinic_choices", {})
    if request.method == "POST":
        try:
            chosen = int(request.POST.get("clinic", ""))
        except ValueError:
            chosen = -1
        if chosen in choices:
            request.session[ACTIVE_CLINIC_KEY] = chosen
            return redirect("core:home")
    status = 400 if request.method == "POST" else 200
    clinics = sorted(choices.values(), key=lambda c: c.name)
    return render(
        request, "clinics/choose.html", {"clinics": clinics, "error": status == 400}, status=status
    )
