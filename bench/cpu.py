"""CPU time of the servers under test, read from /proc, so figures survive a noisy machine.

Requests per second fall when other work shares the cores; the CPU the server spent on each
request does not (much). A run reads utime + stime of the server process and all of its
descendants (every worker), plus every process named `postgres` when the app uses
PostgreSQL, before and after the measured load, and divides by the requests served.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    name_end = raw.rindex(")")
    return [raw[raw.index("(") + 1 : name_end], *raw[name_end + 2 :].split()]


def _all_stats() -> dict[int, list[str]]:
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = fields
    return stats


def _seconds(fields: list[str]) -> float:
    # Index n holds field n + 2 of stat(5): ppid (4) at 2, utime (14) at 12, stime (15) at 13.
    return (int(fields[12]) + int(fields[13])) / TICKS


def descendants(root: int, stats: dict[int, list[str]]) -> set[int]:
    found = {root}
    changed = True
    while changed:
        changed = False
        for pid, fields in stats.items():
            if pid not in found and int(fields[2]) in found:
                found.add(pid)
                changed = True
    return found


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def rss_mb(root: int) -> float:
    """The largest resident memory, in MB, among `root`'s child processes (its workers)."""
    stats = _all_stats()
    largest = 0.0
    for pid in descendants(root, stats) - {root}:
        try:
            status = (PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                largest = max(largest, int(line.split()[1]) / 1024)
    return round(largest, 1)
