"""Install, set up, seed and serve the peer (GNU Health 5.0.6 on trytond 7.0).

Raises `PeerSkip` with a one-line reason wherever the peer cannot be had; peer.py prints it
as "peer skipped: <reason>" and exits 0.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.parse
import urllib.request
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from servers import BENCH, ROOT, Served, free_port, wait_ready

PEER = "gnuhealth==5.0.6"
# The peer's database driver and the same WSGI server as the app (requirements.txt).
EXTRAS = ("psycopg2-binary==2.9.*", "gunicorn==27.0.*")
# The smallest module set holding patients and their evaluations with vital signs:
# `health` (gnuhealth.patient, gnuhealth.patient.evaluation) and what it depends on.
MODULES = ("health",)
ADMIN_PASSWORD = "bench-peer-admin"  # noqa: S105 - a scratch database on 127.0.0.1


class PeerSkip(Exception):
    """The peer cannot be measured; the message says why, in one line."""


def run(command: list[str], timeout: float, what: str, **kwargs: Any) -> str:
    try:
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
    except subprocess.TimeoutExpired:
        raise PeerSkip(f"{what} took longer than {timeout:.0f} s") from None
    if out.returncode != 0:
        last = (out.stderr or out.stdout).strip().splitlines()[-3:]
        raise PeerSkip(f"{what} failed: {' | '.join(last)}")
    return out.stdout


def installed_version(python: Path) -> str:
    if not python.exists():
        return ""
    out = subprocess.run(
        [str(python), "-m", "pip", "show", "gnuhealth"], capture_output=True, text=True
    )
    return next((ln.split()[-1] for ln in out.stdout.splitlines() if ln.startswith("Version")), "")


def install(target: Path, timeout: float) -> Path:
    """The peer's venv (reused when it already holds the peer); its python."""
    python = target / "bin" / "python"
    if installed_version(python) == PEER.split("==")[1]:
        print(f"  reusing {PEER} in {target}", flush=True)
        return python
    print(f"  installing {PEER} into {target} ...", flush=True)
    venv.create(target, with_pip=True)
    run([str(python), "-m", "pip", "install", "--quiet", PEER, *EXTRAS], timeout, f"pip {PEER}")
    return python


def trytond_config(tmp: Path, postgres: str) -> Path:
    # trytond picks its backend by the scheme: postgresql://, never postgres://.
    server = urllib.parse.urlparse(postgres)._replace(scheme="postgresql", path="/").geturl()
    path = tmp / "trytond.conf"
    path.write_text(f"[database]\nuri = {server}\n\n[session]\ntimeout = 36000\n")
    return path


def peer_env(config: Path, tmp: Path, database: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYTON", "DATABASE_URL"))}
    password = tmp / "admin-password"
    password.write_text(ADMIN_PASSWORD + "\n")
    env |= {"TRYTOND_CONFIG": str(config), "TRYTONPASSFILE": str(password)}
    if database:
        env["TRYTOND_DATABASE_NAMES"] = database  # each worker loads its pool at start
    return env


def build_database(
    python: Path, config: Path, tmp: Path, database: str, seed: dict[str, int], timeout: float
) -> dict[str, Any]:
    """trytond-admin with the health modules on an empty `database`, then the seed."""
    admin = python.parent / "trytond-admin"
    env = peer_env(config, tmp)
    print(f"  trytond-admin -d {database} -u {' '.join(MODULES)} ...", flush=True)
    command = [str(admin), "-c", str(config), "-d", database, "--all", "--email", "a@b.invalid"]
    command += ["-u", *MODULES, "--activate-dependencies"]
    run(command, timeout, "trytond-admin", env=env)
    print(f"  seeding {seed['patients']:,} patients ...", flush=True)
    command = [str(python), str(BENCH / "peer_seed.py"), "--config", str(config)]
    command += ["--database", database, "--patients", str(seed["patients"])]
    command += ["--evaluations", str(seed["evaluations"])]
    out = run(command, timeout, "seeding the peer", env=env)
    seeded: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return seeded


def gunicorn_command(python: Path, workers: int) -> list[str]:
    return [
        str(python.parent / "gunicorn"),
        "trytond.application:app",
        "--worker-class",
        "sync",
        "--workers",
        str(workers),
        "--bind",
        "127.0.0.1:{port}",
        "--backlog",
        "2048",
    ]


def rpc(base: str, database: str, method: str, params: list[Any], auth: str = "") -> Any:
    """One JSON-RPC call; the result, or PeerSkip with the peer's error."""
    headers = {"Content-Type": "application/json"} | ({"Authorization": auth} if auth else {})
    body = json.dumps({"id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(f"{base}/{database}/", body, headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1
        answer = json.loads(response.read())
    if "error" in answer:
        raise PeerSkip(f"the peer refused {method}: {str(answer['error'])[:200]}")
    return answer["result"]


def login(base: str, database: str) -> str:
    """A session for the admin user, as the Authorization header value."""
    user, key = rpc(
        base, database, "common.db.login", ["admin", {"password": ADMIN_PASSWORD}, "en"]
    )
    token = base64.b64encode(f"admin:{user}:{key}".encode()).decode()
    return f"Session {token}"


@contextmanager
def serve(
    command: list[str], env: dict[str, str], ready_path: str, log: Path, ready_within: float
) -> Iterator[Served]:
    """As servers.serve_process, allowing `ready_within` seconds for the first answer: on a
    busy shared machine a worker's first request (imports, URLconf) can take over a minute."""
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command] + ["--timeout", "600"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base + ready_path, process, log, timeout=ready_within)
            yield Served(base, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
