"""A real demo server and a headless Chromium for browser tests.

Browser tests cannot use Django's LiveServerTestCase: it empties every table between tests
with DELETE, and the audit table refuses DELETE by trigger. Instead `demo_server()` builds
a throwaway demo clinic in a temporary data folder with the same commands a developer runs
(`migrate`, `seed_demo`), serves it with `runserver` in a subprocess, and removes it all
afterwards. Tests then talk to it only over HTTP, as a user's browser would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

BASE_DIR = Path(__file__).resolve().parents[3]  # katclinic/core/tests/browser.py -> the checkout
ARTIFACTS = BASE_DIR / "test-artifacts"
# Debian's Chromium; tests never download a browser build of their own.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Settings that would point the subprocess at the test run's own database.
_INHERITED_DATABASE_VARS = ("DATABASE_URL", "TEST_DATABASE_NAME", "SQLITE_PATH")
STARTUP_SECONDS = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """End a server started for a test: SIGTERM, then SIGKILL if it has not gone in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def demo_environment(data_dir: Path) -> dict[str, str]:
    """The environment of a local demo server whose data lives in `data_dir`."""
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_DATABASE_VARS}
    env.pop("KATCLINIC_TESTING", None)
    env.update({"KATCLINIC_DEV": "1", "DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /healthz until the server answers; fail with its log if it dies or stalls."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the demo server exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2):  # noqa: S310 - http on 127.0.0.1
                return
        except urllib.error.HTTPError:
            return  # it answers: "degraded" (no worker) still means it serves pages
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(
        f"the demo server did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}"
    )


@dataclass(frozen=True)
class Install:
    """A served install; the emails it sends are files in `outbox`."""

    base_url: str
    outbox: Path


EmptyInstall = Install  # an install with no organization yet


@contextmanager
def demo_server(port: int | None = None) -> Iterator[str]:
    """Yield the base URL of a freshly seeded demo clinic served on 127.0.0.1.

    With `port`, it serves there and knows the port (PORT), as `make run` does: passkeys then
    work at http://localhost:PORT, the one plain-http origin browsers allow them on.
    """
    with demo_install(port) as install:
        yield install.base_url


@contextmanager
def demo_install(port: int | None = None) -> Iterator[Install]:
    """A freshly seeded demo clinic served on 127.0.0.1, with the folder its emails go to."""
    with tempfile.TemporaryDirectory(prefix="katclinic-browser-") as tmp:
        data_dir = Path(tmp)
        env = demo_environment(data_dir)
        if port is not None:
            env["PORT"] = str(port)
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        with _serve(env, data_dir, port) as base_url:
            yield Install(base_url=base_url, outbox=data_dir / "outbox")


@contextmanager
def empty_server() -> Iterator[EmptyInstall]:
    """Serve a migrated install with nothing in it (no demo), whose first-run page opens
    from 127.0.0.1, as an operator finds it right after `migrate`."""
    with tempfile.TemporaryDirectory(prefix="katclinic-browser-") as tmp:
        data_dir = Path(tmp)
        env = demo_environment(data_dir)
        env["KATCLINIC_SETUP_FROM"] = "127.0.0.1"
        _manage(env, "migrate", "--noinput")
        with _serve(env, data_dir) as base_url:
            yield EmptyInstall(base_url=base_url, outbox=data_dir / "outbox")


@contextmanager
def _serve(env: dict[str, str], data_dir: Path, port: int | None = None) -> Iterator[str]:
    """Run `runserver` on `port` (or a free one) with `env` until the block ends; yield its
    base URL."""
    port = port or free_port()
    log = data_dir / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
            [
                sys.executable,
                str(BASE_DIR / "manage.py"),
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
            ],
            env=env,
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_healthy(base_url, server, log)
            yield base_url
        finally:
            stop(server, timeout=10)


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
