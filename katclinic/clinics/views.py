from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from katclinic.clinics import registry
from katclinic.clinics.access import deny, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.middleware import ACTIVE_CLINIC_KEY
from katclinic.clinics.models import Clinic, ClinicSettingChange, OrganizationAdmin
from katclinic.clinics.permissions import Perm
from katclinic.lib.parse import BadParameter, parse_id
from katclinic.measures.safety import crisis_phrase_list


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


REASON_MAX = 1000


def _area_rows(clinic: Clinic) -> list[dict[str, Any]]:
    values = registry.all_settings(clinic)
    counts: dict[str, dict[str, int]] = {}
    for d in registry.REGISTRY.values():
        entry = counts.setdefault(d.area, {"total": 0, "changed": 0, "unverified": 0})
        entry["total"] += 1
        entry["changed"] += values[d] != d.default
        entry["unverified"] += not d.verified
    return [
        {"area": area, **counts[slug]} for slug, area in registry.AREAS.items() if slug in counts
    ]


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET"])
def clinic_settings(request: StaffRequest) -> HttpResponse:
    """The areas of the clinic's settings, each with how many settings it has and changed."""
    context = {
        "areas": _area_rows(request.clinic),
        "organization_admin": OrganizationAdmin.objects.filter(
            organization_id=request.clinic.organization_id, user=request.user
        ).exists(),
    }
    return render(request, "clinics/settings.html", context)


def _change_problems(
    definition: registry.SettingDefinition, raw: str, reason: str
) -> dict[str, str]:
    """What is wrong with a posted change, by field: the reason, then the value."""
    problems: dict[str, str] = {}
    if not reason:
        problems["reason"] = "Give a reason for the change."
    elif len(reason) > REASON_MAX:
        problems["reason"] = f"Keep the reason under {REASON_MAX} characters."
    elif "\x00" in reason:
        problems["reason"] = "The reason contains a character that cannot be stored."
    if definition.kind == "bool" and raw not in ("true", "false"):
        problems["value"] = f"{definition.label}: choose yes or no."
    else:
        try:
            definition.parse(raw)
        except ValueError as exc:
            problems["value"] = f"{definition.label} {exc}."
    return problems


def _change_setting(request: StaffRequest, area: str) -> HttpResponse:
    """Store a posted change, or show the area again with what is wrong with it."""
    definition = registry.by_slug(request.POST.get("setting", ""))
    if definition is None or definition.area != area:
        return _render_area(
            request, area, {"": {"setting": "Choose a setting from this page."}}, {}, 400
        )
    raw = request.POST.get("value", "")
    reason = request.POST.get("reason", "").strip()
    problems = _change_problems(definition, raw, reason)
    if problems:
        posted = {"slug": definition.slug, "value": raw, "reason": reason}
        return _render_area(request, area, {definition.slug: problems}, posted, 400)
    registry.set_setting(
        clinic=request.clinic,
        key=definition.key,
        raw=raw,
        by=request.user,
        reason=reason,
        request=request,
    )
    messages.success(request, f"{definition.label} changed.")
    return redirect(f"{reverse('clinics:settings_area', args=[area])}#{definition.slug}")


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def settings_area(request: StaffRequest, area: str) -> HttpResponse:
    """One area's settings: value, default, source, whether verified, history, and a change form."""
    if area not in registry.AREAS:
        raise Http404
    if request.method == "POST":
        return _change_setting(request, area)
    return _render_area(request, area, {}, {}, 200)


def _history(
    clinic: Clinic, definitions: list[registry.SettingDefinition]
) -> dict[str, list[ClinicSettingChange]]:
    """Each setting's recorded changes, newest first."""
    history: dict[str, list[ClinicSettingChange]] = {}
    for change in (
        ClinicSettingChange.objects.filter(clinic=clinic, key__in=[d.key for d in definitions])
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")
    ):
        history.setdefault(change.key, []).append(change)
    return history


def _shown_changes(
    definition: registry.SettingDefinition, changes: list[ClinicSettingChange]
) -> list[dict[str, Any]]:
    return [
        {
            "at": c.changed_at,
            "by": c.changed_by,
            "old": registry.shown(
                definition.default if c.old_value is None else c.old_value, definition
            ),
            "new": registry.shown(c.new_value, definition),
            "reason": c.reason,
        }
        for c in changes
    ]


def _area_settings(
    clinic: Clinic,
    area: str,
    errors: dict[str, dict[str, str]],
    posted: dict[str, str],
) -> list[dict[str, Any]]:
    """One row per setting of the area: its value, default, history and any posted error."""
    values = registry.all_settings(clinic)
    definitions = sorted(
        (d for d in registry.REGISTRY.values() if d.area == area), key=lambda d: (d.group, d.label)
    )
    history = _history(clinic, definitions)
    return [
        {
            "definition": d,
            "value": registry.shown(values[d], d),
            "default": registry.shown(d.default, d),
            "changed": values[d] != d.default,
            "errors": errors.get(d.slug, {}),
            "posted": posted if posted.get("slug") == d.slug else {},
            "history": _shown_changes(d, history.get(d.key, [])),
        }
        for d in definitions
    ]


def _render_area(
    request: StaffRequest,
    area: str,
    errors: dict[str, dict[str, str]],
    posted: dict[str, str],
    status: int,
) -> HttpResponse:
    clinic = request.clinic
    context = {
        "area": registry.AREAS[area],
        "areas": _area_rows(clinic),
        "rows": _area_settings(clinic, area, errors, posted),
        "page_error": errors.get("", {}).get("setting"),
        # Fixed in the software, not a setting, but read with the settings it works beside.
        "crisis_phrases": crisis_phrase_list() if area == "measures" else None,
    }
    return render(request, "clinics/settings_area.html", context, status=status)
