"""OAuth 2.0 rules that need no database: PKCE (RFC 7636), redirect addresses, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

# RFC 7636 section 4.1: 43 to 128 unreserved characters; S256 challenges are 43 base64url.
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
CLIENT_ID = re.compile(r"[A-Za-z0-9\-_]{1,64}")
# RFC 6749 appendix A.5: state is visible ASCII.
STATE = re.compile(r"[\x20-\x7e]{1,1024}")
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
MAX_URI = 2000


@dataclass
class OAuthError(Exception):
    """An OAuth error answer: ``error`` is the RFC 6749 code, ``description`` names the field."""

    error: str
    description: str
    status: int = 400

    def __str__(self) -> str:
        return f"{self.error}: {self.description}"


def invalid(field: str, message: str) -> OAuthError:
    return OAuthError("invalid_request", f"{field}: {message}")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def pkce_matches(verifier: str, challenge: str) -> bool:
    return hmac.compare_digest(s256(verifier), challenge)


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered as a redirect address (None: it can)."""
    if not uri or len(uri) > MAX_URI or any(ord(c) < 33 or ord(c) > 126 for c in uri):
        return f"give a full web address of at most {MAX_URI} characters"
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        return "a redirect address cannot have a # part"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.netloc.split(":")[0].lower() in LOOPBACK:
        return None  # RFC 8252 section 7.3: loopback addresses for apps on the device
    return "must start with https:// (or http://localhost for an app on this computer)"


def with_query(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` added to its query, keeping the query it already has."""
    joiner = "&" if urlsplit(uri).query else ("" if uri.endswith("?") else "?")
    return f"{uri}{joiner}{urlencode(params)}"
