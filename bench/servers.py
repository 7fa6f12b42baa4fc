"""Start and stop the servers under test: the app under gunicorn, the baseline under uvicorn.

The app is served with the production config, deploy/gunicorn.conf.py; a serving stack
(`--serving`) changes only its worker class and threads, so stacks compared side by side
differ in nothing else (timeouts, keep-alive seconds, hooks, the metrics directory)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# Variables of the caller's shell that would point the app somewhere else.
STRIPPED = (
    "DATABASE_URL",
    "TEST_DATABASE_NAME",
    "SQLITE_PATH",
    "KATCLINIC_DEV",
    "KATCLINIC_DEMO",
    "KATCLINIC_TESTING",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env(data_dir: Path, database_url: str | None, secret_key: str) -> dict[str, str]:
    """Production settings (DEBUG off) on 127.0.0.1 without TLS."""
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
    env.update(
        {
            "SECRET_KEY": secret_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # No mail server here: alert emails (the demo raises some) go to DATA_DIR/outbox.
            "MAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - 127.0.0.1
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    sys.exit(f"server did not answer {url} within {timeout} s:\n{log.read_text()}")


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:<port>
    pid: int  # the server's main process; its workers are its descendants


@contextmanager
def serve_process(
    command: list[str],
    env: dict[str, str],
    ready_path: str,
    log: Path,
    port: int = 0,
    ready_within: float = 60,
) -> Iterator[Served]:
    """Run a server command whose `{port}` slot is filled (a free port when `port` is 0)."""
    port = port or free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base + ready_path, process, log, ready_within)
            yield Served(base, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def serve(
    command: list[str], env: dict[str, str], ready_path: str, log: Path, port: int = 0
) -> Iterator[str]:
    """As `serve_process`, yielding only the base URL."""
    with serve_process(command, env, ready_path, log, port) as served:
        yield served.base


DEPLOY_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
PRODUCTION = "production"


@dataclass(frozen=True)
class Stack:
    """One way of serving the app: the production config with some gunicorn options changed."""

    name: str
    options: tuple[str, ...]  # gunicorn options given after the config, so they win

    def env(self, env: dict[str, str], workdir: Path) -> dict[str, str]:
        """`env` with a metrics directory of this stack's own: the config empties it when
        the server starts, so two servers running side by side must not share one."""
        return env | {"PROMETHEUS_MULTIPROC_DIR": str(workdir / f"metrics-{self.name}")}


def stack(name: str) -> Stack:
    """A stack by name: `production` (deploy/gunicorn.conf.py as it is), `sync` (sync workers,
    each connection closed after its response), `gthreadN` (gthread workers with N threads,
    connections kept alive for the config's `keepalive` seconds)."""
    if name == PRODUCTION:
        return Stack(name, ())
    if name == "sync":
        return Stack(name, ("--worker-class", "sync"))
    threads = name.removeprefix("gthread")
    if name.startswith("gthread") and threads.isdigit() and int(threads) > 0:
        return Stack(name, ("--worker-class", "gthread", "--threads", threads))
    raise ValueError(f"unknown serving stack {name!r}: production, sync or gthreadN (N threads)")


def stacks(names: str) -> list[Stack]:
    """Stacks from a comma-separated list, such as "sync,gthread1,gthread4"."""
    chosen = [stack(n.strip()) for n in names.split(",") if n.strip()]
    if not chosen or len({s.name for s in chosen}) != len(chosen):
        raise ValueError(f"name each serving stack once: {names!r}")
    return chosen


def gunicorn_command(
    workers: int, serving: Stack | None = None, *, recycle: bool = True
) -> list[str]:
    """gunicorn with the production config (deploy/gunicorn.conf.py) and `workers` workers,
    changed as `serving` says; `recycle=False` turns off max_requests (the soak needs it)."""
    serving = serving or stack(PRODUCTION)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "katclinic.wsgi:application",
        "--config",
        str(DEPLOY_CONFIG),
        "--workers",
        str(workers),
        "--bind",
        "127.0.0.1:{port}",
        "--backlog",
        "2048",
        # gunicorn's control socket has one default path per user: servers side by side
        # (and any other gunicorn of that user) would take it from one another.
        "--no-control-socket",
        *serving.options,
    ]
    if not recycle:
        command += ["--max-requests", "0"]
    return command


def uvicorn_command(workers: int) -> list[str]:
    return [
        sys.executable,
        str(BENCH / "baseline_asgi.py"),
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ]
