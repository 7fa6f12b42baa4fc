from katclinic.access_spec import Url

SPEC = {
    "api:openapi-json": Url("public", ok=(200,), anonymous=(200,)),
    "api:api-root": Url("public", ok=(200, 401, 404), anonymous=(200, 401, 404)),
}


def _someone_elses_token(t: object) -> dict[str, int]:
    from katclinic.api.models import ApiToken

    token, _ = ApiToken.issue(
        user=t.paula,  # type: ignore[attr-defined]
        clinic=t.clinic,  # type: ignore[attr-defined]
        name="matrix",
        scopes=["patients:read"],
    )
    return {"token_id": token.pk}


SPEC |= {
    "tokens:list": Url("staff_any", ok=(200,)),
    "tokens:issue": Url(
        "staff_any",
        method="POST",
        data=lambda t: {"name": "matrix", "scopes": ["patients:read"], "days": "30"},
        ok=(201,),
    ),
    # Its owner (paula) and an admin revoke it; anyone else is told it does not exist.
    "tokens:revoke": Url("staff_any", method="POST", kwargs=_someone_elses_token, ok=(302, 404)),
}
