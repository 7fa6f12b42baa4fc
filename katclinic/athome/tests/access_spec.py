from typing import Any

from katclinic.access_spec import Url, patient_kwargs
from katclinic.clinics.permissions import Perm


def _rx(t: Any) -> Any:
    from katclinic.athome.models import TakeHomePrescription
    from katclinic.athome.tests.factories import prescription

    return TakeHomePrescription.objects.filter(patient=t.pat).first() or prescription(
        t.pat, t.paula
    )


def _session(t: Any) -> dict[str, Any]:
    from katclinic.athome.models import HomeSession

    rx = _rx(t)
    found = HomeSession.objects.filter(patient=t.pat).first()
    if found is None:
        found = HomeSession.objects.create(clinic=t.clinic, patient=t.pat, prescription=rx)
    return {"patient_id": t.pat.pk, "session_id": found.pk}


def _rx_kwargs(t: Any) -> dict[str, Any]:
    return {"prescription_id": _rx(t).pk}


def _alert(t: Any) -> dict[str, Any]:
    from katclinic.athome.models import AlertKind, HomeAlert

    session = _session(t)["session_id"]
    alert, _ = HomeAlert.objects.get_or_create(
        session_id=session,
        kind=AlertKind.CHECKIN_BLOCKED,
        defaults={"clinic": t.clinic, "patient": t.pat, "reason": "matrix"},
    )
    return {"alert_id": alert.pk}


def _own(**extra: Any) -> Url:
    """A patient's own page: staff 403, the patient 200 (or a redirect), another patient 404."""
    return Url("patient_self", **extra)


SPEC = {
    "athome:mine": _own(kwargs=patient_kwargs),
    # Without lozenges left, starting answers with a redirect and a message.
    "athome:start": _own(kwargs=patient_kwargs, method="POST", ok=(302,)),
    "athome:my_session": _own(kwargs=_session),
    # The posts below are refused (400 or redirect) when the session is not at that step.
    "athome:checkin": _own(kwargs=_session, method="POST", ok=(200, 302, 400)),
    "athome:taken": _own(kwargs=_session, method="POST", ok=(302,)),
    "athome:after": _own(kwargs=_session, method="POST", ok=(400,)),
    "athome:patient": Url(Perm.VIEW_CLINICAL, kwargs=patient_kwargs, clinic_object=True),
    "athome:prescribe": Url(Perm.PRESCRIBE_TAKE_HOME, kwargs=patient_kwargs, clinic_object=True),
    "athome:dispense": Url(Perm.RUN_SESSION, kwargs=_rx_kwargs, clinic_object=True),
    "athome:reconcile": Url(Perm.RUN_SESSION, kwargs=_rx_kwargs, clinic_object=True),
    "athome:alerts": Url(Perm.HANDLE_ALERTS),
    "athome:alert_ack": Url(
        Perm.HANDLE_ALERTS, kwargs=_alert, clinic_object=True, method="POST", ok=(302,)
    ),
    "athome:alert_close": Url(
        Perm.HANDLE_ALERTS, kwargs=_alert, clinic_object=True, method="POST", ok=(302,)
    ),
}
