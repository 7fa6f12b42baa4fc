"""What every page's frame needs: the active clinic, the user's permissions there, and the
main navigation, whose links and markup are built once per set of roles in each process."""

from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from katclinic.accounts.models import User
from katclinic.accounts.services import OTP_OK
from katclinic.clinics.permissions import PERMISSIONS, Perm

# (label, URL name, permissions any one of which shows the link; none: always shown)
NAVIGATION: tuple[tuple[str, str, tuple[Perm, ...]], ...] = (
    ("Today", "core:worklist", ()),
    ("Patients", "patients:list", (Perm.VIEW_PATIENT_LIST,)),
    ("Schedule", "scheduling:calendar", (Perm.VIEW_PATIENT_LIST,)),
    ("Protocols", "protocols:library", (Perm.VIEW_CLINICAL, Perm.MANAGE_CLINIC)),
    ("Floor", "dosing:board", (Perm.RUN_SESSION,)),
    ("REMS", "dosing:rems_queue", (Perm.RUN_SESSION,)),
    ("Ledger", "dosing:ledger", (Perm.KEEP_LEDGER,)),
    ("Outcomes", "outcomes:dashboard", (Perm.VIEW_OUTCOMES,)),
    ("Billing", "billing:home", (Perm.VIEW_BILLING,)),
    ("Requests", "portal:inbox", (Perm.SCHEDULE,)),
    ("Messages", "messaging:inbox", (Perm.HANDLE_MESSAGES,)),
    ("Consents", "intake:consents", (Perm.MANAGE_CONSENT,)),
    ("Safety alerts", "measures:alert_list", (Perm.HANDLE_ALERTS,)),
    ("Authorizations", "insurance:authorizations", (Perm.MANAGE_COVERAGE,)),
    ("Claims", "insurance:claims", (Perm.MANAGE_CLAIMS,)),
    ("Audit trail", "audit:list", (Perm.VIEW_AUDIT,)),
    ("Settings", "clinics:settings", (Perm.MANAGE_CLINIC,)),
    ("Staff", "clinics:staff", (Perm.MANAGE_CLINIC,)),
    ("Patient texts", "clinics:content", (Perm.MANAGE_CLINIC,)),
    ("Apps", "oauth:apps", (Perm.MANAGE_CLINIC,)),
    ("Sign-in security", "accounts:security", ()),
    ("API tokens", "tokens:list", ()),
    ("Connected apps", "oauth:connected", ()),
)
# Links of the page frame every signed-in user may see.
FRAME_URLS = {
    "choose_clinic": "clinics:choose",
    "patient_search": "patients:list",
    "sign_out": "accounts:logout",
    "alert_banner": "measures:alert_banner",
}

_frames: dict[tuple[frozenset[str], str], dict[str, Any]] = {}


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    """A changed setting (tests change the URLconf, for one) has the links built again."""
    _frames.clear()


def navigation_html(navigation: list[tuple[str, str]]) -> SafeString:
    """The main navigation's list items, as the frame's template wrote them."""
    return format_html_join("", '<li><a href="{}">{}</a></li>', ((u, n) for n, u in navigation))


def _frame(roles: frozenset[str]) -> dict[str, Any]:
    """Permissions and links for one set of roles; the URLconf does not change while running."""
    key = (roles, get_script_prefix())
    found = _frames.get(key)
    if found is None:
        can = {perm.name: bool(roles & PERMISSIONS[perm]) for perm in Perm}
        navigation = [
            (label, reverse(name))
            for label, name, perms in NAVIGATION
            if not perms or any(can[p.name] for p in perms)
        ]
        urls = {key: reverse(name) for key, name in FRAME_URLS.items()}
        found = _frames[key] = {
            "can": can,
            "navigation": navigation,
            "navigation_html": navigation_html(navigation),
            "frame_urls": urls,
        }
    return found


def staff_frame(request: HttpRequest) -> bool:
    """Whether the page shows the staff frame (clinic name, navigation, search, alerts): a
    signed-in staff member with both factors passed and an active clinic."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    return bool(
        isinstance(user, User)
        and user.is_staff_member
        and getattr(request, "clinic", None)
        and session is not None
        and session.get(OTP_OK)
    )


def clinic(request: HttpRequest) -> dict[str, Any]:
    """The active clinic, and which permissions the user holds there, for navigation."""
    roles: frozenset[str] = getattr(request, "roles", frozenset())
    return {
        "active_clinic": getattr(request, "clinic", None),
        "has_several_clinics": len(getattr(request, "clinic_choices", ())) > 1,
        "staff_frame": staff_frame(request),
    } | _frame(roles)
