from katclinic.access_spec import Url
from katclinic.clinics.permissions import Perm

SPEC = {
    "clinics:choose": Url("staff_any", ok=(200,)),
    "clinics:settings": Url(
        Perm.MANAGE_CLINIC,
        method="POST",
        data=lambda t: {"key": "session.idle_demo", "value": "1", "reason": "matrix"},
        ok=(200, 302, 400),
    ),
    # The first-run page exists only while no organization does; with one, it is not found.
    "setup:start": Url("public", ok=(404,), anonymous=(404,)),
}
