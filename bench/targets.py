"""The targets of issue 20, each printed with "met" or "missed" from one run's rows."""

from __future__ import annotations

from typing import Any

PAGE_CPU_MS = 5.0  # the nurse's session page (20 readings) and every staff page, in-process
GROWTH = 1.2  # CPU per request at 10x the data over CPU at 1x
SUBMIT_RPS = {"sqlite": 1000, "postgresql": 600}
SUBMIT_P99_MS = 50.0
RSS_MB = 150.0


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def page_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        if "inprocess_cpu_ms" in r and not r.get("write"):
            cpu = r["inprocess_cpu_ms"]
            lines.append(
                f"target {r['scenario']} <= {PAGE_CPU_MS:g} ms CPU: {cpu:.2f} ms "
                f"{verdict(cpu <= PAGE_CPU_MS)}"
            )
    return lines


def where(r: dict[str, Any]) -> str:
    """The database, and the serving stack when the row was served over HTTP."""
    return f"{r['backend']}, {r['serving']}" if r.get("serving") else r["backend"]


def growth_lines(rows: list[dict[str, Any]], figure: str) -> list[str]:
    lines = []
    for key in sorted({(r["scenario"], where(r)) for r in rows if r.get(figure)}):
        points = sorted(
            (r["patients"], r[figure])
            for r in rows
            if (r["scenario"], where(r)) == key
            if r.get(figure)
        )
        if len(points) > 1 and points[-1][0] > points[0][0]:
            (small, low), (large, high) = points[0], points[-1]
            ratio = high / low
            lines.append(
                f"target {key[0]} ({key[1]}) CPU x{ratio:.2f} for {large / small:.0f}x the "
                f"patients, <= x{GROWTH}: {verdict(ratio <= GROWTH)}"
            )
    return lines


def submit_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        if r["scenario"] != "questionnaire submit" or "rps" not in r:
            continue
        want = SUBMIT_RPS[r["backend"]]
        lines.append(
            f"target submission ({where(r)}, {r['patients']} patients) >= {want} req/s: "
            f"{r['rps']:.0f} {verdict(r['rps'] >= want)}; p99 <= {SUBMIT_P99_MS:g} ms: "
            f"{r['p99_ms']:.1f} {verdict(r['p99_ms'] <= SUBMIT_P99_MS)}"
        )
    return lines


def rss_lines(rows: list[dict[str, Any]]) -> list[str]:
    seen = {(where(r), r["patients"]): r["worker_rss_mb"] for r in rows if "worker_rss_mb" in r}
    return [
        f"target worker RSS ({served}, {patients} patients) <= {RSS_MB:g} MB: {rss} MB "
        f"{verdict(rss <= RSS_MB)} (after this run, not a soak: see make soak)"
        for (served, patients), rss in sorted(seen.items())
    ]


def target_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = page_lines(rows) + submit_lines(rows) + rss_lines(rows)
    lines += growth_lines(rows, "inprocess_cpu_ms") + growth_lines(rows, "cpu_ms")
    if not any("inprocess_cpu_ms" in r for r in rows):
        lines.append("target pages <= 5 ms CPU: not measured in this run (make bench-pages)")
    lines.append("target 8x GNU Health: see make bench-peer")
    return lines
