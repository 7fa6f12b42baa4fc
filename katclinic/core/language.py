"""Which language a page is in.

Staff pages are in the clinic's default language. A signed-in patient's pages are in the
language kept on their record. Anyone else (the public page, the consultation form, a
questionnaire link, sign-in) gets the language they chose with the language switch (a cookie),
else the first their browser asks for that is offered here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from katclinic.accounts.models import User
from katclinic.lib.parse import BadParameter
from katclinic.patients.language import language_codes, language_of
from katclinic.patients.services import set_preferred_language


def request_language(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_authenticated:
        if user.is_staff_member:
            return settings.LANGUAGE_CODE
        return language_of(getattr(user, "patient", None))
    return translation.get_language_from_request(request)


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        code = request_language(request)
        with translation.override(code):
            request.LANGUAGE_CODE = code
            response = self.get_response(request)
        if not (isinstance(request.user, User) and request.user.is_authenticated):
            patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", code)
        return response


def _next_page(request: HttpRequest) -> str:
    target = str(request.POST.get("next", "") or "/")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if not safe or not target.startswith("/"):
        raise BadParameter("next", "must be a page of this site")
    return target


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switch: a signed-in patient's choice is kept on their record, anyone
    else's in a cookie. An unknown language or an outside page is refused with a 400."""
    code = str(request.POST.get("language", "")).strip()
    if code not in language_codes():
        raise BadParameter("language", "choose one of the languages offered")
    target = _next_page(request)
    user = request.user
    if isinstance(user, User) and not user.is_staff_member:
        patient = getattr(user, "patient", None)
        if patient is not None:
            set_preferred_language(patient=patient, language=code, by=user, request=request)
    response = redirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite="Lax",
    )
    return response
