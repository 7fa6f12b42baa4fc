from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.lib import rows

ACTIVE_CLINIC_KEY = "active_clinic_id"


@lru_cache(maxsize=64)
def clinic_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class ActiveClinicMiddleware:
    """Set `request.clinic` and `request.roles` for the clinic a staff user works in now.

    A staff user with memberships at one clinic works there; with several, the choice
    is kept in the session. Patients get the clinic of their own record.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.clinic = None  # type: ignore[attr-defined]
        request.roles = frozenset()  # type: ignore[attr-defined]
        user = request.user
        if isinstance(user, User) and user.is_staff_member:
            self._set_staff_clinic(request, user)
        elif user.is_authenticated:
            patient = getattr(user, "patient", None)
            request.clinic = patient.clinic if patient is not None else None  # type: ignore[attr-defined]
        clinic = request.clinic  # type: ignore[attr-defined]
        # Times on pages and in forms are the clinic's wall-clock time; storage stays UTC.
        # Without a clinic yet (an API or FHIR request, whose bearer token is read later),
        # the request starts in UTC and token authentication activates the token's clinic
        # zone; either way the override restores the thread's zone when the request ends.
        with timezone.override(clinic_zone(clinic.timezone) if clinic is not None else None):
            return self.get_response(request)

    def _set_staff_clinic(self, request: HttpRequest, user: User) -> None:
        roles = clinic_roles(user)
        request.clinic_roles = roles  # type: ignore[attr-defined]
        clinics: dict[int, Clinic] = {cid: clinic for cid, (clinic, _) in roles.items()}
        request.clinic_choices = clinics  # type: ignore[attr-defined]
        chosen = request.session.get(ACTIVE_CLINIC_KEY)
        if chosen not in clinics:
            if len(clinics) != 1:
                return
            chosen = next(iter(clinics))
        request.clinic = clinics[chosen]  # type: ignore[attr-defined]
        request.roles = roles[chosen][1]  # type: ignore[attr-defined]


def clinic_roles(user: User) -> dict[int, tuple[Clinic, frozenset[str]]]:
    """Each clinic where ``user`` holds an active membership, with the roles held there.

    ``StaffMembership.objects.active()`` with its clinics, as one plain query: every
    staff page asks it (see katclinic.lib.rows).
    """
    if not user.is_active:
        return {}
    sql = (
        f"SELECT m.role, {rows.columns(Clinic, 'c')} FROM {rows.table(StaffMembership)} m "  # noqa: S608
        f"JOIN {rows.table(Clinic)} c ON c.id = m.clinic_id WHERE m.user_id = %s AND m.is_active "
        "ORDER BY m.id"
    )
    found: dict[int, tuple[Clinic, set[str]]] = {}
    for row in rows.fetch_all(StaffMembership, sql, [user.pk]):
        clinic = rows.hydrate(Clinic, row, 1)
        found.setdefault(clinic.pk, (clinic, set()))[1].add(row[0])
    return {cid: (clinic, frozenset(held)) for cid, (clinic, held) in found.items()}
