from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from katclinic.audit import checkpoints
from katclinic.audit.models import AuditEvent
from katclinic.audit.services import ids_are_never_skipped, seal, skipped_ids, verify_all, waiting
from katclinic.core.backup import read_manifest


class Command(BaseCommand):
    help = (
        "Seal the audit events waiting, recompute every audit hash chain and compare it with "
        "the signed checkpoints kept outside the database; report any altered, removed or "
        "inserted event, and how many events wait to be sealed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-seal",
            action="store_true",
            help="check the chains as they are, without sealing the events waiting first",
        )
        parser.add_argument(
            "--checkpoints",
            action="append",
            type=Path,
            default=[],
            help="a checkpoint file (for example the copy shipped off this machine); "
            "repeatable; the configured AUDIT_CHECKPOINT_FILE is always read",
        )
        parser.add_argument(
            "--backup",
            action="append",
            type=Path,
            default=[],
            help="a backup folder whose manifest's checkpoints are checked too",
        )

    def _checkpoints(
        self, options: dict[str, Any]
    ) -> tuple[list[checkpoints.Checkpoint], list[str]]:
        found, bad = checkpoints.load_file(checkpoints.checkpoint_file())
        for path in options["checkpoints"]:
            if not path.exists():
                raise CommandError(f"--checkpoints: {path} does not exist")
            more, worse = checkpoints.load_file(path)
            found, bad = found + more, bad + worse
        for folder in options["backup"]:
            lines = read_manifest(folder).get("audit_checkpoints", [])
            more, worse = checkpoints.read_checkpoints(list(lines))
            found, bad = found + more, bad + worse
        return found, bad

    def _waiting(self) -> None:
        """How far sealing is behind, and (on PostgreSQL) the ids skipped, which rolled-back
        transactions leave as well as removed events do."""
        left = waiting()
        if left.oldest is None:
            self.stdout.write("no audit events wait to be sealed")
        else:
            age = (timezone.now() - left.oldest).total_seconds()
            self.stdout.write(
                f"{left.count} audit event(s) wait to be sealed; the oldest for {age:.0f} s"
            )
        if not ids_are_never_skipped():
            gaps = skipped_ids()
            skipped = sum(last - first + 1 for first, last in gaps)
            self.stdout.write(
                f"{skipped} event id(s) skipped in {len(gaps)} run(s) (rolled-back "
                "transactions skip ids; an event removed before sealing would too)"
            )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_seal"]:
            seal()
        self._waiting()
        problems = [(p.chain, p.seq, p.problem) for p in verify_all()]
        found, bad = self._checkpoints(options)
        problems += [(p.chain, p.seq, p.problem) for p in checkpoints.check_against(found)]
        for line in bad:
            self.stderr.write(f"checkpoint {line}")
        for chain, seq, problem in problems:
            self.stderr.write(f"chain {chain}, event {seq}: {problem}")
        if problems or bad:
            raise CommandError(
                f"audit trail check FAILED: {len(problems)} problem(s), "
                f"{len(bad)} bad checkpoint line(s)"
            )
        count = AuditEvent.objects.count()
        if not found:
            self.stdout.write(
                f"audit trail intact: {count} events verified; no checkpoints found, so the "
                "removal of the newest events together with the chain head cannot be detected"
            )
            return
        newest = max(cp.at for cp in found)
        self.stdout.write(
            f"audit trail intact: {count} events verified against {len(found)} checkpoints "
            f"(newest {newest})"
        )
