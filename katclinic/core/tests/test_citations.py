"""Every citation in the shipped code leads somewhere a reader can follow.

A clinical default cites its published source (paper, drug label or guideline, with
year and link) or says plainly that it is the clinic's choice. None may point at a
document that does not ship with KAT Clinic.
"""

import re
from pathlib import Path

import pytest

from katclinic.clinics.registry import REGISTRY

PACKAGE = Path(__file__).resolve().parents[2]
# Phrases that point at a reference document outside this repository.
DEAD_ENDS = (
    "clinical.md",
    "uncertain #",
    "clinical reference",
    "clinical ref.",
    "'uncertain' item",
    "anchors.md",
)
# A default with no published figure says so in one of these ways instead of citing.
OWN_CHOICE = re.compile(
    r"no published|clinic choice|clinic policy|not a clinical threshold|operational"
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


def test_every_clinic_setting_cites_a_link_or_says_it_is_the_clinics_choice() -> None:
    assert len(REGISTRY) > 30
    uncited = [
        key
        for key, setting in REGISTRY.items()
        if "https://" not in setting.source and not OWN_CHOICE.search(setting.source.lower())
    ]

    assert uncited == []


def test_a_clinic_choice_is_never_shown_as_verified() -> None:
    shown_verified = [
        key
        for key, setting in REGISTRY.items()
        if setting.verified and "no published" in setting.source.lower()
    ]

    assert shown_verified == []
