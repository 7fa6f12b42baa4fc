"""`manage.py restore`: load a backup into an EMPTY database, then prove it: row counts,
checksums, the audit hash chain and the migration state must all match."""

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from katclinic.audit.services import verify_all
from katclinic.core import backup, outgoing


class Command(BaseCommand):
    help = "Restore a backup into an empty database and verify it before reporting success."
    # System checks may open the target database; nothing may touch it before the
    # emptiness check.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "backup", type=Path, help="A backup directory, or a directory of backups (newest used)."
        )
        parser.add_argument(
            "--key-file",
            default=os.environ.get("BACKUP_KEY_FILE", ""),
            help="The key the backup was encrypted with (default: BACKUP_KEY_FILE).",
        )
        parser.add_argument(
            "--allow-pending-migrations",
            action="store_true",
            help="Succeed even if this code has migrations the backup lacks "
            "(run `manage.py migrate` afterwards).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            source = backup.find_backup(options["backup"])
            manifest = backup.read_manifest(source)
            key = backup.load_key(options["key_file"]) if options["key_file"] else None
            self._load(source, manifest, key)
        except backup.BackupError as exc:
            raise CommandError(f"restore FAILED: {exc}") from exc
        problems = self._verify(manifest, options["allow_pending_migrations"])
        for problem in problems:
            self.stderr.write(f"  {problem}")
        if problems:
            raise CommandError(
                f"restore FAILED verification with {len(problems)} problem(s); "
                "do not use this database"
            )
        # The backup's queued reminders and emails stay queued, but nothing is sent until
        # an operator says this copy is the one patients should hear from.
        outgoing.hold(reason=f"restored from backup {source.name}")
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            f"restored {source.name}: {len(manifest['tables'])} tables and {rows} rows match "
            "the backup's counts and checksums; audit chain intact; migrations match"
        )
        self.stdout.write(
            "outgoing reminders and emails are HELD: run `manage.py release_outgoing` "
            "once this server is the one patients should hear from"
        )

    def _load(self, source: Path, manifest: dict[str, Any], key: backup.BackupKey | None) -> None:
        target = connections["default"]
        if manifest["vendor"] != target.vendor:
            raise backup.BackupError(
                f"this is a {manifest['vendor']} backup; the configured database is {target.vendor}"
            )
        backup.check_stored_files(source, manifest)
        tables = backup.existing_tables()
        if tables:
            raise backup.BackupError(
                f"the target database already has {len(tables)} table(s). Restore only into a "
                "new, empty database: create one (or point SQLITE_PATH at a new file) and run "
                "this again. Nothing was changed."
            )
        with backup.plain_copy(source, manifest, key) as plain:
            backup.load(plain, manifest["vendor"])
        self.stdout.write(f"loaded {source.name}; verifying")

    def _verify(self, manifest: dict[str, Any], allow_pending: bool) -> list[str]:
        connections["default"].close()
        tables, migrations = backup.restored_state(manifest["vendor"])
        problems = backup.compare(manifest, tables, migrations)
        problems += [f"audit chain {p.chain}, event {p.seq}: {p.problem}" for p in verify_all()]
        unknown = backup.unknown_migrations()
        if unknown:
            problems.append(f"the backup has migrations this code lacks: {', '.join(unknown)}")
        pending = backup.migrations_to_apply()
        if pending and not allow_pending:
            problems.append(
                f"{len(pending)} migration(s) of this code are not in the backup "
                f"(first: {pending[0]}); restore with the same release, or pass "
                "--allow-pending-migrations and run migrate"
            )
        return problems
