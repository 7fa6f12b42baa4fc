"""Shared answers and shortcuts for the measures tests."""

from __future__ import annotations

from typing import Any

from katclinic.measures import services
from katclinic.measures.models import Invitation, Response

PHQ9_MILD = {f"q{n}": 1 for n in range(1, 9)} | {"q9": 0}  # total 8
PHQ9_ITEM9 = {f"q{n}": 2 for n in range(1, 9)} | {"q9": 1}  # total 17, item 9 above 0
GAD7_MODERATE = {f"q{n}": 2 for n in range(1, 8)}  # total 14


def form_data(answers: dict[str, Any]) -> dict[str, str]:
    return {
        k: ("yes" if v else "no") if isinstance(v, bool) else str(v)
        for k, v in answers.items()
        if v is not None
    }


def submit(t: Any, answers: dict[str, Any], key: str = "phq9", **extra: Any) -> Response:
    return services.submit_response(
        patient=extra.pop("patient", t.pat),
        instrument_key=key,
        answers=answers,
        source="staff",
        submitted_by=t.paula,
        request=None,
        **extra,
    )


def emailed_invitation(t: Any, key: str = "phq9") -> tuple[Invitation, str]:
    """An invitation with a known raw token, as if the email had just gone out."""
    invitation = services.invite(
        patient=t.pat, instrument_key=key, by=t.paula, request=None, channel="portal"
    )
    raw = services._new_token(invitation)
    invitation.save(update_fields=["token_hash"])
    return invitation, raw
