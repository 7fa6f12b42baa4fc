from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from katclinic.clinics import registry
from katclinic.clinics.access import deny, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.middleware import ACTIVE_CLINIC_KEY
from katclinic.clinics.permissions import Perm
from katclinic.lib.parse import BadParameter, parse_id


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
            chosen = parse_id(request.POST.get("clinic", ""), "clinic")
        except BadParameter:
            chosen = -1
        if chosen in choices:
            request.session[ACTIVE_CLINIC_KEY] = chosen
            return redirect("core:home")
    status = 400 if request.method == "POST" else 200
    clinics = sorted(choices.values(), key=lambda c: c.name)
    return render(
        request, "clinics/choose.html", {"clinics": clinics, "error": status == 400}, status=status
    )


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def clinic_settings(request: StaffRequest) -> HttpResponse:
    """Every clinical threshold with its value, its cited default, and a form to change it."""
    clinic = request.clinic
    errors: dict[str, str] = {}
    if request.method == "POST":
        key = request.POST.get("key", "")
        if key not in registry.REGISTRY:
            errors["key"] = "Unknown setting."
        else:
            try:
                registry.set_setting(
                    clinic=clinic,
                    key=key,
                    raw=request.POST.get("value", ""),
                    by=request.user,
                    reason=request.POST.get("reason", ""),
                    request=request,
                )
                messages.success(request, f"{registry.REGISTRY[key].label} changed.")
                return redirect("clinics:settings")
            except ValueError as exc:
                errors[key] = f"{registry.REGISTRY[key].label} {exc}."
    values = registry.all_settings(clinic)
    rows = [
        {
            "definition": d,
            "value": values[d.key],
            "changed": values[d.key] != d.default,
            "error": errors.get(d.key),
        }
        for d in sorted(registry.REGISTRY.values(), key=lambda d: (d.group, d.label))
    ]
    return render(request, "clinics/settings.html", {"rows": rows}, status=400 if errors else 200)
