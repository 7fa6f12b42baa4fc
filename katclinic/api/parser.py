"""Request parsing for the JSON API that refuses text PostgreSQL cannot store.

PostgreSQL text cannot hold the NUL character, so a NUL in a query parameter or in a JSON
string used to reach the database and fail there with a server error. The parser stops it
first: a query parameter answers 422 naming it; in a JSON body the value is swapped for one
no text field accepts, so validation names the field as it names any other bad value.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.errors import ValidationError
from ninja.parser import Parser

NUL = "\x00"


class NulText:
    """Stands in for a JSON string that held a NUL: it is not text, so schemas refuse it."""

    def __repr__(self) -> str:
        return "text with a NUL character"


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return NulText() if NUL in value else value
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    return value


class RefuseNulParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return _without_nul(super().parse_body(request))

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        parsed = super().parse_querydict(data, list_fields, request)
        bad = [key for key, value in parsed.items() if NUL in str(value) or NUL in key]
        if bad:
            raise ValidationError(
                [
                    {
                        "loc": ("query", key),
                        "msg": "Text must not contain NUL characters",
                        "type": "value_error",
                    }
                    for key in bad
                ]
            )
        return parsed
