"""Public portal pages: ask for an emailed link, use it, set a password."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from katclinic.accounts.views import NEXT
from katclinic.portal import services
from katclinic.portal.forms import EmailForm, SetPasswordForm
from katclinic.portal.models import LinkPurpose

REQUEST_PAGES = {
    LinkPurpose.SIGN_IN: ("portal/link_request.html", "Email me a sign-in link"),
    LinkPurpose.RESET: ("portal/reset_request.html", "Reset your password"),
}


def _request_link(request: HttpRequest, purpose: LinkPurpose) -> HttpResponse:
    template, _ = REQUEST_PAGES[purpose]
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.request_emailed_link(
            email=form.cleaned_data["email"], purpose=purpose, request=request
        )
        # The same answer whether or not the address has an account.
        return render(request, "portal/link_sent.html", {"purpose": purpose})
    return render(request, template, {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def link_request(request: HttpRequest) -> HttpResponse:
    return _request_link(request, LinkPurpose.SIGN_IN)


@require_http_methods(["GET", "POST"])
def reset_request(request: HttpRequest) -> HttpResponse:
    return _request_link(request, LinkPurpose.RESET)


@require_http_methods(["GET", "POST"])
def link_sign_in(request: HttpRequest, token: str) -> HttpResponse:
    """A button, not an automatic sign-in: mail scanners that open links must not use them."""
    if services.find_link(token, (LinkPurpose.SIGN_IN,)) is None:
        return render(request, "portal/link_gone.html", status=410)
    if request.method == "POST":
        user = services.sign_in_with_link(raw=token, request=request)
        if user is None:
            return render(request, "portal/link_gone.html", status=410)
        request.session[NEXT] = "/portal/"
        # Patients who enrolled an authenticator are asked for a code here.
        return redirect("accounts:second_factor")
    return render(request, "portal/link_sign_in.html")


@require_http_methods(["GET", "POST"])
def set_password(request: HttpRequest, token: str) -> HttpResponse:
    link = services.find_link(token, (LinkPurpose.INVITATION, LinkPurpose.RESET))
    if link is None:
        return render(request, "portal/link_gone.html", status=410)
    form = SetPasswordForm(request.POST or None, user=link.user)
    if request.method == "POST" and form.is_valid():
        user = services.set_password_with_link(
            raw=token, password=form.cleaned_data["password"], request=request
        )
        if user is None:
            return render(request, "portal/link_gone.html", status=410)
        messages.success(request, "Your password is set. Sign in with it now.")
        return redirect("accounts:login")
    context = {"form": form, "invitation": link.purpose == LinkPurpose.INVITATION}
    return render(request, "portal/set_password.html", context, status=400 if form.errors else 200)
