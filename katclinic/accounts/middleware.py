from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from katclinic.accounts import services
from katclinic.accounts.models import User

# Paths a signed-in user may reach before passing the second factor.
OPEN_PATHS = ("/accounts/", "/static/", "/healthz")


class SessionSecurityMiddleware:
    """Idle timeout, absolute session lifetime and second-factor enforcement."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User):
            expired = self._expired(request, user)
            if expired:
                logout(request)
                messages.info(request, f"You were signed out {expired}. Please sign in again.")
                return redirect(f"/accounts/login/?next={request.path}")
            if not request.session.get(services.OTP_OK) and not request.path.startswith(OPEN_PATHS):
                if services.needs_second_factor(user):
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
