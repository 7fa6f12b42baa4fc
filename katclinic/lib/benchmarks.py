"""Published ketamine and esketamine outcomes, as data for the outcomes pages.

Every figure comes from the published source cited on its row; a figure we have not
verified is None, never a guess. Percentages are stored as percentages (55.4 means
55.4%), as printed.

The table exists so a clinic can put its own rates in context. It is not a
scoreboard; `COMPARABILITY_NOTE` says why, and the outcomes pages must show it
next to any comparison.

Dore 2019 (J Psychoactive Drugs 2019;51(2):189-198) is left out: it reports improvement without rates.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPARABILITY_NOTE = (
    "These comparisons are not like for like. The published figures come from "
    "randomised trials with strict entry criteria, from inpatient samples, and "
    "from observational cohorts with their own losses to follow-up. They use "
    "different instruments (MADRS, QIDS-SR16, PHQ-9), different thresholds for "
    "remission, different routes and schedules, and different time points. A "
    "clinic's own rate differs from them for all of these reasons as well as "
    "for any difference in care, so read them as rough context, not as a "
    "target or a ranking."
)

GENERAL_RESPONSE = "A fall of at least 50% from the baseline score"


@dataclass(frozen=True, slots=True)
class Result:
    """Rates for one group of a study; None where the figure is not verified."""

    group: str
    response_pct: float | None = None
    remission_pct: float | None = None
    relapse_pct: float | None = None
    time_point: str | None = None  # None: the study's own `time_point`
    is_comparator: bool = False


@dataclass(frozen=True, slots=True)
class Benchmark:
    key: str
    name: str
    population: str
    design: str
    n: int | None
    instrument: str | None
    response_definition: str | None
    remission_definition: str | None
    time_point: str | None
    results: tuple[Result, ...]
    citation: str
    citation_url: str
    caveat: str
    relapse_hazard_ratio: float | None = None
    notes: tuple[str, ...] = ()


_TRANSFORM_URL = "https://pmc.ncbi.nlm.nih.gov/articles/PMC7894501/table/cpt2024-tbl-0001"

BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        key="elekt-d",
        name="ELEKT-D",
        population="Adults with non-psychotic treatment-resistant major depression",
        design=(
            "Randomised open-label trial: IV racemic ketamine 0.5 mg/kg twice weekly "
            "for 3 weeks versus ECT three times weekly"
        ),
        n=403,
        instrument="QIDS-SR16",
        response_definition=GENERAL_RESPONSE,
        remission_definition=None,
        time_point="End of the 3-week treatment phase",
        results=(
            Result("IV ketamine", response_pct=55.4),
            Result("ECT", response_pct=41.2, is_comparator=True),
        ),
        citation="Anand A, et al. N Engl J Med 2023",
        citation_url=(
            "https://moreblossom.com/papers/"
            "ketamine-versus-ect-for-nonpsychotic-treatment-resistant-major-depression"
        ),
        caveat=(
            "Trial patients were referred for ECT, so were more severely ill than many "
            "clinic patients; response was self-rated on the QIDS-SR16, not the PHQ-9. "
            "Remission rates were not verified and are left blank."
        ),
        notes=(
            "Difference in QIDS-SR16 response: 14.2 percentage points (95% CI 3.9 to 24.2).",
            "MADRS response: 50.8% with ketamine versus 41.1% with ECT.",
        ),
    ),
    Benchmark(
        key="ketect",
        name="KetECT",
        population="Inpatients with depression",
        design=(
            "Randomised trial: IV racemic ketamine three times weekly (up to 12 "
            "sessions) versus ECT"
        ),
        n=None,
        instrument="MADRS",
        response_definition=None,
        remission_definition="MADRS 10 or below",
        time_point="End of the treatment series",
        results=(
            Result("IV ketamine", remission_pct=46.0),
            Result("ECT", remission_pct=63.0, is_comparator=True),
            Result(
                "IV ketamine, remitters",
                relapse_pct=70.0,
                time_point="12 months after remission",
            ),
            Result(
                "ECT, remitters",
                relapse_pct=63.0,
                time_point="12 months after remission",
                is_comparator=True,
            ),
        ),
        citation="Ekstrand J, et al. (KetECT)",
        citation_url="https://pmc.ncbi.nlm.nih.gov/articles/PMC9154276",
        caveat=(
            "Hospital inpatients, clinician-rated MADRS with a stricter remission "
            "threshold (10, not 12) than the esketamine trials; not comparable with "
            "outpatient self-report."
        ),
        notes=("Median of 6 sessions in each arm.",),
    ),
    Benchmark(
        key="transform-2",
        name="TRANSFORM-2",
        population="Adults with treatment-resistant depression",
        design=(
            "Randomised double-blind trial: flexible-dose esketamine nasal spray plus a "
            "new oral antidepressant versus the antidepressant plus placebo spray"
        ),
        n=None,
        instrument="MADRS",
        response_definition=GENERAL_RESPONSE,
        remission_definition="MADRS 12 or below",
        time_point="Day 28",
        results=(
            Result("Esketamine + antidepressant", response_pct=69.3, remission_pct=52.5),
            Result(
                "Placebo + antidepressant",
                response_pct=52.0,
                remission_pct=31.0,
                is_comparator=True,
            ),
        ),
        citation="Popova V, et al. Am J Psychiatry 2019 (TRANSFORM-2)",
        citation_url=_TRANSFORM_URL,
        caveat=(
            "Selected trial population on a newly started oral antidepressant; the "
            "placebo arm also improved a good deal, so the gap matters more than the rate."
        ),
    ),
    Benchmark(
        key="transform-1",
        name="TRANSFORM-1",
        population="Adults with treatment-resistant depression",
        design=(
            "Randomised double-blind trial: fixed-dose esketamine 56 mg or 84 mg plus a "
            "new oral antidepressant versus the antidepressant plus placebo spray"
        ),
        n=None,
        instrument="MADRS",
        response_definition=GENERAL_RESPONSE,
        remission_definition=None,
        time_point="Day 28",
        results=(
            Result("Esketamine 56 mg + antidepressant", response_pct=54.1),
            Result("Esketamine 84 mg + antidepressant", response_pct=53.1),
            Result("Placebo + antidepressant", response_pct=38.9, is_comparator=True),
        ),
        citation="Fedgchin M, et al. Int J Neuropsychopharmacol 2019 (TRANSFORM-1)",
        citation_url=_TRANSFORM_URL,
        caveat=(
            "Fixed doses in a selected trial population; remission rates were not "
            "verified and are left blank."
        ),
    ),
    Benchmark(
        key="transform-3",
        name="TRANSFORM-3",
        population="Adults aged 65 or over with treatment-resistant depression",
        design=(
            "Randomised double-blind trial: esketamine plus a new oral antidepressant "
            "versus the antidepressant plus placebo spray"
        ),
        n=None,
        instrument="MADRS",
        response_definition=GENERAL_RESPONSE,
        remission_definition=None,
        time_point=None,
        results=(
            Result("Esketamine + antidepressant", response_pct=27.0),
            Result("Placebo + antidepressant", response_pct=13.3, is_comparator=True),
        ),
        citation="Ochs-Ross R, et al. Am J Geriatr Psychiatry 2020 (TRANSFORM-3)",
        citation_url="https://pmc.ncbi.nlm.nih.gov/articles/PMC7894501/table/cpt2024-tbl-0002",
        caveat=(
            "Older adults only; compare only with a clinic's own patients of 65 or over. "
            "The time point was not verified in our reference."
        ),
    ),
    Benchmark(
        key="sustain-1",
        name="SUSTAIN-1",
        population=(
            "Adults with treatment-resistant depression in stable remission after "
            "esketamine induction"
        ),
        design=(
            "Randomised withdrawal (relapse prevention): continued esketamine plus "
            "antidepressant versus a switch to placebo spray plus antidepressant"
        ),
        n=None,
        instrument="MADRS",
        response_definition=None,
        remission_definition=None,
        time_point="Maintenance phase (to relapse or study end)",
        results=(
            Result("Continued esketamine + antidepressant", relapse_pct=26.7),
            Result("Placebo + antidepressant", relapse_pct=45.3, is_comparator=True),
        ),
        citation="Daly EJ, et al. JAMA Psychiatry 2019 (SUSTAIN-1)",
        citation_url=(
            "https://develop-sr3snxi-tt7lcx6s5gdv4.us-4.platformsh.site/site/pcn/posters/"
            "esketamine-nasal-spray-combined-oral-antidepressant-relapse-prevention-"
            "treatment-resistant"
        ),
        caveat=(
            "Only patients already in stable remission were randomised, and the relapse "
            "definition was not verified; a clinic must define relapse in its own "
            "protocol before comparing. The stable-responder results were not verified."
        ),
        relapse_hazard_ratio=0.49,
    ),
    Benchmark(
        key="mcinnes-2022",
        name="McInnes 2022",
        population="Patients of 178 ketamine clinics using the Osmind record",
        design=(
            "Retrospective real-world cohort; ketamine infusions, typically 4 to 8 "
            "over 7 to 28 days"
        ),
        n=537,
        instrument="PHQ-9",
        response_definition=GENERAL_RESPONSE,
        remission_definition=None,
        time_point="14 to 31 days after starting",
        results=(Result("Ketamine", response_pct=53.6, remission_pct=28.9),),
        citation="McInnes LA, et al. 2022",
        citation_url="https://stanfordhealthcare.org/publications/837/837264.html",
        caveat=(
            "Only patients with scores recorded in the window were counted; who was "
            "missing, and why, can move the rates either way."
        ),
        notes=(
            "73% had less suicidal ideation; 8.4% worsened.",
            "Without maintenance, responders kept their response with a probability of "
            "about 80% at 4 weeks and about 60% at 8 weeks.",
        ),
    ),
    Benchmark(
        key="osmind-orka",
        name="Osmind ORKA",
        population="Real-world ketamine clinic patients in the Osmind record",
        design="Retrospective real-world analysis",
        n=None,
        instrument=None,
        response_definition=None,
        remission_definition=None,
        time_point="After 6 infusions",
        results=(Result("Ketamine", response_pct=50.0, remission_pct=25.0),),
        citation="Osmind ORKA analysis",
        citation_url="https://www.osmind.org/orka1",
        caveat=(
            "Industry analysis reported as approximate figures ('about 50%'); "
            "definitions and sample were not verified in our reference."
        ),
        notes=("About 20% were late responders, at infusions 10 to 12.",),
    ),
    Benchmark(
        key="oliver-2022",
        name="Oliver 2022",
        population="Adults with treatment-resistant depression at a multisite private clinic",
        design=(
            "Retrospective chart review; IV racemic ketamine 0.5 mg/kg over 40 minutes, "
            "6 infusions within 21 days, maintenance offered by response"
        ),
        n=424,
        instrument="PHQ-9 (self-report)",
        response_definition=GENERAL_RESPONSE,
        remission_definition=None,
        time_point="Within 6 weeks of the first infusion; and after 10 infusions",
        results=(
            Result(
                "IV ketamine",
                response_pct=50.0,
                remission_pct=20.0,
                time_point="Within 6 weeks of the first infusion",
            ),
            Result(
                "IV ketamine",
                response_pct=72.0,
                remission_pct=38.0,
                time_point="After 10 infusions",
            ),
        ),
        citation="Oliver PA, et al. J Clin Psychiatry 2022",
        citation_url=(
            "https://dev2.psychiatrist.com/jcp/clinical-effectiveness-intravenous-racemic-"
            "ketamine-treatment-resistant-depression-suicidal-ideation-generalized-"
            "anxiety-symptoms"
        ),
        caveat=(
            "Rates are Kaplan-Meier estimates from one clinic group; the later figure "
            "rests on the fewer patients who went on to 10 infusions. The remission "
            "definition was not verified."
        ),
        notes=("GAD-7 fell by about 30%.",),
    ),
    Benchmark(
        key="hull-2022",
        name="Hull 2022",
        population="Adults treated at home by a telehealth ketamine service",
        design="Retrospective cohort; at-home sublingual ketamine-assisted therapy",
        n=1247,
        instrument="PHQ-9",
        response_definition=GENERAL_RESPONSE,
        remission_definition=None,
        time_point=None,
        results=(Result("Sublingual ketamine", response_pct=62.8, remission_pct=32.6),),
        citation="Hull TD, et al. 2022",
        citation_url="https://peeref.com/works/25924086",
        caveat=(
            "Run by the service's sponsor (Mindbloom) and criticised on that ground; "
            "at-home sublingual treatment is a different care model from "
            "supervised IV or nasal dosing."
        ),
    ),
)


def get_benchmark(key: str) -> Benchmark:
    """Return the benchmark with `key`, or raise KeyError."""
    for benchmark in BENCHMARKS:
        if benchmark.key == key:
            return benchmark
    raise KeyError(key)
