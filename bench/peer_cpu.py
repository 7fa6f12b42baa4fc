"""CPU seconds of a server's process tree plus the PostgreSQL processes working for it.

`cpu.py` counts every `postgres` process on the machine; on a server other people's test
databases share, that counts their work too. Here a client backend counts only when its
process title names one of the measured databases ("postgres: USER DB HOST(PORT) STATE");
the server's own background processes (WAL writer, checkpointer, background writer) count
because every write needs them. Both systems keep their database connections open across
requests (Django with CONN_MAX_AGE=None, trytond with its connection pool), so the backends
live through the measured run and their CPU is read before and after it.
"""

from __future__ import annotations

import re
from pathlib import Path

from cpu import PROC, _all_stats, _seconds, descendants

# A client backend's title: user, database, then the client's address or [local].
BACKEND = re.compile(r"^postgres: (\S+) (\S+) (\S+\(\d+\)|\[local\])")
AUTOVACUUM = "postgres: autovacuum worker "


def _title(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def works_for(title: str, databases: set[str]) -> bool:
    """Whether a postgres process with this title serves one of `databases` (or all)."""
    if title.startswith(AUTOVACUUM):
        return title[len(AUTOVACUUM) :].split(" ")[0] in databases
    match = BACKEND.match(title)
    if match:
        return match.group(2) in databases
    return title.startswith("postgres: ")  # a background process of the server


def cpu_by_process(root: int, databases: set[str]) -> dict[tuple[int, str], float]:
    """CPU seconds so far of `root`'s tree and of the postgres processes serving `databases`,
    each keyed by (pid, start time).

    The difference of two of these (`cpu_between`) counts each process's own share: one
    that exited in between (an autovacuum worker, say) does not take its earlier CPU out
    of the sum, and a reused pid is another process."""
    if not Path(PROC).exists():
        return {}
    stats = _all_stats()
    pids = descendants(root, stats)
    if databases:
        pids |= {
            pid
            for pid, fields in stats.items()
            if fields[0] == "postgres" and works_for(_title(pid), databases)
        }
    # Index 20 holds field 22 of stat(5): the start time.
    return {(pid, stats[pid][20]): _seconds(stats[pid]) for pid in pids if pid in stats}


def cpu_between(before: dict[tuple[int, str], float], after: dict[tuple[int, str], float]) -> float:
    """CPU seconds spent between two `cpu_by_process` readings by the processes of the
    second (those started in between count from zero)."""
    return sum(seconds - before.get(key, 0.0) for key, seconds in after.items())
