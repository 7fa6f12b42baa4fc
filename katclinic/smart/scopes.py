"""SMART App Launch 2.x scopes
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).

``patient/Observation.rs``, ``user/*.rs`` and the v1 forms (``patient/*.read``) are read;
this server only reads through apps, so create, update and delete permissions are dropped
from what is granted, and a scope left with nothing to read is refused. ``launch/patient``
asks for a patient context and ``offline_access`` for a refresh token. OpenID Connect
scopes (``openid``, ``fhirUser``, ``profile``) are not offered and are left out of the grant.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

LAUNCH_PATIENT = "launch/patient"
LAUNCH = "launch"
OFFLINE = "offline_access"
OPENID = "openid"
FHIR_USER = "fhirUser"
NOT_OFFERED = frozenset({"profile", "online_access"})
# Scopes that name no resource: a context, a refresh token, an identity.
CONTEXT_SCOPES = (LAUNCH_PATIENT, LAUNCH, OFFLINE, OPENID, FHIR_USER)
LEVELS = ("patient", "user")
# Backend services (https://hl7.org/fhir/smart-app-launch/backend-services.html) hold
# system/ scopes only; apps a person connects never do.
SYSTEM_LEVELS = ("system",)
_SCOPE = re.compile(
    r"(?P<level>[a-z]+)/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<perms>read|write|\*|c?r?u?d?s?)"
)
MAX_SCOPES = 100


class ScopeError(ValueError):
    """A scope that cannot be granted; the message names it."""


@dataclass(frozen=True)
class ResourceScope:
    level: str  # patient or user
    type_name: str  # a resource type, or * for every type
    read: bool
    search: bool
    v1: bool = False

    @property
    def text(self) -> str:
        if self.v1:
            return f"{self.level}/{self.type_name}.read"
        return (
            f"{self.level}/{self.type_name}.{'r' if self.read else ''}{'s' if self.search else ''}"
        )

    def covers(self, type_name: str, action: str) -> bool:
        """``action`` is r (read, vread) or s (search)."""
        if self.type_name not in ("*", type_name):
            return False
        return self.read if action == "r" else self.search


@dataclass(frozen=True)
class Scopes:
    resources: tuple[ResourceScope, ...]
    launch_patient: bool = False
    offline: bool = False
    launch: bool = False
    openid: bool = False
    fhir_user: bool = False

    def _flags(self) -> dict[str, bool]:
        return {
            LAUNCH_PATIENT: self.launch_patient,
            LAUNCH: self.launch,
            OFFLINE: self.offline,
            OPENID: self.openid,
            FHIR_USER: self.fhir_user,
        }

    @property
    def texts(self) -> list[str]:
        words = [s.text for s in self.resources]
        return words + [word for word, held in self._flags().items() if held]

    @property
    def needs_patient(self) -> bool:
        return self.launch_patient or any(s.level == "patient" for s in self.resources)

    def level_for(self, type_name: str, action: str) -> str | None:
        """The broadest level allowing ``action`` on ``type_name``: system, user, patient or
        None."""
        levels = {s.level for s in self.resources if s.covers(type_name, action)}
        return next((level for level in ("system", "user", "patient") if level in levels), None)

    def within(self, granted: Scopes) -> bool:
        """Every permission here is also in ``granted`` (a refresh may only narrow)."""
        for scope in self.resources:
            for action, wanted in (("r", scope.read), ("s", scope.search)):
                if wanted and not any(
                    g.level == scope.level and g.covers(scope.type_name, action)
                    for g in granted.resources
                ):
                    return False
        held = granted._flags()
        return all(held[word] for word, wanted in self._flags().items() if wanted)


def _resource_scope(
    word: str, served: Collection[str], levels: tuple[str, ...]
) -> ResourceScope | None:
    match = _SCOPE.fullmatch(word)
    if match is None:
        raise ScopeError(f"{word[:80]} is not a SMART scope (for example patient/Observation.rs)")
    level, type_name, perms = match["level"], match["type"], match["perms"]
    if level not in levels:
        offered = " and ".join(f"{name}/" for name in levels)
        raise ScopeError(f"{word}: only {offered} scopes are offered")
    if type_name != "*" and type_name not in served:
        raise ScopeError(f"{word}: {type_name} is not served; served: {', '.join(sorted(served))}")
    if perms in ("read", "*"):
        return ResourceScope(level, type_name, read=True, search=True, v1=True)
    if perms == "write" or not perms:
        return None if perms else _refuse(word)
    read, search = "r" in perms, "s" in perms
    return ResourceScope(level, type_name, read, search) if read or search else None


def _refuse(word: str) -> ResourceScope:
    raise ScopeError(f"{word}: name what the app may do (for example .rs)")


def parse_scopes(raw: str, served: Collection[str], levels: tuple[str, ...] = LEVELS) -> Scopes:
    """The scopes granted for the request ``raw``; ScopeError names what cannot be."""
    words = raw.split()
    if not words or len(words) > MAX_SCOPES:
        raise ScopeError(f"list 1 to {MAX_SCOPES} scopes separated by spaces")
    resources: list[ResourceScope] = []
    for word in dict.fromkeys(w for w in words if w):
        if word in NOT_OFFERED or word in CONTEXT_SCOPES:
            continue
        found = _resource_scope(word, served, levels)
        if found is not None and found not in resources:
            resources.append(found)
    if not resources:
        raise ScopeError(f"ask to read at least one resource type ({levels[0]}/*.rs)")
    if levels == SYSTEM_LEVELS:
        return Scopes(tuple(resources))
    return Scopes(
        tuple(resources),
        launch_patient=LAUNCH_PATIENT in words,
        offline=OFFLINE in words,
        launch=LAUNCH in words,
        openid=OPENID in words,
        fhir_user=FHIR_USER in words,
    )


def from_granted(
    texts: Iterable[str], served: Collection[str], levels: tuple[str, ...] = LEVELS
) -> Scopes:
    """Scopes as stored on a grant or token (each already accepted once)."""
    return parse_scopes(" ".join(texts), served, levels)
