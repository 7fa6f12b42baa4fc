"""Online backups of the clinic database, and restores that prove they reproduced them.

A backup is one directory, named for the moment it was taken (UTC):

    <backup dir>/20260105T020000.123456Z/
        manifest.json        per-table row counts and checksums, migrations, file digests
        database.sqlite3     SQLite: a copy made with SQLite's online backup API
        database.pgdump      PostgreSQL: `pg_dump --format=custom` of an exported snapshot
                             (either one ends in `.age` when encrypted with the clinic's key;
                             see backup_crypto.py for the format and why)

The table checksums describe exactly the data in the backup: for SQLite they are computed
from the copy, for PostgreSQL inside the same REPEATABLE READ snapshot that pg_dump reads.
A restore recomputes them on the restored database and must match every one.

A table checksum is the sum, modulo 2**256, of the SHA-256 of each row's JSON encoding.
Being a sum it does not depend on row order, so it needs no sort and cannot be upset by
a different collation on the server that receives the restore. It detects lost, added or
altered rows; tampering with intent is what the audit hash chain is for.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from psycopg import sql

from katclinic.audit.checkpoints import current_heads, signed_line
from katclinic.audit.services import seal
from katclinic.core.backup_crypto import (
    AGE_SUFFIX,
    BackupError,
    BackupKey,
    decrypt,
    encryption_record,
    generate_key_text,
    load_key,
    require_recipient,
    store,
)

__all__ = ["BackupError", "BackupKey", "generate_key_text", "load_key"]

FORMAT = 1
MANIFEST = "manifest.json"
STAMP = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")
CHUNK = 1 << 20
MODULUS = 1 << 256

Fingerprints = dict[str, dict[str, Any]]
Migrations = dict[str, list[str]]


# Checksums ---------------------------------------------------------------------------


def _jsonable(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)  # dates, decimals and UUIDs: their canonical text


def fingerprint_rows(rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    total = count = 0
    for row in rows:
        encoded = json.dumps(list(row), default=_jsonable, sort_keys=True, separators=(",", ":"))
        total = (total + int.from_bytes(hashlib.sha256(encoded.encode()).digest())) % MODULUS
        count += 1
    return {"rows": count, "checksum": f"{total:064x}"}


def _migrations(rows: Iterable[Sequence[Any]]) -> Migrations:
    state: Migrations = {}
    for app, name in rows:
        state.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(state.items())}


def sqlite_state(path: Path) -> tuple[Fingerprints, Migrations]:
    """Checksums and applied migrations of a SQLite file, read in one snapshot."""
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        conn.execute("BEGIN")
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        sums = {
            t: fingerprint_rows(conn.execute(f'SELECT * FROM "{t.replace('"', '""')}"'))  # noqa: S608 - names come from sqlite_master
            for t in tables
        }
        migrations = _migrations(conn.execute("SELECT app, name FROM django_migrations"))
        conn.rollback()
    return sums, migrations


def pg_state(conn: Any) -> tuple[Fingerprints, Migrations]:
    """Checksums and applied migrations, in the transaction `conn` has open."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
    ]
    sums: Fingerprints = {}
    for number, table in enumerate(tables):
        # A server-side cursor streams big tables instead of loading them whole.
        with conn.cursor(name=f"katclinic_fingerprint_{number}") as cursor:
            cursor.itersize = 5000
            cursor.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
            sums[table] = fingerprint_rows(cursor)
    migrations = _migrations(conn.execute("SELECT app, name FROM django_migrations"))
    return sums, migrations


# Encryption --------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# PostgreSQL connection details -------------------------------------------------------


def pg_params(alias: str = "default") -> dict[str, str]:
    s = connections[alias].settings_dict
    params = {
        "dbname": s["NAME"],
        "user": s.get("USER"),
        "password": s.get("PASSWORD"),
        "host": s.get("HOST"),
        "port": str(s.get("PORT") or ""),
        "sslmode": s.get("OPTIONS", {}).get("sslmode"),
    }
    return {k: v for k, v in params.items() if v}


def pg_env(params: dict[str, str]) -> dict[str, str]:
    """libpq's variables, so that no password appears on a command line."""
    names = {
        "dbname": "PGDATABASE",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "host": "PGHOST",
        "port": "PGPORT",
        "sslmode": "PGSSLMODE",
    }
    return {**os.environ, **{names[k]: v for k, v in params.items()}}


def pg_connect(params: dict[str, str]) -> Any:
    conninfo: dict[str, Any] = {**params, "options": "-c TimeZone=UTC"}
    return psycopg.connect(**conninfo)


def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found: install the PostgreSQL client tools")
    return path


# Taking a backup ---------------------------------------------------------------------


@dataclass
class Taken:
    tables: Fingerprints
    migrations: Migrations
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    tool: str = ""


def _backup_sqlite(work: Path, key: BackupKey | None, alias: str) -> Taken:
    live = Path(connections[alias].settings_dict["NAME"])
    # The plain copy sits beside the live database (same protection) until encrypted.
    fd, name = tempfile.mkstemp(prefix=".backup-", suffix=".sqlite3", dir=live.parent)
    os.close(fd)
    copy = Path(name)
    try:
        with closing(sqlite3.connect(live, timeout=30)) as src:
            with closing(sqlite3.connect(copy)) as dst:
                # One step (pages=-1) copies under a single read snapshot: with WAL,
                # writers carry on meanwhile and the copy is consistent.
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
                check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy failed SQLite's integrity check: {check}")
        tables, migrations = sqlite_state(copy)
        target = "database.sqlite3" + (AGE_SUFFIX if key else "")
        with open(copy, "rb") as f:
            info = store(work / target, f, key)
        return Taken(tables, migrations, {target: info}, f"sqlite {sqlite3.sqlite_version}")
    finally:
        copy.unlink(missing_ok=True)


def _backup_postgres(work: Path, key: BackupKey | None, alias: str) -> Taken:
    params = pg_params(alias)
    target = "database.pgdump" + (AGE_SUFFIX if key else "")
    with closing(pg_connect(params)) as conn, tempfile.TemporaryFile() as errors:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        dump = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [pg_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-password"],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=pg_env(params),
        )
        stored: dict[str, dict[str, int | str]] = {}
        copier = threading.Thread(
            target=_store_into, args=(stored, work / target, dump.stdout, key), daemon=True
        )
        copier.start()
        # The checksums are read in the exported snapshot while pg_dump reads it too.
        tables, migrations = pg_state(conn)
        copier.join()
        code = dump.wait()
        conn.rollback()
        if target not in stored:
            reason = stored.get("error", {}).get("message", "")
            raise BackupError(f"{target} could not be written: {reason}")
        info = stored[target]
        if code != 0:
            errors.seek(0)
            raise BackupError(f"pg_dump failed ({code}): {errors.read().decode()[-2000:]}")
    version = subprocess.run(  # noqa: S603
        [pg_tool("pg_dump"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Taken(tables, migrations, {target: info}, version)


def _store_into(
    out: dict[str, dict[str, int | str]], path: Path, source: IO[bytes], key: BackupKey | None
) -> None:
    """`store` on a thread: the result (or the error's message) lands in `out`."""
    try:
        out[path.name] = store(path, source, key)
    except (BackupError, OSError) as exc:
        out["error"] = {"message": str(exc)}
        while source.read(CHUNK):  # let pg_dump finish rather than block on a full pipe
            pass


def app_version() -> str:
    try:
        with open(settings.BASE_DIR / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def create_backup(root: Path, *, key: BackupKey | None, alias: str = "default") -> Path:
    """Take a backup into a new directory under `root` and return that directory.

    The directory appears under its final name only when complete, so a crash midway
    leaves a `.partial-*` directory that no restore or retention will mistake for a backup.
    """
    require_recipient(key)
    vendor = connections[alias].vendor
    started = timezone.now()
    stamp = started.strftime("%Y%m%dT%H%M%S.%fZ")
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    work = root / f".partial-{stamp}"
    work.mkdir(mode=0o700)
    seal()  # the manifest's heads then cover every event appended before the backup
    heads = [signed_line(head) for head in current_heads()]
    try:
        if vendor == "sqlite":
            taken = _backup_sqlite(work, key, alias)
        elif vendor == "postgresql":
            taken = _backup_postgres(work, key, alias)
        else:
            raise BackupError(f"backups of {vendor} databases are not supported")
        manifest = {
            "format": FORMAT,
            "created_at": started.isoformat(),
            "vendor": vendor,
            "app_version": app_version(),
            "tool": taken.tool,
            "duration_seconds": round((timezone.now() - started).total_seconds(), 3),
            "encryption": encryption_record(key),
            "migrations": taken.migrations,
            "tables": taken.tables,
            "files": taken.files,
            # The audit chains' heads just before the copy, signed, so a restore (or
            # verify_audit --backup) can tell that no event up to them was removed.
            "audit_checkpoints": heads,
        }
        with open(work / MANIFEST, "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        final = root / stamp
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def complete_backups(root: Path) -> list[Path]:
    """Finished backups under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if STAMP.match(p.name) and (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: p.name)


def prune(root: Path, keep: int) -> list[Path]:
    """Delete the oldest finished backups beyond the newest `keep`."""
    if keep < 1:
        raise BackupError("--keep must be at least 1")
    doomed = complete_backups(root)[:-keep]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


# Restoring ---------------------------------------------------------------------------


def find_backup(path: Path) -> Path:
    """`path` itself if it is a backup, else the newest backup inside it."""
    if (path / MANIFEST).is_file():
        return path
    found = complete_backups(path)
    if not found:
        raise BackupError(f"no backup found at {path}")
    return found[-1]


def read_manifest(backup: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((backup / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {backup / MANIFEST}: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def check_stored_files(backup: Path, manifest: dict[str, Any]) -> None:
    for name, info in manifest["files"].items():
        path = backup / name
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup")
        if sha256_file(path) != info["sha256"]:
            raise BackupError(f"{name} does not match its SHA-256 in the manifest")


@contextmanager
def plain_copy(backup: Path, manifest: dict[str, Any], key: BackupKey | None) -> Iterator[Path]:
    """The database file in the clear (decrypted into a temporary directory if needed)."""
    (name,) = manifest["files"]
    stored = backup / name
    encryption = manifest.get("encryption")
    if not encryption:
        yield stored
        return
    if key is None:
        raise BackupError("this backup is encrypted: give --key-file or BACKUP_KEY_FILE")
    with tempfile.TemporaryDirectory(dir=settings.DATA_DIR, prefix=".restore-") as tmp:
        plain = Path(tmp) / name.removesuffix(AGE_SUFFIX).removesuffix(".enc")
        decrypt(stored, plain, encryption, key)
        if sha256_file(plain) != manifest["files"][name]["content_sha256"]:
            raise BackupError(f"{name} decrypted to content that does not match the manifest")
        yield plain


def existing_tables(alias: str = "default") -> list[str]:
    """Tables in the target database, looked at without creating anything."""
    conn = connections[alias]
    if conn.vendor == "sqlite":
        path = Path(conn.settings_dict["NAME"])
        if not path.exists() or path.stat().st_size == 0:
            return []
        with closing(sqlite3.connect(path)) as raw:
            return [
                r[0]
                for r in raw.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
    return list(conn.introspection.table_names())


def load(plain: Path, vendor: str, alias: str = "default") -> None:
    """Put the backup's content into the (empty) target database."""
    conn = connections[alias]
    conn.close()
    if vendor == "sqlite":
        target = Path(conn.settings_dict["NAME"])
        staging = target.with_name(target.name + ".restoring")
        staging.unlink(missing_ok=True)
        with closing(sqlite3.connect(plain)) as src, closing(sqlite3.connect(staging)) as dst:
            src.backup(dst)
        # The target holds no tables (checked before): an empty file and any WAL left by a
        # connection that opened it must go, or SQLite would replay that WAL into the copy.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        staging.rename(target)
        return
    params = pg_params(alias)
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={params['dbname']}",
            str(plain),
        ],
        capture_output=True,
        text=True,
        env=pg_env(params),
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr[-2000:]}")


def restored_state(vendor: str, alias: str = "default") -> tuple[Fingerprints, Migrations]:
    conn = connections[alias]
    if vendor == "sqlite":
        return sqlite_state(Path(conn.settings_dict["NAME"]))
    with closing(pg_connect(pg_params(alias))) as raw:
        state = pg_state(raw)
        raw.rollback()
    return state


def compare(manifest: dict[str, Any], tables: Fingerprints, migrations: Migrations) -> list[str]:
    """Every way the restored database differs from what the manifest says was backed up."""
    problems = []
    expected: Fingerprints = manifest["tables"]
    for name in sorted(set(expected) | set(tables)):
        want, got = expected.get(name), tables.get(name)
        if want is None or got is None:
            problems.append(f"table {name}: {'missing' if got is None else 'not in the backup'}")
        elif want["rows"] != got["rows"]:
            problems.append(f"table {name}: {got['rows']} rows, the backup had {want['rows']}")
        elif want["checksum"] != got["checksum"]:
            problems.append(f"table {name}: checksum differs from the backup's")
    if migrations != manifest["migrations"]:
        problems.append("applied migrations differ from the backup's")
    return problems


def migrations_to_apply(alias: str = "default") -> list[str]:
    """Migrations this code has that the restored database lacks."""
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def unknown_migrations(alias: str = "default") -> list[str]:
    """Migrations applied in the database that this code does not have (a newer backup)."""
    executor = MigrationExecutor(connections[alias])
    known = set(executor.loader.graph.nodes)
    return sorted(f"{a}.{n}" for a, n in executor.loader.applied_migrations if (a, n) not in known)
