"""The types of JSON data: what an audit event's detail holds and what a FHIR resource is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# A JSON value as code hands it over: read-only containers, so a `dict[str, str]` or a
# `list[int]` is one without copying.
type JSONValue = str | int | float | bool | None | Sequence[JSONValue] | Mapping[str, JSONValue]
type JSONObject = Mapping[str, JSONValue]
