"""Where claim files go. A backend takes a finished 837 file and returns a reference.

The default, `file-drop`, writes the file into a folder of the data directory that the
clinic's clearinghouse transfer (SFTP or the clearinghouse's own agent) collects from. The
backend is chosen with the `INSURANCE_CLEARINGHOUSE` setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from django.conf import settings

from katclinic.clinics.models import Clinic
from katclinic.insurance import clinic_settings as keys


class Clearinghouse(Protocol):
    def submit(self, *, clinic: Clinic, name: str, text: str) -> str: ...


class FileDrop:
    """Writes `<DATA_DIR>/<claim folder>/<clinic>/<name>`; the path is the reference."""

    def folder(self, clinic: Clinic) -> Path:
        setting = keys.CLAIM_FOLDER.value(clinic) or "claims-outbox"
        relative = Path(setting.strip().strip("/") or "claims-outbox")
        base = Path(settings.DATA_DIR).resolve()
        folder = (base / relative / clinic.slug).resolve()
        if base not in folder.parents:
            raise ValueError("The claim folder must be inside the data directory.")
        return folder

    def submit(self, *, clinic: Clinic, name: str, text: str) -> str:
        folder = self.folder(clinic)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        partial = target.with_suffix(".part")
        partial.write_text(text, encoding="ascii")
        partial.replace(target)  # the transfer never picks up a half-written file
        return str(target.relative_to(Path(settings.DATA_DIR).resolve()))


BACKENDS: dict[str, type[FileDrop]] = {"file-drop": FileDrop}


def backend() -> Clearinghouse:
    name = getattr(settings, "INSURANCE_CLEARINGHOUSE", "file-drop")
    return BACKENDS[name]()
