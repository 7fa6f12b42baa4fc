"""Administration of the clinic's protocol library: adopting shipped protocols (with what
changed since the clinic's version) and clinic versions built from a form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.protocols import adoption
from katclinic.protocols.diff import grouped
from katclinic.protocols.forms import CheckpointFormSet, ProtocolFieldsForm
from katclinic.protocols.schema import ProtocolError
from katclinic.protocols.views import get_protocol_for_user

# Where a protocol's own check (after the form's) points, for the field it concerns.
_PROBLEM_FIELDS = (
    ("starting_dose", "starting_dose"),
    ("dose_rule.mg_per_kg", "mg_per_kg"),
    ("dose_rule.duration_minutes", "duration_minutes"),
    ("dose_rule.step_mg", "step_mg"),
    ("limits.hard_min", "hard_min"),
    ("limits.hard_max", "hard_max"),
    ("limits.soft_min", "soft_min"),
    ("limits.soft_max", "soft_max"),
    ("limits.absolute_max_mg", "absolute_max_mg"),
    ("limits", "hard_max"),
    ("spacing.min_interval_hours", "min_interval_hours"),
    ("spacing.max_doses_per_week", "max_doses_per_week"),
    ("monitoring.min_observation_minutes", "min_observation_minutes"),
    ("title", "title"),
)


@staff_view(Perm.MANAGE_CLINIC)
def adoption_page(request: StaffRequest) -> HttpResponse:
    """Shipped protocols beside the clinic's adopted versions, with what a newer one changes."""
    rows, own = adoption.overview(request.clinic)
    listed = [{"row": row, "areas": grouped(row.changes)} for row in rows]
    return render(request, "protocols/adoption.html", {"rows": listed, "own": own})


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def adopt(request: StaffRequest, key: str) -> HttpResponse:
    try:
        row = adoption.adopt_shipped_protocol(
            clinic=request.clinic,
            key=key,
            activate=request.POST.get("activate") == "on",
            by=request.user,
            request=request,
        )
    except adoption.AdoptionError as exc:
        messages.error(request, str(exc))
        return redirect("protocols:adoption")
    messages.success(
        request,
        f"Adopted {row.title} as version {row.version} ({row.get_status_display().lower()}).",
    )
    return redirect("protocols:detail", row.pk)


def _initial(base: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    p = base.protocol
    limits = p.limits
    initial = {
        "title": p.title,
        "starting_dose": p.starting_dose.dose,
        "mg_per_kg": p.dose_rule.mg_per_kg,
        "duration_minutes": p.dose_rule.duration_minutes,
        "step_mg": p.dose_rule.step_mg,
        "hard_min": limits.hard_min.value,
        "hard_max": limits.hard_max.value,
        "soft_min": limits.soft_min.value if limits.soft_min else None,
        "soft_max": limits.soft_max.value if limits.soft_max else None,
        "absolute_max_mg": limits.absolute_max_mg.value if limits.absolute_max_mg else None,
        "min_interval_hours": p.spacing.min_interval_hours.value,
        "max_doses_per_week": p.spacing.max_doses_per_week.value,
        "min_observation_minutes": p.monitoring.min_observation_minutes.value,
    }
    points = [
        {
            "label": c.label,
            "minutes_after_start": c.minutes_after_start,
            "measures": list(c.measures),
            "repeat_every_minutes": c.repeat_every_minutes,
            "repeat_until_minutes": c.repeat_until_minutes,
        }
        for c in p.monitoring.checkpoints
    ]
    return initial, points


def _edits(form: ProtocolFieldsForm, formset: Any) -> adoption.ProtocolEdits:
    data = form.cleaned_data
    points = [
        adoption.CheckpointEdit(
            label=f.cleaned_data["label"],
            minutes_after_start=f.cleaned_data["minutes_after_start"],
            measures=list(f.cleaned_data["measures"]),
            repeat_every_minutes=f.cleaned_data.get("repeat_every_minutes"),
            repeat_until_minutes=f.cleaned_data.get("repeat_until_minutes"),
        )
        for f in formset.forms
        if f.cleaned_data and f.kept
    ]

    def dec(name: str) -> Decimal | None:
        value = data.get(name)
        return None if value is None else Decimal(value)

    return adoption.ProtocolEdits(
        title=data["title"],
        starting_dose=data["starting_dose"],
        hard_min=data["hard_min"],
        hard_max=data["hard_max"],
        soft_min=dec("soft_min"),
        soft_max=dec("soft_max"),
        absolute_max_mg=dec("absolute_max_mg"),
        min_interval_hours=data["min_interval_hours"],
        max_doses_per_week=data["max_doses_per_week"],
        min_observation_minutes=data["min_observation_minutes"],
        checkpoints=points,
        mg_per_kg=dec("mg_per_kg"),
        duration_minutes=data.get("duration_minutes"),
        step_mg=dec("step_mg"),
    )


def _place_problem(form: ProtocolFieldsForm, formset: Any, problem: str) -> None:
    """Put a protocol check's complaint on the field it names, in words."""
    path, _, message = problem.partition(": ")
    message = message.removeprefix("Value error, ")
    if path in ("(protocol)", "limits", "spacing") and ": " in message:
        path, _, message = message.partition(": ")
    if path.startswith("phases"):
        field = "min_interval_hours" if "interval" in message else "max_doses_per_week"
        form.add_error(
            field,
            "A treatment phase of this protocol plans more doses a week, or doses closer "
            "together, than this allows.",
        )
        return
    message = message[:1].upper() + message[1:] if message else problem
    if path.startswith("monitoring.checkpoints"):
        index = path.removeprefix("monitoring.checkpoints").strip("[]").split("]")[0]
        kept = [f for f in formset.forms if f.cleaned_data and f.kept]
        if index.isascii() and index.isdigit() and int(index) < len(kept):
            kept[int(index)].add_error(None, message)
            return
        form.add_error(None, f"Monitoring checkpoints: {message}")
        return
    for prefix, name in _PROBLEM_FIELDS:
        if path.startswith(prefix) and name in form.fields:
            form.add_error(name, message)
            return
    form.add_error(None, message)


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def edit_fields(request: StaffRequest, version_id: int) -> HttpResponse:
    """A new clinic version from an existing one, its doses, limits and checkpoints edited."""
    base = get_protocol_for_user(request, version_id)
    initial, points = _initial(base)
    rule = base.protocol.dose_rule
    post = request.POST if request.method == "POST" else None
    form = ProtocolFieldsForm(post, initial=initial, unit=rule.unit, basis=rule.basis)
    formset = CheckpointFormSet(post, initial=points, prefix="checkpoints")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        edits = _edits(form, formset)
        if not edits.checkpoints:
            form.add_error(None, "Keep at least one monitoring checkpoint.")
        else:
            try:
                row = adoption.create_version_from_edits(
                    base=base,
                    edits=edits,
                    note=form.cleaned_data["note"],
                    activate=form.cleaned_data["activate"],
                    by=request.user,
                    request=request,
                )
            except ProtocolError as exc:
                for problem in exc.problems:
                    _place_problem(form, formset, problem)
            else:
                messages.success(
                    request,
                    f"Saved {row.title} as version {row.version} ({row.get_status_display().lower()}).",
                )
                return redirect("protocols:detail", row.pk)
    invalid = request.method == "POST"
    return render(
        request,
        "protocols/edit_fields.html",
        {"base": base, "form": form, "formset": formset, "invalid": invalid},
        status=400 if invalid else 200,
    )
