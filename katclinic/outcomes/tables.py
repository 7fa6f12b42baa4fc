"""The dashboard's tables as rows, for CSV export (the page shows the same figures)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Table = tuple[Sequence[str], list[Sequence[object]]]


def pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def started(context: dict[str, Any]) -> Table:
    header = ["month", "route", "protocol", "protocol_title", "courses"]
    return header, [
        [
            r["start_month"].strftime("%Y-%m"),
            r["route"],
            r["protocol_key"],
            r["protocol_title"],
            r["courses"],
        ]
        for r in context["started"]
    ]


def induction(context: dict[str, Any]) -> Table:
    header = [
        "instrument",
        "courses_window_closed",
        "no_baseline",
        "missing_score",
        "evaluable",
        "responded",
        "response_pct",
        "response_ci95_low",
        "response_ci95_high",
        "remitted",
        "remission_pct",
        "remission_ci95_low",
        "remission_ci95_high",
    ]
    rows: list[Sequence[object]] = []
    for r in context["induction"]:
        resp, rem = r["response"], r["remission"]
        rows.append(
            [
                r["instrument"],
                r["courses"],
                r["no_baseline"],
                r["missing"],
                r["evaluable"],
                r["responded"],
                pct(resp["estimate"]),
                pct(resp["lower"]),
                pct(resp["upper"]),
                r["remitted"],
                pct(rem["estimate"]),
                pct(rem["lower"]),
                pct(rem["upper"]),
            ]
        )
    return header, rows


def _survival(key: str) -> Callable[[dict[str, Any]], Table]:
    def make(context: dict[str, Any]) -> Table:
        header = [
            "instrument",
            "day",
            "at_risk",
            "events",
            "censored",
            "survival",
            "ci95_low",
            "ci95_high",
        ]
        rows: list[Sequence[object]] = []
        for instrument, curve in context[key].items():
            for s in curve["steps"]:
                rows.append(
                    [
                        instrument,
                        int(s.time),
                        s.at_risk,
                        s.events,
                        s.censored,
                        f"{s.survival:.4f}",
                        "" if s.lower is None else f"{s.lower:.4f}",
                        "" if s.upper is None else f"{s.upper:.4f}",
                    ]
                )
        return header, rows

    return make


def safety(context: dict[str, Any]) -> Table:
    s = context["safety"]
    header = ["measure", "count", "per_100_sessions_or_pct", "denominator"]
    return header, [
        ["sessions given", s["sessions"], "", ""],
        ["adverse events (serious)", s["adverse"], s["adverse_per_100"], s["sessions"]],
        ["side effects (any)", s["side"], s["side_per_100"], s["sessions"]],
        ["threshold alerts", s["alerts"], s["alerts_per_100"], s["sessions"]],
        ["discharge delays", s["delays"], s["delays_per_100"], s["sessions"]],
        [
            "questionnaires answered of due",
            s["answered"],
            pct(s["completeness"]["estimate"]),
            s["due"],
        ],
    ]


COMPARISON_HEADER = [
    "study",
    "population",
    "design",
    "n",
    "instrument",
    "response_definition",
    "remission_definition",
    "time_point",
    "group",
    "response_pct",
    "remission_pct",
    "citation",
    "url",
    "caveat",
]


def _published_rows(context: dict[str, Any]) -> list[Sequence[object]]:
    """One row per result of each published study, in the order the page lists them."""
    rows: list[Sequence[object]] = []
    for entry in context["comparison"]:
        study = entry["study"]
        for result in entry["results"]:
            rows.append(
                [
                    study.name,
                    study.population,
                    study.design,
                    study.n,
                    study.instrument,
                    study.response_definition,
                    study.remission_definition,
                    result.time_point or study.time_point,
                    result.group,
                    result.response_pct,
                    result.remission_pct,
                    study.citation,
                    study.citation_url,
                    study.caveat,
                ]
            )
    return rows


def _clinic_rows(context: dict[str, Any]) -> list[Sequence[object]]:
    """The clinic's own end-of-induction rates, one row per instrument, with the caveat."""
    return [
        [
            "This clinic",
            "",
            "",
            r["evaluable"],
            r["instrument"],
            "",
            "",
            "end of induction",
            "",
            pct(r["response"]["estimate"]),
            pct(r["remission"]["estimate"]),
            "",
            "",
            context["comparability_note"],
        ]
        for r in context["induction"]
    ]


def comparison(context: dict[str, Any]) -> Table:
    return list(COMPARISON_HEADER), _published_rows(context) + _clinic_rows(context)


TABLES: dict[str, tuple[str, Callable[[dict[str, Any]], Table]]] = {
    "started": ("Courses started", started),
    "induction": ("Response and remission at the end of induction", induction),
    "time-to-response": ("Time to response", _survival("time_to_response")),
    "durability": ("Durability of response", _survival("durability")),
    "safety": ("Safety and measurement completeness", safety),
    "comparison": ("Published results", comparison),
}
