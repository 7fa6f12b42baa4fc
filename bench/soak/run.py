"""Soak: concurrent clients write and read for minutes; nothing may fail, leak or go unaudited.

    .venv/bin/python bench/soak/run.py                          # 16 clients, 600 s, SQLite
    .venv/bin/python bench/soak/run.py --duration 20            # a quick look
    .venv/bin/python bench/soak/run.py --postgres postgres://postgres@127.0.0.1:5432/postgres

The app runs under gunicorn with the production config (deploy/gunicorn.conf.py) or the
stack `--serving` names (sync, gthreadN; as bench/run.py serves it) and production settings on a fresh database seeded with the demo clinic network. Each client signs in
as its own nurse session and loops without pause over three requests: a GAD-7 submission
through the JSON API, a patient chart read, and a vital-signs reading recorded during a
dosing session (the staff form, CSRF included). At the end it checks:

- no response with a 5xx status and no failed connection;
- no "database is locked" (and no traceback) in the server's log;
- rows stored equal requests accepted, per kind, and every stored row has its audit event
  (each chart read too); the audit hash chain verifies;
- the resident memory of every worker, sampled from /proc, is within the project's figure
  at the end (150 MB) and grew at most 10% from the first sample after warm-up.

Workers are never recycled during the run (no max_requests), so a leak shows. It prints a
table, writes bench/results/soak-<UTC time>.json and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SOAK = Path(__file__).resolve().parent
sys.path.insert(0, str(SOAK.parent))

from run import machine, postgres_database  # noqa: E402
from servers import (  # noqa: E402
    ROOT,
    gunicorn_command,
    manage,
    new_secret_key,
    production_env,
    serve_process,
    stack,
)

RESULTS = SOAK.parent / "results"
KINDS = ("submission", "chart", "vitals")
# Worker memory figures from the project's quality checks (Performance: Memory).
RSS_LIMIT_MB = 150
RSS_GROWTH = 0.10


@dataclass
class Tally:
    """What one client saw; merged at the end."""

    counts: Counter[str] = field(default_factory=Counter)  # accepted per kind
    statuses: Counter[str] = field(default_factory=Counter)  # "kind status"
    server_errors: int = 0
    failed: int = 0  # no answer: refused, reset, timed out
    answered: int = 0  # responses of any status (read by WorkerKiller while running)
    ids: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    samples: list[str] = field(default_factory=list)  # first few unexpected answers


class Client:
    """One user: its own session cookie and CSRF secret, one request at a time."""

    def __init__(
        self, base: str, context: dict[str, Any], index: int, seed: int, keep_alive: bool = False
    ) -> None:
        self.host, self.port = (
            urllib.parse.urlsplit(base).hostname,
            urllib.parse.urlsplit(base).port,
        )
        self.rng = random.Random(seed)
        self.csrf = "".join(
            self.rng.choice(string.ascii_letters + string.digits) for _ in range(32)
        )
        session = context["sessions"][index % len(context["sessions"])]
        self.cookie = f"{context['session_cookie_name']}={session}; {context.get('csrf_cookie_name', 'csrftoken')}={self.csrf}"
        self.token = context["token"]
        self.context = context
        self.dosing_session = context["dosing_sessions"][index % len(context["dosing_sessions"])]
        self.tally = Tally()
        # With keep-alive one connection is reused for as long as the server keeps it open
        # (http.client opens a new one after a response that closes it).
        self.keep_alive = keep_alive
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: str, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        conn = self.conn or http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body.encode() or None, headers=headers)
            response = conn.getresponse()
            answer = response.status, response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self.conn = None
            raise
        if self.keep_alive:
            self.conn = conn
        else:
            conn.close()
        return answer

    def submission(self) -> tuple[str, str, dict[str, str], int]:
        body = json.dumps(
            {
                "patient_id": self.rng.choice(self.context["submit_patients"]),
                "instrument": "gad7",
                "answers": {f"q{i}": self.rng.randint(0, 3) for i in range(1, 8)},
            }
        )
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return "/api/measures/responses", body, headers, 201

    def chart(self) -> tuple[str, str, dict[str, str], int]:
        patient = self.rng.choice(self.context["chart_patients"])
        return f"/patients/{patient}/", "", {"Cookie": self.cookie}, 200

    def vitals(self) -> tuple[str, str, dict[str, str], int]:
        systolic = self.rng.randint(112, 138)
        form = {
            "csrfmiddlewaretoken": self.csrf,
            "label": "extra reading",
            "taken_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "systolic": systolic,
            "diastolic": self.rng.randint(68, min(88, systolic - 20)),
            "heart_rate": self.rng.randint(60, 92),
            "spo2": self.rng.randint(96, 99),
            "respiratory_rate": self.rng.randint(12, 18),
            "moaas": 5,
        }
        headers = {"Cookie": self.cookie, "Content-Type": "application/x-www-form-urlencoded"}
        return (
            f"/dosing/{self.dosing_session}/checkpoint/",
            urllib.parse.urlencode(form),
            headers,
            302,
        )

    def run(self, deadline: float, weights: tuple[int, int, int]) -> None:
        t = self.tally
        while time.monotonic() < deadline:
            kind = self.rng.choices(KINDS, weights=weights)[0]
            path, body, headers, expected = getattr(self, kind)()
            started = time.monotonic()
            try:
                status, content = self.request("POST" if body else "GET", path, body, headers)
            except (OSError, http.client.HTTPException) as exc:  # refused, reset, cut off
                t.failed += 1
                if len(t.samples) < 5:
                    t.samples.append(f"{kind}: {exc!r}")
                continue
            t.latency[kind].append(time.monotonic() - started)
            t.answered += 1
            t.statuses[f"{kind} {status}"] += 1
            if status >= 500:
                t.server_errors += 1
            if status == expected:
                t.counts[kind] += 1
                if kind == "submission":
                    t.ids[kind].append(int(json.loads(content)["id"]))
            elif len(t.samples) < 5:
                t.samples.append(f"{kind} {status}: {content[:200]!r}")


class MemorySampler(threading.Thread):
    """RSS of each gunicorn worker (the master's children), every few seconds."""

    def __init__(self, master_port: int, every: float) -> None:
        super().__init__(daemon=True)
        self.port, self.every = master_port, every
        self.samples: dict[int, list[tuple[float, float]]] = defaultdict(list)
        self.stop = threading.Event()
        self.started = time.monotonic()

    def master(self) -> int | None:
        """The gunicorn master listening on our port: the process whose command line has it."""
        needle = f"127.0.0.1:{self.port}"
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if needle in cmd and "gunicorn" in cmd:
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                if needle not in (
                    Path(f"/proc/{parent}/cmdline")
                    .read_bytes()
                    .decode(errors="replace")
                    .replace("\0", " ")
                ):
                    return int(entry.name)
        return None

    @staticmethod
    def rss_mb(pid: int) -> float | None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def run(self) -> None:
        master = None
        while not self.stop.is_set():
            master = master or self.master()
            if master:
                children = Path(f"/proc/{master}/task/{master}/children")
                try:
                    pids = [int(p) for p in children.read_text().split()]
                except OSError:
                    pids = []
                for pid in pids:
                    rss = self.rss_mb(pid)
                    if rss is not None:
                        self.samples[pid].append((time.monotonic() - self.started, rss))
            self.stop.wait(self.every)

    def summary(self, warmup: float) -> list[dict[str, Any]]:
        rows = []
        for pid, points in sorted(self.samples.items()):
            settled = [rss for at, rss in points if at >= warmup] or [points[-1][1]]
            first, last = settled[0], points[-1][1]
            rows.append(
                {
                    "pid": pid,
                    "samples": len(points),
                    "after_warmup_mb": round(first, 1),
                    "end_mb": round(last, 1),
                    "peak_mb": round(max(r for _, r in points), 1),
                    "growth": round(last / first - 1, 3) if first else 0.0,
                }
            )
        return rows


class WorkerKiller(threading.Thread):
    """SIGKILLs a random worker (a child of the gunicorn master) again and again while the
    clients write: the crash test over HTTP (bench/crash/run.py --serving). The master
    starts a new worker for each. Only a worker that has loaded the app (its resident
    memory within 80% of the largest seen) is killed, and only once the clients have had
    an answer since the last kill: killing workers still starting Django tests nothing."""

    def __init__(
        self, master: int, gaps: tuple[float, float], seed: int, answered: Callable[[], int]
    ) -> None:
        super().__init__(daemon=True)
        self.master, self.gaps, self.answered = master, gaps, answered
        self.rng = random.Random(seed)
        self.kills = 0
        self.stop = threading.Event()

    def run(self) -> None:
        largest, last = 0.0, self.answered()
        while not self.stop.wait(self.rng.uniform(*self.gaps)):
            try:
                children = Path(f"/proc/{self.master}/task/{self.master}/children").read_text()
            except OSError:
                continue
            sizes = {int(p): MemorySampler.rss_mb(int(p)) or 0.0 for p in children.split()}
            largest = max([largest, *sizes.values()])
            ready = [pid for pid, rss in sizes.items() if rss >= 0.8 * largest]
            if not ready or self.answered() == last:
                continue
            try:
                os.kill(self.rng.choice(ready), signal.SIGKILL)
                self.kills += 1
                last = self.answered()
            except ProcessLookupError:
                pass


def logged_errors(text: str) -> dict[str, int]:
    """Error lines of the app's JSON log, by exception and the app frame that raised it."""
    found: Counter[str] = Counter()
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("level") not in ("ERROR", "CRITICAL"):
            continue
        frames = [f for f in entry.get("stack", []) if "/katclinic/" in f] or entry.get("stack", [])
        where = frames[-1].split("/katclinic/")[-1] if frames else entry.get("message", "")
        found[f"{entry.get('exception', entry.get('message', '?'))} at {where}"] += 1
    return dict(found.most_common(10))


def data_script(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(SOAK / "data.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"data.py {args[0]} failed:\n{out.stdout[-3000:]}{out.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def soak(args: argparse.Namespace, tmp: Path, backend: str, url: str | None) -> dict[str, Any]:
    env = production_env(tmp / f"data-{backend}", url, new_secret_key())
    # No mail server here: invitations that would be emailed are dropped.
    env["MAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    print(f"{backend}: migrate, collectstatic, seed {args.patients:,} patients ...", flush=True)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    context = data_script(
        env, "seed", "--patients", str(args.patients), "--clients", str(args.clients)
    )
    if not context["dosing_sessions"]:
        sys.exit("seed made no dosing session to record readings against")
    log = tmp / f"gunicorn-{backend}.log"
    weights = tuple(int(w) for w in args.mix.split(","))
    serving = stack(args.serving)
    command = gunicorn_command(args.workers, serving, recycle=False)
    with serve_process(command, serving.env(env, tmp), "/healthz", log) as served:
        base = served.base
        port = urllib.parse.urlsplit(base).port or 0
        sampler = MemorySampler(port, args.sample_every)
        sampler.start()
        print(
            f"{backend}: {args.clients} clients for {args.duration:.0f} s against {base} "
            f"({args.workers} workers, {serving.name}"
            f"{', clients keep connections alive' if args.keep_alive else ''}) ...",
            flush=True,
        )
        started = time.monotonic()
        deadline = started + args.duration
        clients = [
            Client(base, context, i, args.seed + i, args.keep_alive) for i in range(args.clients)
        ]
        killer = None
        if args.sigkill_workers:
            gaps = (args.sigkill_workers[0], args.sigkill_workers[1])
            killer = WorkerKiller(
                served.pid,
                gaps,
                args.seed,
                lambda: sum(c.tally.answered for c in clients),
            )
            killer.start()
        threads = [threading.Thread(target=c.run, args=(deadline, weights)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        if killer:
            killer.stop.set()
            killer.join()
    tally = Tally()
    for c in clients:
        tally.counts.update(c.tally.counts)
        tally.statuses.update(c.tally.statuses)
        tally.server_errors += c.tally.server_errors
        tally.failed += c.tally.failed
        tally.samples += c.tally.samples
        for kind, values in c.tally.ids.items():
            tally.ids[kind] += values
        for kind, lat in c.tally.latency.items():
            tally.latency[kind] += lat
    accepted = tmp / f"accepted-{backend}.json"
    accepted.write_text(json.dumps({"counts": dict(tally.counts), "ids": dict(tally.ids)}))
    marks = tmp / f"marks-{backend}.json"
    marks.write_text(json.dumps(context["marks"]))
    stored = data_script(env, "verify", "--marks", str(marks), "--accepted", str(accepted))
    text = log.read_text(errors="replace")
    errors = logged_errors(text)
    if errors or tally.server_errors:
        RESULTS.mkdir(exist_ok=True)
        kept = RESULTS / f"soak-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{backend}.log"
        shutil.copy(log, kept)
        print(f"server log kept: {kept.relative_to(ROOT)}", flush=True)
    warmup = min(60.0, args.duration / 5)
    memory = sampler.summary(warmup)
    return {
        "backend": backend,
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "workers": args.workers,
        "serving": args.serving,
        "keep_alive": args.keep_alive,
        "sigkills": killer.kills if killer else None,
        "patients": args.patients,
        "requests": sum(tally.statuses.values()),
        "accepted": dict(tally.counts),
        "statuses": dict(sorted(tally.statuses.items())),
        "server_errors": tally.server_errors,
        "failed_connections": tally.failed,
        "unexpected_samples": tally.samples[:10],
        "latency_ms": {
            k: {
                "p50": round(percentile(v, 0.5), 1),
                "p99": round(percentile(v, 0.99), 1),
                "max": round(percentile(v, 1.0), 1),
            }
            for k, v in tally.latency.items()
        },
        "log_database_is_locked": text.count("database is locked"),
        "log_tracebacks": text.count("Traceback"),
        "log_errors": errors,
        "stored": stored,
        "memory": memory,
        "memory_warmup_seconds": warmup,
    }


def failures(r: dict[str, Any]) -> list[str]:
    """What failed. With workers SIGKILLed (`sigkills` set), requests cut off by a kill get
    no answer and may have committed unanswered, so there only the acknowledged must all be
    stored (and audited), and worker memory is not judged (no worker lives the run)."""
    crash = r.get("sigkills") is not None
    out = []
    if r["server_errors"]:
        out.append(f"{r['server_errors']} responses with a 5xx status")
    if r["failed_connections"] and not crash:
        out.append(f"{r['failed_connections']} requests got no answer")
    if crash and not r["sigkills"]:
        out.append("no worker was killed")
    if r["log_database_is_locked"]:
        out.append(f"'database is locked' {r['log_database_is_locked']} times in the server log")
    for error, count in r["log_errors"].items():
        out.append(f"logged {count} times: {error}")
    if r["log_tracebacks"]:
        out.append(f"{r['log_tracebacks']} tracebacks in the server log")
    for kind in ("submission", "vitals"):
        s = r["stored"][kind]
        lost = s["stored"] < s["accepted"] if crash else s["stored"] != s["accepted"]
        if lost or s["accepted_ids_missing"]:
            out.append(
                f"{kind}: {s['stored']} rows stored for {s['accepted']} accepted "
                f"({s['accepted_ids_missing']} acknowledged ids missing)"
            )
        if s["stored_without_audit_event"]:
            out.append(
                f"{kind}: {s['stored_without_audit_event']} stored rows without an audit event"
            )
        if not s["accepted"]:
            out.append(f"{kind}: no request was accepted")
    chart = r["stored"]["chart"]
    unaudited = (
        chart["read_audit_events"] < chart["accepted"]
        if crash
        else chart["read_audit_events"] != chart["accepted"]
    )
    if unaudited or not chart["accepted"]:
        out.append(
            f"chart: {chart['read_audit_events']} view audit events for {chart['accepted']} reads"
        )
    if not r["stored"]["verify_audit_ok"]:
        out.append(f"verify_audit failed: {r['stored'].get('verify_audit_error', '')}")
    if crash:
        return out
    if not r["memory"]:
        out.append("no worker memory sample")
    for m in r["memory"]:
        if m["end_mb"] > RSS_LIMIT_MB:
            out.append(
                f"worker {m['pid']}: {m['end_mb']} MB resident at the end (limit {RSS_LIMIT_MB})"
            )
        if m["growth"] > RSS_GROWTH:
            out.append(
                f"worker {m['pid']}: grew {m['growth']:.1%} after warm-up (limit {RSS_GROWTH:.0%})"
            )
    return out


def table(r: dict[str, Any]) -> str:
    lines = [
        f"{r['backend']}: {r['requests']:,} requests in {r['seconds']} s "
        f"({r['requests'] / r['seconds']:.0f}/s), {r['clients']} clients, {r['workers']} workers, "
        f"serving {r['serving']}{', keep-alive clients' if r['keep_alive'] else ''}"
        + (f", {r['sigkills']} workers SIGKILLed" if r.get("sigkills") is not None else ""),
        f"{'kind':<12}{'accepted':>10}{'stored':>9}{'audited':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}",
    ]
    for kind in KINDS:
        lat = r["latency_ms"].get(kind, {"p50": 0, "p99": 0, "max": 0})
        s = r["stored"].get(kind, {})
        if kind == "chart":
            stored, audited = "-", str(s.get("read_audit_events", 0))
        else:
            stored = str(s.get("stored", 0))
            audited = str(s.get("stored", 0) - s.get("stored_without_audit_event", 0))
        lines.append(
            f"{kind:<12}{r['accepted'].get(kind, 0):>10,}{stored:>9}{audited:>9}"
            f"{lat['p50']:>9.1f}{lat['p99']:>9.1f}{lat['max']:>9.1f}"
        )
    lines.append(
        f"5xx: {r['server_errors']}  no answer: {r['failed_connections']}  "
        f"'database is locked' in log: {r['log_database_is_locked']}  "
        f"tracebacks: {r['log_tracebacks']}  verify_audit: "
        f"{'ok' if r['stored']['verify_audit_ok'] else 'FAILED'}"
    )
    for m in r["memory"] if r.get("sigkills") is None else []:
        lines.append(
            f"worker {m['pid']}: RSS {m['after_warmup_mb']} MB after warm-up -> "
            f"{m['end_mb']} MB at the end ({m['growth']:+.1%}), peak {m['peak_mb']} MB"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=600, help="seconds of load")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers")
    p.add_argument(
        "--serving",
        default="production",
        help="serving stack: production (deploy/gunicorn.conf.py), sync, gthreadN (N threads)",
    )
    p.add_argument(
        "--keep-alive",
        action="store_true",
        help="clients reuse their connection while the server keeps it open",
    )
    p.add_argument(
        "--sigkill-workers",
        nargs=2,
        type=float,
        metavar=("MIN", "MAX"),
        help="SIGKILL a random worker every MIN to MAX seconds (the crash test over HTTP): "
        "then only acknowledged writes must all be stored, and memory is not judged",
    )
    p.add_argument("--patients", type=int, default=1000, help="patients in the loaded clinic")
    p.add_argument("--mix", default="5,3,2", help="weights of submission,chart,vitals")
    p.add_argument("--sample-every", type=float, default=5, help="seconds between RSS samples")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--postgres",
        metavar="URL",
        help="run on a scratch PostgreSQL database next "
        "to the one in URL (dropped afterwards) instead of SQLite",
    )
    args = p.parse_args(argv)
    try:
        stack(args.serving)
    except ValueError as exc:
        p.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="katclinic-soak-") as name:
        tmp = Path(name)
        if args.postgres:
            with postgres_database(args.postgres, f"katclinic_soak_{secrets.token_hex(4)}") as url:
                result = soak(args, tmp, "postgresql", url)
        else:
            result = soak(args, tmp, "sqlite", None)
    info["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    problems = failures(result)
    print()
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}; load average (1 min) before/after: "
        f"{info['load_average_1m']}/{info['load_average_1m_after']}"
    )
    print(table(result))
    for problem in problems:
        print(f"FAIL: {problem}")
    for sample in result["unexpected_samples"]:
        print(f"  unexpected answer: {sample}")
    print("PASS" if not problems else f"{len(problems)} check(s) failed")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"soak-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "at": stamp,
                "machine": info,
                "args": vars(args),
                "result": result,
                "failures": problems,
            },
            indent=1,
        )
    )
    print(f"results: {path.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
