"""Pages for passkeys: the security page (add, list, remove) and the passkey sign-in step.

The browser side is `accounts/static/accounts/passkeys.js`: it asks for options as JSON,
calls navigator.credentials, and posts the answer back in an ordinary form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from katclinic.accounts import passkeys, services
from katclinic.accounts.forms import PasskeyAddForm, PasskeyRemoveForm, PasskeySignInForm
from katclinic.accounts.models import TotpDevice, User
from katclinic.accounts.views import NEXT, end_if_locked_out, second_factor_page

View = Callable[..., HttpResponse]


def _staff(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_staff_member else None


def staff_page(*, signed_in_fully: bool, json: bool = False) -> Callable[[View], View]:
    """Staff only (patients get 403); `signed_in_fully` also asks for the second step.

    A signed-out visitor is sent to sign in (a JSON endpoint answers 401).
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not isinstance(request.user, User):
                if json:
                    return JsonResponse({"error": "Sign in first."}, status=401)
                return redirect(f"/accounts/login/?next={request.path}")
            user = _staff(request)
            if user is None:
                return _refuse(json, "Passkeys are for clinic staff accounts.", 403)
            if signed_in_fully and not request.session.get(services.OTP_OK):
                if json:
                    return _refuse(json, "Finish signing in first.", 403)
                return redirect("accounts:second_factor")
            if json and not passkeys.available():
                return _refuse(json, "Passkeys are not set up on this server.", 404)
            return view(request, user, *args, **kwargs)

        return wrapped

    return decorate


def _refuse(json: bool, message: str, status: int) -> HttpResponse:
    if json:
        return JsonResponse({"error": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _options(text: str) -> HttpResponse:
    response = HttpResponse(text, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def security_page(
    request: HttpRequest,
    user: User,
    *,
    add_form: PasskeyAddForm | None = None,
    remove_form: PasskeyRemoveForm | None = None,
    removing: int | None = None,
) -> HttpResponse:
    add_form = add_form or PasskeyAddForm()
    context = {
        "passkeys": passkeys.for_user(user),
        "available": passkeys.available(),
        "has_totp": TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists(),
        "add_form": add_form,
        "remove_form": remove_form or PasskeyRemoveForm(),
        "removing": removing,
    }
    status = 400 if add_form.errors or (remove_form and remove_form.errors) else 200
    return render(request, "accounts/security.html", context, status=status)


@require_GET
@staff_page(signed_in_fully=True)
def security(request: HttpRequest, user: User) -> HttpResponse:
    """The person's own sign-in security: their authenticator app and their passkeys."""
    return security_page(request, user)


@require_POST
@staff_page(signed_in_fully=True, json=True)
def register_options(request: HttpRequest, user: User) -> HttpResponse:
    return _options(passkeys.registration_options(request, user))


@require_POST
@staff_page(signed_in_fully=True)
def register(request: HttpRequest, user: User) -> HttpResponse:
    form = PasskeyAddForm(request.POST)
    if form.is_valid():
        try:
            passkey = passkeys.register(request, user, **form.cleaned_data)
        except passkeys.PasskeyRefused as refused:
            form.add_error(refused.field, refused.message)
        else:
            messages.success(request, f"Passkey “{passkey.name}” added.")
            return redirect("accounts:security")
    return security_page(request, user, add_form=form)


@require_POST
@staff_page(signed_in_fully=True)
def remove(request: HttpRequest, user: User, passkey_id: int) -> HttpResponse:
    if not any(p.pk == passkey_id for p in passkeys.for_user(user)):
        raise Http404("There is no such passkey on your account.")
    form = PasskeyRemoveForm(request.POST)
    if form.is_valid():
        try:
            removed = passkeys.remove(
                request, user, passkey_id=passkey_id, password=form.cleaned_data["password"]
            )
        except passkeys.PasskeyRefused as refused:
            form.add_error("password", refused.message)
        else:
            messages.success(request, f"Passkey “{removed.name}” removed.")
            return redirect("accounts:security")
    return security_page(request, user, remove_form=form, removing=passkey_id)


@require_POST
@staff_page(signed_in_fully=False, json=True)
def sign_in_options(request: HttpRequest, user: User) -> HttpResponse:
    return _options(passkeys.authentication_options(request, user))


@require_POST
@staff_page(signed_in_fully=False)
def sign_in(request: HttpRequest, user: User) -> HttpResponse:
    """The second sign-in step with a passkey, beside the authenticator code."""
    if request.session.get(services.OTP_OK):
        return redirect(request.session.pop(NEXT, "/"))
    form = PasskeySignInForm(request.POST)
    if form.is_valid():
        if passkeys.sign_in(request, user, credential=form.cleaned_data["credential"]):
            return redirect(request.session.pop(NEXT, "/"))
        form.add_error("credential", "The passkey was not accepted. Try again or use a code.")
        if locked_out := end_if_locked_out(request, user):
            return locked_out
    return second_factor_page(request, user, passkey_form=form)
