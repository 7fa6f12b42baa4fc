from typing import Any

from katclinic.access_spec import Url, api_url, patient_kwargs
from katclinic.clinics.permissions import Perm

PHQ9_OK = {f"q{n}": 1 for n in range(1, 10)}


def open_invitation(t: Any, *, token: bool = False) -> Any:
    """A fresh invitation for pat (and its raw token when asked)."""
    from katclinic.measures import services

    invitation = services.invite(
        patient=t.pat, instrument_key="phq9", by=t.paula, request=None, channel="portal"
    )
    if not token:
        return invitation
    raw = services._new_token(invitation)
    invitation.save(update_fields=["token_hash"])
    return raw


def open_alert(t: Any) -> Any:
    from katclinic.measures.models import SafetyAlert

    return SafetyAlert.objects.create(
        clinic=t.clinic, patient=t.pat, kind="phq9_item9", reason="test"
    )


def stored_response(t: Any) -> Any:
    from katclinic.measures import services

    return services.submit_response(
        patient=t.pat,
        instrument_key="phq9",
        answers=dict.fromkeys(PHQ9_OK, 0),
        source="staff",
        submitted_by=t.paula,
        request=None,
    )


def alert_kwargs(t: Any) -> dict[str, Any]:
    return {"alert_id": open_alert(t).pk}


def madrs_wording(t: Any) -> dict[str, str]:
    return {f"q{n}": f"Licensed question {n}" for n in range(1, 11)} | {
        "holder": "North Clinic LLC",
        "reference": "LIC-1",
        "step": "save",
    }


SPEC: dict[str, Url] = {
    "measures:wording": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    "measures:translations": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    # Without a file the form is refused (400); the load itself is in test_translations.
    "measures:translation_load": Url(Perm.MANAGE_CLINIC, method="POST", ok=(400,)),
    "measures:wording_edit": Url(
        Perm.MANAGE_CLINIC, kwargs=lambda t: {"key": "madrs"}, method="POST", data=madrs_wording
    ),
    "measures:chart": Url(Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True),
    "measures:enter": Url(
        Perm.ENTER_MEASURES,
        kwargs=lambda t: {"patient_id": t.pat.pk, "key": "madrs"},
        clinic_object=True,
    ),
    "measures:invite": Url(
        Perm.ENTER_MEASURES,
        kwargs=patient_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"instrument": "phq9", "channel": "portal"},
    ),
    "measures:kiosk_start": Url(
        Perm.ENTER_MEASURES,
        kwargs=patient_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"instrument": "gad7"},
    ),
    "measures:schedule": Url(
        Perm.ENTER_MEASURES,
        kwargs=patient_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"instrument": "phq9", "rules": ["post_24h"]},
    ),
    "measures:course_start": Url(
        Perm.ENTER_MEASURES,
        kwargs=patient_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"started_on": "2026-01-05"},
        ok=(302, 400),
    ),
    "measures:course_end": Url(
        Perm.ENTER_MEASURES,
        kwargs=patient_kwargs,
        clinic_object=True,
        method="POST",
        data=lambda t: {"ended_on": "2026-03-05"},
        ok=(302, 400),
    ),
    "measures:correct": Url(
        Perm.ENTER_MEASURES,
        kwargs=lambda t: {"response_id": stored_response(t).pk},
        clinic_object=True,
    ),
    "measures:alert_list": Url(Perm.HANDLE_ALERTS),
    "measures:alert_banner": Url("staff_any"),
    "measures:alert_detail": Url(Perm.HANDLE_ALERTS, kwargs=alert_kwargs, clinic_object=True),
    "measures:alert_ack": Url(
        Perm.HANDLE_ALERTS, method="POST", kwargs=alert_kwargs, clinic_object=True
    ),
    "measures:alert_close": Url(
        Perm.HANDLE_ALERTS,
        method="POST",
        data=lambda t: {"action": "patient_contacted", "note": "Called."},
        kwargs=alert_kwargs,
        clinic_object=True,
    ),
    "measures:my_home": Url("patient_self", kwargs=patient_kwargs),
    "measures:my_answer": Url(
        "patient_self", kwargs=lambda t: {"invitation_id": open_invitation(t).pk}
    ),
    "measures:link": Url(
        "link_owner",
        kwargs=lambda t: {"token": open_invitation(t, token=True)},
        anonymous=(200,),
    ),
    "measures:kiosk": Url("public", ok=(302,)),
    "measures:kiosk_locked": Url("public", anonymous=(200,)),
}

SPEC |= {
    "api:measures_submit": api_url(
        Perm.ENTER_MEASURES,
        method="POST",
        clinic_object=True,
        patient_self=True,
        data=lambda t: {"patient_id": t.pat.pk, "instrument": "phq9", "answers": PHQ9_OK},
    ),
    "api:measures_responses": api_url(
        Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True, patient_self=True
    ),
    "api:measures_questionnaire": api_url("signed_in", kwargs=lambda t: {"key": "phq9"}),
    "api:measures_alerts": api_url(Perm.HANDLE_ALERTS),
    "api:measures_alert_ack": api_url(
        Perm.HANDLE_ALERTS, method="POST", kwargs=alert_kwargs, clinic_object=True
    ),
    "api:measures_alert_close": api_url(
        Perm.HANDLE_ALERTS,
        method="POST",
        data=lambda t: {"action": "safety_plan", "note": "Plan made."},
        kwargs=alert_kwargs,
        clinic_object=True,
    ),
}
