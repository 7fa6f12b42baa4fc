"""Telling the people in a role at a clinic that something needs them, by email.

The message says only that something is waiting and where: no patient's name or health
information goes into an email, which is not a secure channel. It is sent after the
transaction commits, so a rolled-back change tells no one.
"""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction

from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.clinics.permissions import Role


def role_emails(clinic: Clinic, role: Role) -> list[str]:
    return sorted(
        set(
            StaffMembership.objects.active()
            .filter(clinic=clinic, role=role, user__is_active=True)
            .values_list("user__email", flat=True)
        )
    )


def email_after_commit(*, to: list[str], subject: str, body: str) -> None:
    if to:
        transaction.on_commit(lambda: send_mail(subject, body, None, to))
