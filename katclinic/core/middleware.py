from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from katclinic.lib.parse import MAX_ID, BadParameter


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
