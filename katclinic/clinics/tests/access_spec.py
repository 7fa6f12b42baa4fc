from itertools import count
from typing import Any

from katclinic.access_spec import Url
from katclinic.accounts.models import User
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Perm, Role

_serial = count()


def fresh_staff(t: Any) -> dict[str, Any]:
    """A front-desk person of clinic A made for one cell, so a change to them spares the rest."""
    user = User.objects.create_user(f"matrix{next(_serial)}@clinic.example", full_name="Matrix")
    StaffMembership.objects.create(user=user, clinic=t.clinic, role=Role.FRONT_DESK)
    return {"user_id": user.pk}


SPEC = {
    "clinics:choose": Url("staff_any", ok=(200,)),
    "clinics:settings": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        data=lambda t: {"key": "session.idle_demo", "value": "1", "reason": "matrix"},
        ok=(200, 302, 400),
    ),
    "clinics:staff": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    "clinics:content": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    "clinics:content_edit": Url(
        Perm.MANAGE_CLINIC,
        kwargs=lambda t: {"kind": "reminder_note"},
        method="POST",
        data=lambda t: {"text": "Park at the rear.", "step": "save"},
    ),
    "clinics:staff_invite": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        data=lambda t: {"email": "new@clinic.example", "role": "nurse"},
        ok=(302,),
    ),
    "clinics:staff_roles": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        kwargs=fresh_staff,
        data=lambda t: {"roles": ["front_desk", "nurse"]},
        ok=(302,),
    ),
    "clinics:staff_deactivate": Url(
        Perm.MANAGE_CLINIC, method="POST", kwargs=fresh_staff, ok=(302,)
    ),
    # An unknown token is not found, for everyone.
    "clinics:accept_invitation": Url(
        "public", kwargs=lambda t: {"token": "x" * 43}, ok=(404,), anonymous=(404,)
    ),
    # The first-run page exists only while no organization does; with one, it is not found.
    "setup:start": Url("public", ok=(404,), anonymous=(404,)),
}
