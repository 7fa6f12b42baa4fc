import segno
from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.accounts import passkeys, services
from katclinic.accounts.forms import CodeForm, PasskeySignInForm, SignInForm
from katclinic.accounts.models import Passkey, TotpDevice, User, UserSession
from katclinic.audit import services as audit
from katclinic.audit.models import Action

SETUP_SECRET = "totp_setup_secret"  # noqa: S105 - a session key name, not a secret
NEXT = "after_sign_in"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, {request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        wait = services.lockout_remaining(email=email, ip=audit.client_ip(request))
        if wait is not None:
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            form.add_error(None, f"Too many failed attempts. Try again in {minutes} minutes.")
            services.record_failure(request, email=email, reason="locked out")
        else:
            user = authenticate(request, email=email, password=form.cleaned_data["password"])
            if user is None:
                services.record_failure(request, email=email, reason="wrong email or password")
                form.add_error(None, "That email and password do not match an active account.")
            else:
                services.sign_in(request, user)
                request.session[NEXT] = _safe_next(request, request.GET.get("next"))
                return redirect("accounts:second_factor")
    return render(
        request, "accounts/sign_in.html", {"form": form}, status=400 if form.errors else 200
    )


def _signed_in_user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    user = _signed_in_user(request)
    if user is None:
        return redirect("accounts:login")
    if request.session.get(services.OTP_OK) or not services.needs_second_factor(user):
        request.session[services.OTP_OK] = True
        return redirect(request.session.pop(NEXT, "/"))
    has_passkey = Passkey.objects.filter(user=user).exists()
    if (
        not has_passkey
        and not TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
    ):
        return redirect("accounts:setup_second_factor")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.verify_second_factor(request, user, form.cleaned_data["code"]):
            return redirect(request.session.pop(NEXT, "/"))
        form.add_error("code", "That code is not right, or it was already used. Try the next one.")
        if locked_out := end_if_locked_out(request, user):
            return locked_out
    return second_factor_page(request, user, form=form)


def end_if_locked_out(request: HttpRequest, user: User) -> HttpResponse | None:
    """After a refused second step: once the account or address is locked, sign out."""
    if services.lockout_remaining(email=user.email, ip=audit.client_ip(request)) is None:
        return None
    logout(request)
    messages.error(request, "Too many failed attempts. Sign in again later.")
    return redirect("accounts:login")


def second_factor_page(
    request: HttpRequest,
    user: User,
    *,
    form: CodeForm | None = None,
    passkey_form: PasskeySignInForm | None = None,
) -> HttpResponse:
    """The second step: a code from the authenticator app, or one of the person's passkeys."""
    form = form or CodeForm()
    passkey_form = passkey_form or PasskeySignInForm()
    context = {
        "form": form,
        "passkey_form": passkey_form,
        "has_totp": TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists(),
        "offer_passkey": passkeys.available() and Passkey.objects.filter(user=user).exists(),
        "demo_code": services.demo_code_for(user),
    }
    status = 400 if form.errors or passkey_form.errors else 200
    return render(request, "accounts/second_factor.html", context, status=status)


@require_http_methods(["GET", "POST"])
def setup_second_factor(request: HttpRequest) -> HttpResponse:
    user = _signed_in_user(request)
    if user is None:
        return redirect("accounts:login")
    if TotpDevice.objects.filter(
        user=user, confirmed_at__isnull=False
    ).exists() and not request.session.get(services.OTP_OK):
        # Replacing an authenticator needs the current one first.
        return redirect("accounts:second_factor")
    secret = request.session.get(SETUP_SECRET) or services.new_totp_secret()
    request.session[SETUP_SECRET] = secret
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.confirm_totp(request, user, secret, form.cleaned_data["code"])
        if codes is not None:
            del request.session[SETUP_SECRET]
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": request.session.pop(NEXT, "/")},
            )
        form.add_error(
            "code",
            "That code does not match. Check the time on your phone and try the newest code.",
        )
    uri = services.provisioning_uri(user, secret)
    context = {"form": form, "secret": secret, "qr_svg": segno.make(uri).svg_data_uri(scale=5)}
    return render(
        request, "accounts/setup_second_factor.html", context, status=400 if form.errors else 200
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(
            request=request,
            action=Action.LOGOUT,
            object_type="account",
            object_id=str(request.user.pk),
        )
        UserSession.objects.filter(session_key=request.session.session_key).delete()
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:login")
