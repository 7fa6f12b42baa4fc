from typing import Any

from katclinic.access_spec import Url, patient_kwargs
from katclinic.clinics.permissions import Perm


def _app(t: Any) -> Any:
    from katclinic.smart.tests.helpers import register

    if "_smart_app" not in t.__dict__:
        t._smart_app = register(t)[0]
    return t._smart_app


def _fresh_code(t: Any) -> dict[str, str]:
    """A code pat just approved, exchanged as the app does (any caller may; it is the app)."""
    from katclinic.smart import services
    from katclinic.smart.auth import served_types
    from katclinic.smart.oauth import s256
    from katclinic.smart.scopes import parse_scopes
    from katclinic.smart.tests.helpers import REDIRECT, VERIFIER

    app = _app(t)
    _, code = services.authorize(
        app=app,
        user=t.pat_user,
        patient=t.pat,
        scopes=parse_scopes("launch/patient patient/*.rs", served_types()),
        redirect_uri=REDIRECT,
        code_challenge=s256(VERIFIER),
    )
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": app.client_id,
        "code_verifier": VERIFIER,
    }


def _pats_grant(t: Any) -> dict[str, int]:
    """pat's connection: pat and a clinic admin may stop it; anyone else is told it is unknown."""
    from katclinic.smart.auth import served_types
    from katclinic.smart.models import SmartGrant
    from katclinic.smart.scopes import parse_scopes

    grant = SmartGrant.objects.create(
        clinic=t.clinic,
        app=_app(t),
        user=t.pat_user,
        patient=t.pat,
        scopes=parse_scopes("patient/*.rs", served_types()).texts,
    )
    return {"grant_id": grant.pk}


def _app_to_stop(t: Any) -> dict[str, int]:
    from katclinic.smart.tests.helpers import register

    return {"app_id": register(t)[0].pk}


def _new_app(t: Any) -> dict[str, str]:
    return {
        "name": "Matrix app",
        "redirect_uris": "https://matrix.example.org/cb",
        "origins": "",
        "kind": "public",
    }


def _launchable(t: Any) -> dict[str, int]:
    """An app staff may open from pat's chart (it has a launch address)."""
    from katclinic.smart import services
    from katclinic.smart.tests.helpers import REDIRECT

    if "_launch_app" not in t.__dict__:
        t._launch_app = services.register_app(
            clinic=t.clinic,
            name="Chart viewer",
            redirect_uris=[REDIRECT],
            origins=[],
            confidential=False,
            launch_url="https://viewer.example.org/launch",
            by=t.adam,
        )[0]
    return {"app": t._launch_app.pk}


def _launch_kwargs(t: Any) -> dict[str, Any]:
    _launchable(t)  # registered before the request, whose writes the matrix inspects
    return patient_kwargs(t)


SPEC = {
    "well_known:smart_configuration": Url("public", ok=(200,), anonymous=(200,)),
    "fhir:smart_configuration": Url("public", ok=(200,), anonymous=(200,)),
    "well_known:openid_configuration": Url("public", ok=(200,), anonymous=(200,)),
    "oauth:jwks": Url("public", ok=(200,), anonymous=(200,)),
    # EHR launch: staff who may see the clinical chart open an app for that patient.
    "oauth:launch": Url(
        Perm.VIEW_CLINICAL,
        method="POST",
        kwargs=_launch_kwargs,
        data=_launchable,
        clinic_object=True,
        ok=(302,),
    ),
    # Without its parameters an authorize request names the first one missing (client_id).
    "oauth:authorize": Url("public", ok=(400,), anonymous=(400,)),
    "oauth:token": Url("public", method="POST", data=_fresh_code, ok=(200,), anonymous=(200,)),
    "oauth:revoke": Url(
        "public",
        method="POST",
        data=lambda t: {"token": "smart_unknown", "client_id": _app(t).client_id},
        ok=(200,),
        anonymous=(200,),
    ),
    "oauth:apps": Url(Perm.MANAGE_CLINIC, ok=(200,)),
    "oauth:register": Url(Perm.MANAGE_CLINIC, method="POST", data=_new_app, ok=(201,)),
    "oauth:disable": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        kwargs=_app_to_stop,
        clinic_object=True,
        ok=(302,),
    ),
    "oauth:connected": Url("signed_in", ok=(200,)),
    "oauth:disconnect": Url("signed_in", method="POST", kwargs=_pats_grant, ok=(302, 404)),
}
