"""Administration of what patients read: the public page, crisis resources, reminders and
preparation instructions. Every change is previewed as patients will see it, then saved."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from katclinic.clinics import content
from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import Clinic, TextKind
from katclinic.clinics.permissions import Perm
from katclinic.protocols.models import ProtocolVersion
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.reminders import compose

CRISIS = "crisis_resources"
TITLES = {CRISIS: "Crisis resources", **dict(TextKind.choices)}
HELP = {
    CRISIS: "Shown on the public page and to patients whenever a safety concern is raised. "
    "Give numbers to call or text now, such as 911 and 988.",
    TextKind.PUBLIC_ABOUT: "Replaces the built-in explanation of ketamine-assisted treatment "
    "on the public page. Leave empty to keep the built-in wording.",
    TextKind.PUBLIC_SESSION: "Replaces the built-in description of a session, its side effects "
    "and who it is not for. Leave empty to keep the built-in wording.",
    TextKind.REMINDER_NOTE: "Added to every appointment reminder by email and text message, "
    "e.g. where to park. Leave empty for none.",
    TextKind.PREPARATION: "Added, one instruction per line, to the protocol's instructions "
    "before every dosing session, in reminders and the patient portal.",
}
PUBLIC_KINDS = {CRISIS, TextKind.PUBLIC_ABOUT, TextKind.PUBLIC_SESSION}


class TextForm(forms.Form):
    text = forms.CharField(
        label="Text",
        required=False,
        max_length=content.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 12}),
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["text"]
        field.label = TITLES[kind]
        field.help_text = HELP[kind]
        field.required = kind == CRISIS


def _current(clinic: Clinic, kind: str) -> str:
    return clinic.crisis_resources if kind == CRISIS else content.current_texts(clinic)[kind]


@staff_view(Perm.MANAGE_CLINIC)
def content_home(request: StaffRequest) -> HttpResponse:
    """Every patient-facing text of the clinic, with who last changed it."""
    texts = content.current_texts(request.clinic)
    changed = content.latest_changes(request.clinic)
    rows = [
        {
            "kind": kind,
            "title": TITLES[kind],
            "help": HELP[kind],
            "text": request.clinic.crisis_resources if kind == CRISIS else texts[kind],
            "changed": changed.get(kind),
            "empty": "built-in wording" if kind in PUBLIC_KINDS else "none",
        }
        for kind in (CRISIS, *TextKind.values)
    ]
    return render(request, "clinics/content.html", {"rows": rows})


def _sample_start(clinic: Clinic) -> datetime:
    """The next weekday at 10:00 in the clinic's time zone, for a sample reminder."""
    day = timezone.localdate() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=clinic_tz(clinic))


def _preview_context(clinic: Clinic, kind: str, text: str) -> dict[str, Any]:
    if kind in PUBLIC_KINDS:
        texts = content.current_texts(clinic)
        shown = Clinic(
            pk=clinic.pk,
            name=clinic.name,
            address=clinic.address,
            phone=clinic.phone,
            email=clinic.email,
            crisis_resources=text if kind == CRISIS else clinic.crisis_resources,
        )
        if kind != CRISIS:
            texts[kind] = text
        return {"public": True, "clinic_shown": shown, "texts": texts}
    lines = content.lines(text)
    protocol = ProtocolVersion.objects.for_clinic(clinic).active().order_by("title").first()
    subject, body = compose(
        clinic=clinic,
        what="dosing session",
        local=_sample_start(clinic),
        dosing=True,
        instructions=protocol.protocol.instructions if protocol else None,
        preparation=lines if kind == TextKind.PREPARATION else None,
        note=text if kind == TextKind.REMINDER_NOTE else None,
    )
    return {
        "public": False,
        "subject": subject,
        "body": body,
        "protocol": protocol,
        "steps": lines if kind == TextKind.PREPARATION else [],
    }


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def content_edit(request: StaffRequest, kind: str) -> HttpResponse:
    """Write a text, see it as patients will, then save it."""
    if kind not in TITLES:
        raise Http404("no such text")
    clinic = request.clinic
    post = request.POST if request.method == "POST" else None
    form = TextForm(post, kind=kind, initial={"text": _current(clinic, kind)})
    step = request.POST.get("step", "")
    if post is not None and form.is_valid() and step != "edit":
        text = form.cleaned_data["text"]
        if step == "save":
            try:
                if kind == CRISIS:
                    content.set_crisis_resources(
                        clinic=clinic, text=text, by=request.user, request=request
                    )
                else:
                    content.set_text(
                        clinic=clinic, kind=kind, text=text, by=request.user, request=request
                    )
            except content.ContentError as exc:
                form.add_error("text", str(exc))
            else:
                messages.success(request, f"Saved: {TITLES[kind]}.")
                return redirect("clinics:content")
        else:
            context = {"kind": kind, "title": TITLES[kind], "form": form}
            context |= _preview_context(clinic, kind, text)
            return render(request, "clinics/content_preview.html", context)
    status = 400 if form.errors else 200
    return render(
        request,
        "clinics/content_edit.html",
        {"kind": kind, "title": TITLES[kind], "form": form},
        status=status,
    )
