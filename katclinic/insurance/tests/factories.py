"""Insurance rows for tests, through the services."""

from __future__ import annotations

from datetime import date
from typing import Any

from katclinic.accounts.models import User
from katclinic.insurance import services
from katclinic.insurance.models import Coverage, PriorAuthorization
from katclinic.patients.models import Patient


def coverage_data(**changes: Any) -> services.CoverageData:
    values: dict[str, Any] = {
        "payer_name": "Acme Health Plan",
        "payer_id": "60054",
        "member_id": "W123456789",
        "subscriber_first_name": "Pat",
        "subscriber_last_name": "Doe",
        "subscriber_birth_date": date(1985, 4, 12),
        "subscriber_sex": "F",
        "street": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "627011234",
        "valid_from": date(2025, 1, 1),
        "group_number": "GRP1",
    }
    return services.CoverageData(**(values | changes))


def coverage(patient: Patient, by: User, **changes: Any) -> Coverage:
    return services.add_coverage(
        request=None, by=by, patient=patient, data=coverage_data(**changes)
    )


def authorization(cover: Coverage, by: User, **changes: Any) -> PriorAuthorization:
    values: dict[str, Any] = {
        "codes": "J0013, G2083",
        "status": "approved",
        "number": "PA-1001",
        "approved_units": 100,
        "valid_from": date(2026, 1, 1),
        "valid_to": date(2026, 6, 30),
    }
    return services.add_authorization(
        request=None, by=by, coverage=cover, data=services.AuthorizationData(**(values | changes))
    )


def coverage_post(**changes: Any) -> dict[str, Any]:
    values = {
        "payer_name": "Acme Health Plan",
        "payer_id": "60054",
        "plan_name": "Gold PPO",
        "member_id": "W123456789",
        "group_number": "GRP1",
        "priority": "primary",
        "relationship": "self",
        "subscriber_first_name": "Pat",
        "subscriber_last_name": "Doe",
        "subscriber_birth_date": "1985-04-12",
        "subscriber_sex": "F",
        "street": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701-1234",
        "valid_from": "2025-01-01",
        "valid_to": "",
    }
    return values | changes


def authorization_post(**changes: Any) -> dict[str, Any]:
    values = {
        "codes": "J0013, G2083",
        "status": "approved",
        "number": "PA-2002",
        "approved_units": "50",
        "valid_from": "2026-01-01",
        "valid_to": "2026-06-30",
        "note": "",
    }
    return values | changes
