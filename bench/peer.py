"""Side by side with GNU Health, the Python hospital system a clinic would otherwise run.

    make bench-peer
    .venv/bin/python bench/peer.py --install-timeout 900

Installs the `gnuhealth` server package into its own virtual environment under a temporary
directory (never into the app's). Where the peer cannot be installed or set up in reasonable
time, it says why and exits with status 0 (a skip, not a failure); the reason is printed on
one line starting with "peer skipped:".
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

PEER = "gnuhealth==5.0.6"


def skip(reason: str) -> None:
    print(f"peer skipped: {reason}")
    sys.exit(0)


def install(target: Path, timeout: float) -> Path:
    """A fresh venv with the peer installed; its python, or a skip with pip's last words."""
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    try:
        out = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", PEER],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        skip(f"installing {PEER} took longer than {timeout:.0f} s")
    if out.returncode != 0:
        last = (out.stderr or out.stdout).strip().splitlines()[-3:]
        skip(f"{PEER} could not be installed: {' | '.join(last)}")
    return python


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--install-timeout", type=float, default=900, help="seconds for pip")
    p.add_argument("--postgres", metavar="URL", help="the PostgreSQL server both systems use")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        skip("wrk is not installed (sudo apt-get install wrk); both sides are driven by it")
    if not args.postgres:
        skip("GNU Health runs on PostgreSQL; give --postgres URL (user with CREATE DATABASE)")
    with tempfile.TemporaryDirectory(prefix="katclinic-bench-peer-") as tmp:
        python = install(Path(tmp) / "venv", args.install_timeout)
        version = subprocess.run(
            [str(python), "-m", "pip", "show", "gnuhealth"], capture_output=True, text=True
        ).stdout
        print(next((ln for ln in version.splitlines() if ln.startswith("Version")), version))
        skip(
            "the peer installed, but its database set-up (trytond-admin with the health "
            "modules), seeding and load scenarios are not written yet, so no ratio is printed"
        )


if __name__ == "__main__":
    main()
