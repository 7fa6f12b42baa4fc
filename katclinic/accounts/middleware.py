from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from katclinic.accounts import services
from katclinic.accounts.models import User

# Paths a signed-in user may reach before passing the second factor.
OPEN_PATHS = ("/accounts/", "/static/", "/favicon.ico", "/healthz")

# htmx stops polling on this status and still swaps the body in: a signed-out board shows
# the "not monitoring" banner once and does not go on asking.
STOP_POLLING = 286


def is_background_refresh(request: HttpRequest) -> bool:
    """An automatic refresh (a live board, the alert banner), not a person's action."""
    return request.headers.get("X-Background-Refresh") == "1"


def not_monitoring(request: HttpRequest, reason: str) -> HttpResponse:
    """What a polled fragment gets once its session is gone: never a sign-in page inside it."""
    page = urlsplit(request.headers.get("HX-Current-URL", "")).path or "/"
    response = render(
        request,
        "accounts/_not_monitoring.html",
        {"reason": reason, "sign_in": f"/accounts/login/?{urlencode({'next': page})}"},
    )
    response.status_code = STOP_POLLING
    response["Cache-Control"] = "no-store"
    return response


class SessionSecurityMiddleware:
    """Idle timeout, absolute session lifetime and second-factor enforcement."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not isinstance(user, User):
            if is_background_refresh(request):
                return not_monitoring(request, "Nobody is signed in on this screen.")
            return self.get_response(request)
        expired = self._expired(request, user)
        if expired:
            logout(request)
            if is_background_refresh(request):
                return not_monitoring(request, f"This screen was signed out {expired}.")
            messages.info(request, f"You were signed out {expired}. Please sign in again.")
            return redirect(f"/accounts/login/?next={request.path}")
        if not request.session.get(services.OTP_OK) and not request.path.startswith(OPEN_PATHS):
            if services.needs_second_factor(user):
                if is_background_refresh(request):
                    return not_monitoring(request, "The second sign-in step was not completed.")
                return redirect("accounts:second_factor")
            request.session[services.OTP_OK] = True
        return self.get_response(request)

    def _expired(self, request: HttpRequest, user: User) -> str | None:
        now = timezone.now().timestamp()
        session = request.session
        started = session.get(services.STARTED_AT, now)
        last_seen = session.get(services.LAST_SEEN, now)
        idle_minutes = (
            settings.STAFF_IDLE_TIMEOUT_MINUTES
            if user.is_staff_member
            else settings.PATIENT_IDLE_TIMEOUT_MINUTES
        )
        if now - started > settings.SESSION_ABSOLUTE_HOURS * 3600:
            return f"after {settings.SESSION_ABSOLUTE_HOURS} hours"
        if now - last_seen > idle_minutes * 60:
            return f"after {idle_minutes} minutes without activity"
        # Automatic refreshes (a live board polling) are not activity: they must not keep
        # an unattended screen signed in. Write the session at most once a minute.
        if now - last_seen > 60 and request.headers.get("X-Background-Refresh") != "1":
            session[services.LAST_SEEN] = now
        return None
