import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from katclinic.lib.parse import MAX_ID, BadParameter

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


class BadParameterMiddleware:
    """A request value no parser accepts answers 400 naming the parameter, never a 500.

    Views parse ids, numbers and dates with ``katclinic.lib.parse``; the ``BadParameter`` it
    raises becomes a page (or, under /api/ and /fhir/, JSON) that says which value was wrong.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., HttpResponse],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        """A record number in the path that no database integer can hold names no record."""
        if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in (*args, *kwargs.values())):
            return not_found_response(request)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, BadParameter):
            return None
        return bad_parameter_response(request, exception)


def not_found_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/fhir/"):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": "not found"}],
        }
        return JsonResponse(outcome, status=404, content_type="application/fhir+json")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found"}, status=404)
    return HttpResponse(render_to_string("404.html", request=request), status=404)


def bad_parameter_response(request: HttpRequest, error: BadParameter) -> HttpResponse:
    if request.path.startswith("/fhir/"):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "invalid",
                    "diagnostics": str(error),
                    "expression": [error.field],
                }
            ],
        }
        return JsonResponse(outcome, status=400, content_type="application/fhir+json")
    if request.path.startswith("/api/"):
        body = {
            "detail": "Invalid input",
            "errors": [{"field": error.field, "message": error.message}],
        }
        return JsonResponse(body, status=422)
    page = render_to_string(
        "400.html", {"field": error.field, "message": error.message}, request=request
    )
    return HttpResponse(page, status=400)


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
        if isinstance(exception, (PermissionDenied, BadParameter)):
            return None
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return render(request, "500.html", status=500)
