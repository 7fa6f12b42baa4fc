"""Organization pages: adding a clinic."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from katclinic.clinics import organization
from katclinic.clinics.access import deny, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm


class AddClinicForm(forms.Form):
    name = forms.CharField(label="Clinic name", max_length=200)
    timezone = forms.ChoiceField(label="Time zone", initial="America/New_York")
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    phone = forms.CharField(max_length=40, required=False)
    npi = forms.CharField(label="NPI (organization)", max_length=10, required=False)
    tax_id = forms.CharField(label="Tax id", max_length=20, required=False)
    crisis_resources = forms.CharField(
        label="Crisis resources shown to patients",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    copy_from = forms.ModelChoiceField(
        label="Copy settings from",
        queryset=Clinic.objects.none(),
        required=False,
        empty_label="Start from the defaults",
    )
    adopt_protocols = forms.BooleanField(
        label="Adopt the protocols shipped with KAT Clinic (their current versions)",
        required=False,
    )

    def __init__(self, *args: object, organization_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["timezone"].choices = [  # type: ignore[attr-defined]
            (z, z) for z in sorted(zoneinfo.available_timezones())
        ]
        self.fields["copy_from"].queryset = Clinic.objects.filter(  # type: ignore[attr-defined]
            organization_id=organization_id
        ).order_by("name")


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def add_clinic(request: StaffRequest) -> HttpResponse:
    org = request.clinic.organization
    allowed = organization.is_organization_admin(request.user, org.pk)
    if request.method == "POST" and not allowed:
        deny(request, reason="organization administrators only")
    form = AddClinicForm(request.POST or None, organization_id=org.pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        details = organization.NewClinic(
            **{k: data[k] for k in ("name", "timezone", "address", "phone", "npi", "tax_id")},
            crisis_resources=data["crisis_resources"],
        )
        try:
            clinic = organization.add_clinic(
                organization=org,
                by=request.user,
                details=details,
                copy_from=data["copy_from"],
                adopt_protocols=data["adopt_protocols"],
                request=request,
            )
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(
                request,
                f"{clinic.name} added, with you as its administrator. "
                "Choose it from the clinic menu to invite its staff.",
            )
            return redirect("clinics:choose")
    status = 400 if form.errors else 200
    context = {"form": form, "allowed": allowed, "organization": org}
    return render(request, "clinics/add_clinic.html", context, status=status)
