"""The first-run page: set up the organization, first clinic and administrator from a browser.

It is reachable only while no organization exists and only from the addresses named in
`KATCLINIC_SETUP_FROM`; until setup is done, every other page explains how to do it.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from katclinic.accounts.models import FAMILY_NAME_LENGTH, FULL_NAME_LENGTH
from katclinic.audit import services as audit
from katclinic.clinics.setup import SetupDetails, SetupRefused, set_up_clinic, setup_needed
from katclinic.clinics.staff import FAMILY_NAME_HELP

# Paths that work before setup: the first-run page itself, static files and monitoring.
OPEN_BEFORE_SETUP = ("/setup/", "/static/", "/favicon.ico", "/healthz", "/metrics")


class SetupForm(forms.Form):
    organization = forms.CharField(label="Organization name", max_length=200)
    clinic = forms.CharField(label="Clinic name", max_length=200)
    timezone = forms.CharField(
        label="Time zone",
        max_length=64,
        initial="America/New_York",
        help_text="For example America/Chicago.",
    )
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    phone = forms.CharField(max_length=40, required=False)
    npi = forms.CharField(label="NPI", max_length=10, required=False)
    tax_id = forms.CharField(label="Tax id", max_length=20, required=False)
    crisis_resources = forms.CharField(
        label="Crisis resources shown to patients",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    admin_email = forms.EmailField(label="Administrator email", max_length=254)
    admin_name = forms.CharField(label="Administrator full name", max_length=FULL_NAME_LENGTH)
    admin_family_name = forms.CharField(
        label="Administrator family name",
        max_length=FAMILY_NAME_LENGTH,
        required=False,
        help_text=FAMILY_NAME_HELP,
    )
    admin_password = forms.CharField(
        label="Administrator passphrase",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


# A request that passed through the TLS proxy carries these; its address is the proxy's,
# so it cannot tell who is really asking.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_REAL_IP")


def from_setup_address(request: HttpRequest) -> bool:
    """The request comes straight from an address the operator named for setting up."""
    if any(header in request.META for header in PROXY_HEADERS):
        return False
    return audit.client_ip(request) in set(settings.KATCLINIC_SETUP_FROM)


def _explain(request: HttpRequest, status: int) -> HttpResponse:
    context = {"from_here": from_setup_address(request)}
    return render(request, "clinics/setup_needed.html", context, status=status)


def _already_done(request: HttpRequest) -> HttpResponse:
    """Setup runs once: afterwards the page says so (as not found, so nothing is offered)."""
    return render(request, "clinics/setup_done.html", status=404)


@require_http_methods(["GET", "POST"])
def first_run(request: HttpRequest) -> HttpResponse:
    if not setup_needed():
        return _already_done(request)
    if not from_setup_address(request):
        return _explain(request, status=403)
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        details = SetupDetails(**form.cleaned_data)
        try:
            set_up_clinic(details=details, ip=audit.client_ip(request))
        except SetupRefused:
            return _already_done(request)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(
                request, "The clinic is set up. Sign in as the administrator to continue."
            )
            return redirect("accounts:login")
    status = 400 if form.errors else 200
    return render(request, "clinics/setup.html", {"form": form}, status=status)


class FirstRunMiddleware:
    """Until an organization exists, every page explains how to set the install up."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.set_up = False

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.set_up and not self._cannot_need_setup(request):
            # An organization is never removed, so once seen there is no need to look again.
            if setup_needed():
                return _explain(request, status=503)
            self.set_up = True
        return self.get_response(request)

    @staticmethod
    def _cannot_need_setup(request: HttpRequest) -> bool:
        """A request that shows setup is done without asking the database again: a page
        open before setup, a signed-in user (users exist only after setup), or a bearer
        token (which no empty install has issued, so it is refused on its own)."""
        return (
            request.path.startswith(OPEN_BEFORE_SETUP)
            or "HTTP_AUTHORIZATION" in request.META
            or request.user.is_authenticated
        )
