import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katclinic.lib.deidentify import (
    RESTRICTED_ZIP3,
    date_offset_days,
    deidentify_record,
    research_id,
    scrub_free_text,
    shift_date,
    shift_datetime,
    zip3,
)

SECRET = b"test-only-secret-with-32-bytes!!"
EASTERN = timezone(timedelta(hours=-5))

# One value for each Safe Harbor identifier kind (45 CFR 164.514(b)(2)(i)).
SEEDED_PATIENT = {
    "first_name": "Philomena",  # (A) names
    "middle_name": "Quenby",
    "last_name": "Ashworth-Tremayne",
    "address_line1": "742 Evergreen Terrace",  # (B) geography below state
    "address_line2": "Apartment 9B",
    "city": "Springfieldia",
    "county": "Merrimack County",
    "zip": "03601",
    "date_of_birth": "1930-06-02",  # (C) dates; age 93 at baseline
    "phone": "(603) 555-0142",  # (D)
    "fax": "603-555-0199",  # (E)
    "email": "philomena.ashworth@example.org",  # (F)
    "ssn": "078-05-1120",  # (G)
    "mrn": "MRN-88412077",  # (H)
    "health_plan_number": "HPB-5521-0098",  # (I)
    "account_number": "ACCT-77310042",  # (J)
    "licence_number": "DL-S1234567",  # (K)
    "vehicle_id": "1HGCM82633A004352",  # (L)
    "licence_plate": "KAT-4821",
    "device_id": "PUMP-SN-00A1-7788",  # (M)
    "url": "https://philomena-ashworth.example.net/",  # (N)
    "ip_address": "203.0.113.77",  # (O)
    "biometric_id": "FPRINT-9f8e7d6c",  # (P)
    "photo": "photo-philomena-face.jpg",  # (Q)
    "loyalty_code": "KATC-UNIQUE-5517",  # (R) any other unique code
}
SEEDED_EVENT_IDENTIFIERS = ["Oswin Blackwood", "LOT-KX-20931", "score-7f3a9c"]


def seeded_record(patient_id: str = "patient-1001") -> dict[str, Any]:
    return {
        "patient": {"id": patient_id, "sex": "F", "state": "NH", **SEEDED_PATIENT},
        "scores": [
            {
                "id": "score-7f3a9c",
                "instrument": "PHQ-9",
                "date": date(2024, 3, 1),
                "total": 20,
                "entered_by": "Oswin Blackwood",
            },
            {"instrument": "PHQ-9", "date": "2024-03-22", "total": 9},
        ],
        "sessions": [
            {
                "started_at": datetime(2024, 3, 4, 9, 30, tzinfo=EASTERN),
                "ended_at": datetime(2024, 3, 4, 10, 10, tzinfo=EASTERN),
                "route": "IV",
                "dose_mg": 35.0,
                "dose_mg_per_kg": 0.5,
                "lot_number": "LOT-KX-20931",
                "device_id": "PUMP-SN-00A1-7788",
            }
        ],
        "notes": [
            {
                "written_at": datetime(2024, 3, 4, 11, 0, tzinfo=EASTERN),
                "kind": "integration",
                "text": (
                    "Philomena Ashworth-Tremayne felt calmer after 0.5 mg/kg. She lives at "
                    "742 Evergreen Terrace, Springfieldia 03601; call (603) 555-0142 or "
                    "email philomena.ashworth@example.org. Born 06/02/1930, seen March 4, "
                    "2024. Portal https://philomena-ashworth.example.net/ from 203.0.113.77. "
                    "SSN 078-05-1120, MRN-88412077. BP 140/90 at 10:30."
                ),
            }
        ],
    }


def test_no_seeded_identifier_appears_anywhere_in_the_export() -> None:
    dump = json.dumps(deidentify_record(seeded_record(), secret=SECRET)).lower()

    for value in [*SEEDED_PATIENT.values(), *SEEDED_EVENT_IDENTIFIERS, "patient-1001"]:
        assert value.lower() not in dump, value


def test_export_keeps_the_clinical_content() -> None:
    out = deidentify_record(seeded_record(), secret=SECRET)

    assert out["patient"] == {"sex": "F", "state": "NH", "zip3": "000", "age": "90+"}
    assert [(s["instrument"], s["total"]) for s in out["scores"]] == [("PHQ-9", 20), ("PHQ-9", 9)]
    (session,) = out["sessions"]
    assert (session["route"], session["dose_mg"], session["dose_mg_per_kg"]) == ("IV", 35.0, 0.5)


def test_free_text_is_left_out_by_default() -> None:
    out = deidentify_record(seeded_record(), secret=SECRET)

    assert "notes" not in out
    assert "calmer" not in json.dumps(out)


def test_included_free_text_is_scrubbed_of_seeded_identifiers() -> None:
    out = deidentify_record(seeded_record(), secret=SECRET, include_free_text=True)
    (note,) = out["notes"]
    text = note["text"]

    for value in [
        "Philomena",
        "Ashworth-Tremayne",
        "742 Evergreen Terrace",
        "Springfieldia",
        "03601",
        "555-0142",
        "philomena.ashworth@example.org",
        "06/02/1930",
        "March 4",
        "example.net",
        "203.0.113.77",
        "078-05-1120",
        "MRN-88412077",
    ]:
        assert value.lower() not in text.lower(), value
    assert "felt calmer after 0.5 mg/kg" in text
    assert "BP 140/90 at 10:30" in text
    assert note["kind"] == "integration"


def event_dates(record: dict[str, Any]) -> list[date]:
    days = [
        d if isinstance(d, date) else date.fromisoformat(d)
        for d in (s["date"] for s in record["scores"])
    ]
    days += [s["started_at"].astimezone(UTC).date() for s in record["sessions"]]
    return days


def exported_dates(out: dict[str, Any]) -> list[date]:
    days = [date.fromisoformat(s["date"]) for s in out["scores"]]
    days += [datetime.fromisoformat(s["started_at"]).date() for s in out["sessions"]]
    return days


def test_dates_move_by_one_nonzero_offset_within_a_patient() -> None:
    record = seeded_record()
    out = deidentify_record(record, secret=SECRET)

    shifts = {
        (after - before).days
        for before, after in zip(event_dates(record), exported_dates(out), strict=True)
    }
    assert shifts == {date_offset_days("patient-1001", secret=SECRET)}
    assert 0 not in shifts


def test_intervals_between_events_are_preserved() -> None:
    out = deidentify_record(seeded_record(), secret=SECRET)
    first, second = (date.fromisoformat(s["date"]) for s in out["scores"])
    (session,) = out["sessions"]
    started = datetime.fromisoformat(session["started_at"])
    ended = datetime.fromisoformat(session["ended_at"])

    assert (second - first).days == 21
    assert ended - started == timedelta(minutes=40)
    assert (started.date() - first).days == 3


def test_times_are_exported_in_utc() -> None:
    out = deidentify_record(seeded_record(), secret=SECRET)
    started = datetime.fromisoformat(out["sessions"][0]["started_at"])

    assert started.utcoffset() == timedelta(0)
    assert (started.hour, started.minute) == (14, 30)


def test_different_patients_get_different_shifts_and_research_ids() -> None:
    first = deidentify_record(seeded_record("patient-1001"), secret=SECRET)
    second = deidentify_record(seeded_record("patient-1002"), secret=SECRET)

    assert first["scores"][0]["date"] != second["scores"][0]["date"]
    assert first["research_id"] != second["research_id"]


def test_research_id_is_stable_and_depends_on_the_secret() -> None:
    again = deidentify_record(seeded_record(), secret=SECRET)["research_id"]

    assert again == research_id("patient-1001", secret=SECRET)
    assert again != research_id("patient-1001", secret=b"another-secret-of-32-bytes-long!")
    assert "1001" not in again


@pytest.mark.parametrize(
    ("date_of_birth", "expected"),
    [("1930-06-02", "90+"), ("1934-03-01", "90+"), ("1934-03-02", 89), ("1990-01-01", 34)],
)
def test_age_at_baseline_pools_everyone_over_89(date_of_birth: str, expected: object) -> None:
    record = seeded_record()
    record["patient"]["date_of_birth"] = date_of_birth

    assert deidentify_record(record, secret=SECRET)["patient"]["age"] == expected


def test_age_can_be_taken_on_a_given_day() -> None:
    out = deidentify_record(seeded_record(), secret=SECRET, as_of=date(2010, 1, 1))

    assert out["patient"]["age"] == 79


@pytest.mark.parametrize("restricted", sorted(RESTRICTED_ZIP3))
def test_restricted_three_digit_zip_areas_become_000(restricted: str) -> None:
    assert zip3(restricted + "42") == "000"


def test_ordinary_zip_keeps_only_its_first_three_digits() -> None:
    record = seeded_record()
    record["patient"]["zip"] = "10012-3344"
    out = deidentify_record(record, secret=SECRET)

    assert out["patient"]["zip3"] == "100"
    assert "10012" not in json.dumps(out)
    assert zip3("") is None


@given(st.text(min_size=1, max_size=40))
def test_shift_is_within_180_days_and_never_zero(patient_key: str) -> None:
    offset = date_offset_days(patient_key, secret=SECRET)

    assert -180 <= offset <= 180
    assert offset != 0
    assert shift_date(date(2024, 1, 1), patient_key=patient_key, secret=SECRET) == date(
        2024, 1, 1
    ) + timedelta(days=offset)


def test_shift_datetime_refuses_naive_times() -> None:
    naive = datetime(2024, 3, 4, 9, 30)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ValueError, match="naive"):
        shift_datetime(naive, patient_key="p", secret=SECRET)


def test_shift_date_refuses_a_datetime() -> None:
    with pytest.raises(TypeError, match="shift_datetime"):
        shift_date(datetime(2024, 3, 4, tzinfo=UTC), patient_key="p", secret=SECRET)


def test_a_short_secret_or_missing_patient_id_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        deidentify_record(seeded_record(), secret=b"short")
    record = seeded_record()
    del record["patient"]["id"]
    with pytest.raises(ValueError, match="id"):
        deidentify_record(record, secret=SECRET)


@dataclass
class PatientRow:
    id: str
    first_name: str
    date_of_birth: date
    zip: str
    sex: str = "M"


@dataclass
class RecordRow:
    patient: PatientRow
    scores: list[dict[str, Any]] = field(default_factory=list)


def test_a_dataclass_record_is_accepted() -> None:
    row = RecordRow(
        PatientRow("p-9", "Bartholomew", date(1980, 5, 5), "55455"),
        scores=[{"instrument": "GAD-7", "date": date(2024, 5, 5), "total": 12}],
    )
    out = deidentify_record(row, secret=SECRET)  # type: ignore[arg-type]

    assert out["patient"]["age"] == 44
    assert "Bartholomew" not in json.dumps(out)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("reach me at a.b+c@clinic.example.com", "[EMAIL]"),
        ("see www.example.com/page", "[URL]"),
        ("logged in from 192.168.10.4", "[IP]"),
        ("from fe80::1ff:fe23:4567:890a", "[IP]"),
        ("seen 2024-03-04", "[DATE]"),
        ("seen 4 March 2024", "[DATE]"),
        ("call +44 20 7946 0958", "[PHONE]"),
        ("account 004417723", "[NUMBER]"),
    ],
)
def test_scrubber_tags_each_pattern(text: str, tag: str) -> None:
    assert tag in scrub_free_text(text)


def test_scrubber_removes_known_values_on_word_boundaries_only() -> None:
    text = "Ann said Annual review went well; ANN slept."

    assert scrub_free_text(text, known_values=["Ann"]) == (
        "[REDACTED] said Annual review went well; [REDACTED] slept."
    )
