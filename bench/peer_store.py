"""The peer's PostgreSQL databases: a seeded template, and a copy of it for each run.

Setting the peer up (`trytond-admin` with the health modules, then the seed) takes minutes,
so it goes into a template database; each run measures a fresh copy of it and drops the
copy afterwards. With `--peer-venv DIR` the template is kept, and DIR/seed.json names it,
so the next run starts from the copy; without it the template is dropped too.
"""

from __future__ import annotations

import argparse
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from peer_setup import PEER, PeerSkip, build_database


def admin_connection(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0]
        raise PeerSkip(f"PostgreSQL at {url} cannot be reached: {first}") from None


def database_url(url: str, name: str) -> str:
    return urllib.parse.urlparse(url)._replace(path=f"/{name}").geturl()


def stored_evaluations(url: str, database: str) -> int:
    with psycopg.connect(database_url(url, database)) as conn:
        row = conn.execute("SELECT count(*) FROM gnuhealth_patient_evaluation").fetchone()
    return int(row[0]) if row else 0


def _exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
    )


def _reusable(args: argparse.Namespace, conn: psycopg.Connection[Any], template: str) -> Any:
    """The seed recorded for `template` when it can be reused, else None."""
    if not args.peer_venv:
        return None
    stamp = Path(args.peer_venv) / "seed.json"
    if not stamp.exists() or not _exists(conn, template):
        return None
    recorded = json.loads(stamp.read_text())
    return recorded["seed"] if recorded.get("template") == template else None


def seeded_template(
    args: argparse.Namespace, conn: psycopg.Connection[Any], python: Path, tmp: Path
) -> tuple[str, dict[str, Any]]:
    template = f"{args.database}_seed_{args.patients}x{args.evaluations}"
    if (seed := _reusable(args, conn, template)) is not None:
        print(f"  reusing the seeded database {template}", flush=True)
        return template, seed
    conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{template}"')
    counts = {"patients": args.patients, "evaluations": args.evaluations}
    try:
        seed = build_database(
            python, tmp / "trytond.conf", tmp, template, counts, args.setup_timeout
        )
    except BaseException:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        raise
    if args.peer_venv:
        stamp = {"template": template, "peer": PEER, "seed": seed}
        (Path(args.peer_venv) / "seed.json").write_text(json.dumps(stamp))
    return template, seed


@contextmanager
def peer_database(
    args: argparse.Namespace, python: Path, tmp: Path
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A fresh copy of the seeded template as `args.database`; dropped afterwards."""
    conn = admin_connection(args.postgres)
    template, seed = seeded_template(args, conn, python, tmp)
    name = args.database
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield name, seed
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not args.peer_venv:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        conn.close()
