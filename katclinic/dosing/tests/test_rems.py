from datetime import date

import pytest

from katclinic.dosing.rems import (
    FIELD_KEYS,
    FIELDS,
    deadline,
    missing_fields,
    problems,
    render_pdf,
)


def complete_form() -> dict[str, object]:
    return {
        "patient_name": "Alex Example",
        "date_of_birth": date(1980, 5, 17),
        "sex": "F",
        "first_treatment": False,
        "patient_enrolled": True,
        "benzodiazepines": False,
        "non_benzo_hypnotics": False,
        "psychostimulants": True,
        "maois": False,
        "monitoring_hcp": "N. Nurse RN",
        "monitoring_setting": "Outpatient clinic",
        "session_date": date(2026, 3, 2),
        "dose": "84",
        "dose_other_mg": None,
        "lot_number": "LOT-QX7731",
        "total_monitoring_minutes": 125,
        "minutes_ready_without_2h_rule": 75,
        "vitals_ok_pre_dose": True,
        "vitals_ok_at_completion": True,
        "bp_pre_dose": "128/82",
        "bp_40_min": "146/90",
        "bp_completion": "131/84",
        "sedation": True,
        "dissociation": True,
        "respiratory_depression": False,
        "serious_adverse_events": "None",
    }


def test_the_field_set_covers_the_reference_list() -> None:
    expected = {
        "patient_name",
        "date_of_birth",
        "sex",
        "first_treatment",
        "patient_enrolled",
        "benzodiazepines",
        "non_benzo_hypnotics",
        "psychostimulants",
        "maois",
        "monitoring_hcp",
        "monitoring_setting",
        "session_date",
        "dose",
        "lot_number",
        "total_monitoring_minutes",
        "minutes_ready_without_2h_rule",
        "vitals_ok_pre_dose",
        "vitals_ok_at_completion",
        "bp_pre_dose",
        "bp_40_min",
        "bp_completion",
        "sedation",
        "dissociation",
        "respiratory_depression",
        "serious_adverse_events",
    }
    assert expected <= set(FIELD_KEYS)
    assert len(FIELD_KEYS) == len(set(FIELD_KEYS))


def test_a_complete_form_has_nothing_missing() -> None:
    assert missing_fields(complete_form()) == []
    assert problems(complete_form()) == []


def test_missing_fields_are_listed_in_form_order() -> None:
    form = complete_form()
    del form["lot_number"]
    form["patient_name"] = "  "
    form["bp_40_min"] = None
    assert missing_fields(form) == ["patient_name", "lot_number", "bp_40_min"]


def test_a_no_answer_is_not_missing() -> None:
    form = complete_form()
    form["respiratory_depression"] = False
    assert "respiratory_depression" not in missing_fields(form)


def test_an_other_dose_needs_its_amount() -> None:
    form = complete_form()
    form["dose"] = "other"
    assert missing_fields(form) == ["dose_other_mg"]
    form["dose_other_mg"] = "28"
    assert missing_fields(form) == []


def test_an_empty_form_misses_every_field_but_the_conditional_one() -> None:
    assert missing_fields({}) == [f.key for f in FIELDS if f.key != "dose_other_mg"]


def test_problems_flag_short_monitoring_and_unknown_doses() -> None:
    form = complete_form()
    form["total_monitoring_minutes"] = 110
    form["dose"] = "112"
    found = problems(form)
    assert len(found) == 2
    assert "needs at least 120" in found[1]


@pytest.mark.parametrize(
    ("session", "due"),
    [
        (date(2026, 3, 2), date(2026, 3, 9)),
        (date(2026, 12, 28), date(2027, 1, 4)),
        (date(2028, 2, 25), date(2028, 3, 3)),
    ],
)
def test_the_deadline_is_seven_days_after_the_session(session: date, due: date) -> None:
    assert deadline(session) == due


def test_the_pdf_holds_the_title_every_label_and_the_dose_and_lot() -> None:
    pdf = render_pdf(complete_form())
    assert pdf.startswith(b"%PDF")
    text = pdf.decode("latin-1")
    assert "Spravato REMS Patient Monitoring Form - data for submission" in text
    assert "84 mg" in text
    assert "LOT-QX7731" in text
    assert "Submit by 2026-03-09" in text
    for spec in FIELDS:
        assert spec.label.split(" (")[0] in text, spec.label


def test_the_pdf_is_one_page() -> None:
    assert render_pdf(complete_form()).count(b"/Type /Page\n") == 1


def test_the_pdf_shows_missing_values_instead_of_hiding_them() -> None:
    form = complete_form()
    form["lot_number"] = ""
    assert b"MISSING" in render_pdf(form)
    assert b"MISSING" not in render_pdf(complete_form())


def test_the_pdf_refuses_text_the_font_cannot_print() -> None:
    form = complete_form()
    form["patient_name"] = "Łucja Example"
    with pytest.raises(ValueError, match="patient_name"):
        render_pdf(form)
