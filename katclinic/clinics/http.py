"""Request types for views, after the middleware has done its work."""

from __future__ import annotations

from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic


class StaffRequest(HttpRequest):
    """A request that passed `staff_view`: a signed-in staff user in an active clinic."""

    user: User
    clinic: Clinic
    roles: frozenset[str]
