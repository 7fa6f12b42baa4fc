"""Start and stop the servers under test: the app under gunicorn, the baseline under uvicorn."""

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
    command: list[str], env: dict[str, str], ready_path: str, log: Path, port: int = 0
) -> Iterator[Served]:
    """Run a server command whose `{port}` slot is filled (a free port when `port` is 0)."""
    port = port or free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base + ready_path, process, log)
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


def gunicorn_command(workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "katclinic.wsgi:application",
        "--worker-class",
        "sync",
        "--workers",
        str(workers),
        "--bind",
        "127.0.0.1:{port}",
        "--backlog",
        "2048",
    ]


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
