"""What every URL of KAT Clinic allows, declared once per app and checked by the
access-matrix test against every role.

Each app lists its URL names in `<app>/tests/access_spec.py` as `SPEC = {name: Url(...)}`.
The matrix test resolves every pattern in the URLconf and fails on any that no spec
names, so a new route cannot ship without its access rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from katclinic.clinics.permissions import Perm

# public: anyone; signed_in: any signed-in user; patient_self: a patient's own portal pages;
# link_owner: no one signed in, or the patient the link was sent to (pat), and no one else
Open = Literal["public", "signed_in", "patient_self", "staff_any", "link_owner"]


@dataclass(frozen=True)
class Url:
    access: Perm | Open
    # URL kwargs, built from the test case (which has .pat, .quinn, .stranger, ...).
    kwargs: Callable[[Any], dict[str, Any]] = field(default=lambda t: {})
    method: Literal["GET", "POST"] = "GET"
    data: Callable[[Any], dict[str, Any]] = field(default=lambda t: {})
    # The URL names an object of clinic A: staff of clinic B must get 404, not 403.
    clinic_object: bool = False
    # Codes that count as allowed (a POST usually redirects; a form GET is 200).
    ok: tuple[int, ...] = (200, 302)
    # Where a signed-out visitor goes: a page redirects to sign-in, an API answers 401.
    anonymous: tuple[int, ...] = (302,)
    # A JSON API endpoint: called with each person's bearer token instead of a session.
    api: bool = False
    # A patient's own portal account may use it for their own record (others get 404).
    patient_self: bool = False
    # A FHIR read or search a backend service may call with its system/ token (SMART
    # Backend Services): the matrix asks it with a system/*.rs token of the clinic (ok),
    # of the other clinic (404 for clinic_object rows) and with system/Observation.rs
    # (403 unless the route serves Observation).
    system: bool = False


def api_url(access: Perm | Open, **kwargs: Any) -> Url:
    """An API endpoint: signed-out callers get 401, ok codes default to 200/201/204."""
    kwargs.setdefault("ok", (200, 201, 204))
    return Url(access, api=True, anonymous=(401,), **kwargs)


def patient_kwargs(t: Any) -> dict[str, Any]:
    return {"patient_id": t.pat.pk}
