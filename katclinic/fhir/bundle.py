"""Bundles the facade answers with: searchset pages and transaction responses (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode


def page_links(
    base_url: str, params: Sequence[tuple[str, str]], offset: int, count: int, total: int
) -> list[dict[str, str]]:
    """``self`` and, where there is one, ``next`` and ``previous``, keeping the search."""
    kept = [(name, value) for name, value in params if name not in ("_count", "_offset")]

    def url(at: int) -> str:
        return f"{base_url}?{urlencode([*kept, ('_count', str(count)), ('_offset', str(at))])}"

    links = [{"relation": "self", "url": url(offset)}]
    if offset + count < total:
        links.append({"relation": "next", "url": url(offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": url(max(0, offset - count))})
    return links


def searchset(
    resources: Sequence[dict[str, Any]],
    *,
    base: str,
    total: int,
    links: list[dict[str, str]] | None = None,
    included: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A searchset Bundle; ``base`` is the server root used to build each fullUrl.

    ``included`` (from _include and _revinclude) follow the matches with search mode
    ``include``, each resource once and none that is already a match."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total}
    if links:
        bundle["link"] = links
    entries: dict[str, dict[str, Any]] = {}
    for mode, group in (("match", resources), ("include", included)):
        for resource in group:
            url = f"{base}{resource['resourceType']}/{resource['id']}"
            entries.setdefault(
                url, {"fullUrl": url, "resource": resource, "search": {"mode": mode}}
            )
    bundle["entry"] = list(entries.values())
    return bundle


def transaction_response(created: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The answer to an accepted transaction: one ``201 Created`` entry per resource.

    ``created`` holds each location (``Patient/12``) with the stored resource's ``meta``.
    """
    entries = []
    for location, meta in created:
        response = {
            "status": "201 Created",
            "location": f"{location}/_history/{meta['versionId']}",
            "etag": f'W/"{meta["versionId"]}"',
        }
        if "lastUpdated" in meta:
            response["lastModified"] = meta["lastUpdated"]
        entries.append({"response": response})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
