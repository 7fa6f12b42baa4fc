"""What the JSON API accepts as a request body, answered in JSON before any view reads it.

* A body must be sent as ``application/json``: any other content type answers 415 naming it
  (a browser form cannot post JSON as text/plain past this).
* A body larger than Django's upload limit answers 413 in JSON, not the HTML error page.
* JSON nested deeper than ``katclinic.lib.parse.MAX_JSON_DEPTH`` answers 422 naming the body.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from katclinic.lib.parse import BadParameter, json_depth_exceeds, load_json

API_PREFIX = "/api/"
JSON = "application/json"
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _error(status: int, field: str, message: str) -> JsonResponse:
    detail = {413: "Request body too large", 415: "Unsupported media type"}.get(
        status, "Invalid input"
    )
    return JsonResponse(
        {"detail": detail, "errors": [{"field": field, "message": message}]}, status=status
    )


class ApiBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX) and request.method in ("POST", "PUT", "PATCH"):
            refused = self.refuse(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def refuse(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return _error(413, "body", f"must be at most {limit} bytes")
        try:
            body = request.body
        except RequestDataTooBig:
            return _error(413, "body", f"must be at most {limit} bytes")
        if not body:
            return None
        content_type = request.content_type or ""
        if content_type.lower() in FORMS and not request.POST and not request.FILES:
            return None  # an empty form (what some clients send for "no body") carries nothing
        if content_type.lower() != JSON:
            return _error(
                415, "Content-Type", f"must be {JSON}, not {content_type[:60] or 'missing'}"
            )
        try:
            value = load_json(body, "body")
        except BadParameter as error:
            return _error(422 if "nests" in error.message else 400, error.field, error.message)
        except UnicodeDecodeError:
            return _error(400, "body", "is not UTF-8 text")
        if json_depth_exceeds(value):
            return _error(422, "body", "nests too deeply")
        return None
