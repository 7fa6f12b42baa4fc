from datetime import timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from katclinic.access_spec import Url
from katclinic.accounts.models import User
from katclinic.clinics.models import SecondFactorReset, StaffMembership
from katclinic.clinics.permissions import Perm, Role

_serial = count()


def fresh_staff(t: Any) -> dict[str, Any]:
    """A front-desk person of clinic A made for one cell, so a change to them spares the rest."""
    user = User.objects.create_user(f"matrix{next(_serial)}@clinic.example", full_name="Matrix")
    StaffMembership.objects.create(user=user, clinic=t.clinic, role=Role.FRONT_DESK)
    return {"user_id": user.pk}


def fresh_reset(t: Any) -> dict[str, Any]:
    """An open reset of a fresh person of clinic A, asked for by another admin than adam."""
    person = User.objects.get(pk=fresh_staff(t)["user_id"])
    other = User.objects.create_user(f"matrix{next(_serial)}@clinic.example", full_name="Other")
    StaffMembership.objects.create(user=other, clinic=t.clinic, role=Role.ADMIN)
    reset = SecondFactorReset.objects.create(
        clinic=t.clinic,
        user=person,
        reason="matrix",
        requested_by=other,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    return {"reset_id": reset.pk}


SPEC = {
    "clinics:choose": Url("staff_any", ok=(200,)),
    "clinics:settings": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    "clinics:settings_area": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        kwargs=lambda t: {"area": "dosing"},
        data=lambda t: {
            "setting": "highest-systolic-bp-to-start-dosing",
            "value": "150",
            "reason": "matrix",
        },
        ok=(302,),
    ),
    "clinics:second_factor": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    "clinics:second_factor_request": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        kwargs=fresh_staff,
        data=lambda t: {"reason": "lost phone"},
        ok=(302,),
    ),
    "clinics:second_factor_confirm": Url(
        Perm.MANAGE_CLINIC, method="POST", kwargs=fresh_reset, ok=(302,), clinic_object=True
    ),
    "clinics:second_factor_cancel": Url(
        Perm.MANAGE_CLINIC, method="POST", kwargs=fresh_reset, ok=(302,), clinic_object=True
    ),
    # A clinic admin who does not administer the organization reads why they cannot add one.
    "clinics:add_clinic": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    "clinics:export": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    "clinics:export_download": Url(Perm.MANAGE_CLINIC, method="POST", ok=(200,)),
    # One patient's whole record: clinic admins only; another clinic's patient is a 404.
    "clinics:patient_export": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        kwargs=lambda t: {"patient_id": t.pat.pk},
        ok=(200,),
        clinic_object=True,
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
    "clinics:staff_name": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        kwargs=fresh_staff,
        data=lambda t: {"full_name": "Matrix Person", "family_name": "Person"},
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
