from typing import Any

from django.http import HttpRequest

from katclinic.clinics.permissions import PERMISSIONS, Perm


def clinic(request: HttpRequest) -> dict[str, Any]:
    """The active clinic, and which permissions the user holds there, for navigation."""
    roles: frozenset[str] = getattr(request, "roles", frozenset())
    can = {perm.name: bool(roles & PERMISSIONS[perm]) for perm in Perm}
    return {
        "active_clinic": getattr(request, "clinic", None),
        "can": can,
        "has_several_clinics": len(getattr(request, "clinic_choices", ())) > 1,
    }
