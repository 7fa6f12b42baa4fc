"""Who this server is to a passkey: the relying party id and the origins it answers on.

Plain functions without Django, so that settings can use them. A passkey is bound to the
relying party id (a host name, never an address), and a browser reports the page's origin
in every answer, which the server compares with the configured origins: a look-alike site
on another host gets an answer that this server refuses (W3C Web Authentication Level 2,
sections 5.1.4 and 7.1, https://www.w3.org/TR/webauthn-2/).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class RelyingPartyError(ValueError):
    """A relying party id or origin that passkeys cannot work with."""


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def default_rp_id(allowed_hosts: list[str]) -> str:
    """The first host name in ALLOWED_HOSTS that is neither an address nor a wildcard."""
    for entry in allowed_hosts:
        host = entry.strip().lstrip(".").lower()
        if host and "*" not in host and not _is_address(host):
            return host
    return ""


def default_origins(rp_id: str, *, local: bool, port: str) -> list[str]:
    """https on the relying party's host; on a developer's machine also plain http
    on localhost (which browsers treat as a secure context)."""
    if not rp_id:
        return []
    origins = [f"https://{rp_id}"]
    if local and rp_id == "localhost":
        origins.append(f"http://localhost:{port}")
    return origins


def check(rp_id: str, origins: list[str]) -> None:
    """Refuse settings under which no browser would create or use a passkey."""
    if not rp_id:
        if origins:
            raise RelyingPartyError("passkey origins are set but the relying party id is not")
        return
    if _is_address(rp_id) or "/" in rp_id or ":" in rp_id:
        raise RelyingPartyError(f"the passkey relying party id must be a host name, not {rp_id!r}")
    for origin in origins:
        parts = urlsplit(origin)
        host = (parts.hostname or "").lower()
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise RelyingPartyError(f"a passkey origin is scheme, host and port only: {origin!r}")
        if host != rp_id and not host.endswith(f".{rp_id}"):
            raise RelyingPartyError(f"the passkey origin {origin!r} is not on {rp_id!r}")
        if parts.scheme != "https" and not (parts.scheme == "http" and host == "localhost"):
            raise RelyingPartyError(f"a passkey origin must use https: {origin!r}")
