"""Shared set-up for the messaging tests: uploaded files go to a temporary folder."""

from __future__ import annotations

import tempfile
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from katclinic.messaging import services
from katclinic.messaging.models import Message, Thread
from katclinic.scheduling.sms import ConsoleSmsBackend
from katclinic.testing import ClinicTestCase

PDF = b"%PDF-1.4\n%test document\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(name: str = "letter.pdf", content: bytes = PDF, kind: str = "application/pdf") -> Any:
    return SimpleUploadedFile(name, content, content_type=kind)


class MessagingTestCase(ClinicTestCase):
    def setUp(self) -> None:
        super().setUp()
        folder = self.enterContext(tempfile.TemporaryDirectory())
        self.enterContext(
            override_settings(
                STORAGES={
                    "default": {
                        "BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {"location": folder},
                    },
                    "staticfiles": {
                        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
                    },
                }
            )
        )
        ConsoleSmsBackend.outbox.clear()
        self.clinic.crisis_resources = "Call the North crisis line at 555-0111, day or night."
        self.clinic.save(update_fields=["crisis_resources"])

    def patient_thread(
        self, *, subject: str = "Question", body: str = "Hello", patient: Any = None
    ) -> tuple[Thread, Message]:
        patient = patient or self.pat
        with self.captureOnCommitCallbacks(execute=True):
            return services.start_thread(
                request=None, by=patient.user, patient=patient, subject=subject, body=body
            )
