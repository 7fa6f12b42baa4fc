from itertools import count
from typing import Any

from katclinic.access_spec import Url
from katclinic.accounts.models import Passkey
from katclinic.testing import PASSWORD

_serial = count()


def nicks_passkey(t: Any) -> dict[str, Any]:
    """A passkey of nick's: he may remove it, everyone else is told it does not exist."""
    passkey = Passkey.objects.create(
        user=t.nick, name="Matrix", credential_id=f"matrix{next(_serial)}", public_key=""
    )
    return {"passkey_id": passkey.pk}


SPEC = {
    "accounts:login": Url("public", anonymous=(200,)),
    "accounts:second_factor": Url("signed_in", ok=(200, 302)),
    "accounts:setup_second_factor": Url("signed_in", ok=(200, 302)),
    "accounts:logout": Url("signed_in", method="POST", ok=(302,)),
    "accounts:security": Url("staff_any", ok=(200,)),
    # The options are JSON for the page's script; a signed-out caller gets 401.
    "accounts:passkey_register_options": Url(
        "staff_any", method="POST", ok=(200,), anonymous=(401,)
    ),
    "accounts:passkey_sign_in_options": Url(
        "staff_any", method="POST", ok=(200,), anonymous=(401,)
    ),
    # No browser answer in the post: refused, naming the field.
    "accounts:passkey_register": Url(
        "staff_any", method="POST", data=lambda t: {"name": "Laptop"}, ok=(400,)
    ),
    # Already past the second step in the matrix: sent on.
    "accounts:passkey_sign_in": Url("staff_any", method="POST", ok=(302,)),
    "accounts:passkey_remove": Url(
        "staff_any",
        method="POST",
        kwargs=nicks_passkey,
        data=lambda t: {"password": PASSWORD},
        ok=(302, 404),
    ),
}
