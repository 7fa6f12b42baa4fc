import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import render

logger = logging.getLogger("django.request")


class NoStoreMiddleware:
    """Keep pages and API answers for signed-in users out of every cache (ASVS 14.3.2)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        response.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        return response


class ClinicErrorPagesMiddleware:
    """Show the clinic's own "not found" and "something went wrong" pages when DEBUG is on.

    `make run` turns DEBUG on, and Django then answers with its technical pages, which show
    settings and code to whoever is trying the demo. A developer who wants them sets
    KATCLINIC_TECHNICAL_ERRORS=1; the traceback of a server error is logged either way.
    With DEBUG off Django already uses `404.html` and `500.html`, so this does nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @staticmethod
    def _active() -> bool:
        return bool(settings.DEBUG and not settings.KATCLINIC_TECHNICAL_ERRORS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            self._active()
            and response.status_code == 404
            and response.get("Content-Type", "").startswith("text/html")
            and isinstance(response, HttpResponseNotFound)
            and b"DEBUG = True" in response.content
        ):
            # An address that matches no route: Django built its technical page.
            return render(request, "404.html", status=404)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not self._active():
            return None
        if isinstance(exception, Http404):
            return render(request, "404.html", status=404)
        if isinstance(exception, PermissionDenied):
            return None
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return render(request, "500.html", status=500)
