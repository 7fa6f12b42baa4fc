"""Every citation in the shipped code leads somewhere a reader can follow.

A clinical default cites its published source (paper, drug label or guideline, with
year and link) or says plainly that it is the clinic's choice. None may point at a
document that does not ship with KAT Clinic.
"""

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]
# Phrases that point at a reference document outside this repository.
DEAD_ENDS = (
    "clinical.md",
    "uncertain #",
    "clinical reference",
    "clinical ref.",
    "'uncertain' item",
)


def shipped_files() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*"))
        if path.is_file()
        and "tests" not in path.relative_to(PACKAGE).parts
        and "__pycache__" not in path.parts
    ]


def test_the_package_is_scanned() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in shipped_files()}

    assert "dosing/clinic_settings.py" in names
    assert "protocols/library/esketamine_trd.json" in names
    assert "clinics/templates/clinics/settings.html" in names


@pytest.mark.parametrize("phrase", DEAD_ENDS)
def test_no_shipped_file_cites_a_document_outside_the_repository(phrase: str) -> None:
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in shipped_files()
        if phrase.encode() in path.read_bytes().lower()
    ]

    assert offenders == []
