from collections.abc import Callable
from typing import Any

from katclinic.access_spec import Url

_KEY = "0" * 32


def _backend_only(kwargs: Callable[[Any], dict[str, Any]] = lambda t: {}) -> Url:
    """Only a backend service's token (SMART Backend Services) may export: every person's
    token, staff or patient, is refused with 403 before any export is looked up or started,
    and a request without a token is a 401. The backend flow itself is in test_export."""
    return Url("signed_in", api=True, ok=(403,), anonymous=(401,), kwargs=kwargs)


SPEC = {
    "fhir:export": _backend_only(),
    "fhir:patient_export": _backend_only(),
    "fhir:group_export": _backend_only(lambda t: {"group_id": "1"}),
    "fhir:export_status": _backend_only(lambda t: {"key": _KEY}),
    "fhir:export_file": _backend_only(lambda t: {"key": _KEY, "type_name": "Patient"}),
}
