from katclinic.access_spec import Url
from katclinic.clinics.permissions import Perm

SPEC = {
    "core:home": Url("public", ok=(302,)),
    "core:worklist": Url(Perm.VIEW_PATIENT_LIST),
    "core:healthz": Url("public", ok=(200, 503), anonymous=(200, 503)),
    # The language switch: anyone may choose; a patient's choice is kept on their record.
    "core:set_language": Url(
        "public",
        method="POST",
        data=lambda t: {"language": "en", "next": "/"},
        ok=(302,),
        anonymous=(302,),
    ),
    "core:favicon": Url("public", ok=(301,), anonymous=(301,)),
}

# Off (404) unless METRICS_TOKEN is set, which the suite does not do; with it, a bearer token.
SPEC["core:metrics"] = Url("public", ok=(404,), anonymous=(404,))
