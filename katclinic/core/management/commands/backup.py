"""`manage.py backup`: an online, consistent backup with a manifest, optional encryption
and retention. See katclinic/core/backup.py for the format and deploy/README.md for use."""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from katclinic.core import backup


def default_dir() -> Path:
    return Path(os.environ.get("BACKUP_DIR") or settings.DATA_DIR / "backups")


class Command(BaseCommand):
    help = "Back up the database while the clinic keeps working, with a verifiable manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="Where backups go (default: BACKUP_DIR, else DATA_DIR/backups).",
        )
        parser.add_argument(
            "--key-file",
            default=os.environ.get("BACKUP_KEY_FILE", ""),
            help="Encrypt to the age key in this file, secret or public only "
            "(default: BACKUP_KEY_FILE).",
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help="Afterwards, delete the oldest backups beyond this many.",
        )
        parser.add_argument(
            "--generate-key",
            type=Path,
            metavar="PATH",
            default=None,
            help="Write a new age key to PATH (readable by owner only) and exit. "
            "Keep a copy away from the backups.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate_key"]:
            self._generate_key(options["generate_key"])
            return
        if options["keep"] is not None and options["keep"] < 1:
            raise CommandError("--keep must be at least 1")
        root = options["dir"] or default_dir()
        try:
            key = backup.load_key(options["key_file"]) if options["key_file"] else None
            made = backup.create_backup(root, key=key)
            removed = backup.prune(root, options["keep"]) if options["keep"] else []
        except backup.BackupError as exc:
            raise CommandError(f"backup FAILED: {exc}") from exc
        manifest = backup.read_manifest(made)
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            f"backup written to {made}: {len(manifest['tables'])} tables, {rows} rows, "
            f"{'encrypted' if key else 'NOT encrypted'}, {manifest['duration_seconds']} s"
        )
        for path in removed:
            self.stdout.write(f"removed old backup {path.name}")

    def _generate_key(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{path} exists; refusing to overwrite a key") from None
        with os.fdopen(fd, "w") as f:
            f.write(backup.generate_key_text())
        key = backup.load_key(path)
        self.stdout.write(
            f"new backup key written to {path}; its public key is {key.public}. "
            "Keep a copy of the file away from the backups: a restore needs it."
        )
