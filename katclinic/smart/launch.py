"""SMART EHR launch (https://hl7.org/fhir/smart-app-launch/app-launch.html, "Launch App:
EHR Launch"): a staff member opens an app from a patient's chart.

The chart sends the browser to the app's launch URL with ``iss`` (this server's FHIR base)
and ``launch``, an opaque value stored hashed and bound to the staff member, the clinic,
the app and the patient. The app sends ``launch`` back with its authorize request (scope
``launch``); the value works once, for that staff member only, before it expires, and the
grant it makes carries the patient as its context.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient
from katclinic.smart.models import EhrLaunch, SmartApp, hash_secret, new_secret
from katclinic.smart.oauth import OAuthError, invalid, with_query

LAUNCH_PREFIX = "smartl_"
MAX_LAUNCH = 100


def launchable_apps(clinic: Clinic) -> list[SmartApp]:
    """The clinic's active apps that staff may open from a chart (a launch URL is set)."""
    rows = SmartApp.objects.filter(clinic=clinic, disabled_at__isnull=True, backend=False)
    return list(rows.exclude(launch_url="").order_by("name", "pk")[:50])


def start_launch(
    *, app: SmartApp, user: User, patient: Patient, fhir_base: str, request: HttpRequest | None
) -> str:
    """Record the launch and return the address of the app's launch URL to send the browser to."""
    raw = new_secret(LAUNCH_PREFIX)
    with transaction.atomic():
        launch = EhrLaunch.objects.create(
            clinic_id=app.clinic_id,
            app=app,
            user=user,
            patient=patient,
            value_hash=hash_secret(raw),
            expires_at=timezone.now() + timedelta(seconds=settings.SMART_LAUNCH_SECONDS),
        )
        audit.record(
            request=request,
            action=Action.SECURITY,
            clinic_id=app.clinic_id,
            patient_id=patient.pk,
            user=user,
            object_type="smart.launch",
            object_id=str(launch.pk),
            detail={"event": "SMART app launched from the chart", "app": app.name},
        )
    return with_query(app.launch_url, {"iss": fhir_base.rstrip("/"), "launch": raw})


def launch_for(*, raw: str, app: SmartApp, user: User) -> EhrLaunch:
    """The unused, unexpired launch ``raw`` names, made for ``app`` by ``user``."""
    launch = None
    if raw.startswith(LAUNCH_PREFIX) and len(raw) <= MAX_LAUNCH:
        launch = (
            EhrLaunch.objects.select_related("patient")
            .filter(value_hash=hash_secret(raw), app=app)
            .first()
        )
    if launch is None:
        raise invalid("launch", "not a launch this app was given; launch it again from the chart")
    if launch.user_id != user.pk:
        raise invalid("launch", "was started by another person; launch it from your own chart")
    if launch.used_at is not None:
        raise invalid("launch", "already used; launch the app again from the chart")
    if launch.expires_at <= timezone.now():
        raise invalid("launch", "expired; launch the app again from the chart")
    return launch


def spend_launch(launch: EhrLaunch) -> None:
    """Mark ``launch`` used; OAuthError if another request used it first."""
    spent = EhrLaunch.objects.filter(pk=launch.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not spent:
        raise OAuthError("invalid_request", "launch: already used; launch the app again")
