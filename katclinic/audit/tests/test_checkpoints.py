"""Removing the newest audit events together with the chain head is detected by the signed
checkpoints kept outside the database (review finding: it passed before)."""

import json
import tempfile
from io import StringIO
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import override_settings

from katclinic.audit import checkpoints
from katclinic.audit import services as audit
from katclinic.audit.models import Action, AuditChainHead, AuditEvent
from katclinic.audit.services import verify_all
from katclinic.audit.tests.test_audit import disable_triggers
from katclinic.core import periodic
from katclinic.testing import ClinicTestCase


class CheckpointTest(ClinicTestCase):
    def setUp(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="kc-checkpoints-"))
        self.file = folder / "checkpoints.jsonl"
        override = override_settings(AUDIT_CHECKPOINT_FILE=str(self.file))
        override.enable()
        self.addCleanup(override.disable)
        for _ in range(5):
            audit.record(request=None, user=self.nick, action=Action.VIEW, clinic_id=self.clinic.pk)
        audit.seal()

    def verify(self, *args: str) -> str:
        out = StringIO()
        call_command("verify_audit", *args, stdout=out, stderr=out)
        return out.getvalue()

    def rewind_tail(self, keep: int) -> None:
        """What the review did: remove the newest events and move the head back to match."""
        disable_triggers()
        AuditEvent.objects.filter(chain=self.clinic.pk, seq__gt=keep).delete()
        kept = AuditEvent.objects.get(chain=self.clinic.pk, seq=keep)
        AuditChainHead.objects.filter(chain=self.clinic.pk).update(seq=keep, hash=kept.hash)

    def test_an_intact_trail_verifies_against_its_checkpoints(self) -> None:
        checkpoints.write_checkpoints()
        self.assertIn("verified against", self.verify())

    def test_the_chain_alone_cannot_see_a_rewound_tail_but_the_checkpoint_does(self) -> None:
        checkpoints.write_checkpoints()
        self.rewind_tail(keep=3)
        self.assertEqual(verify_all(), [])  # the hash chain is consistent on its own
        with self.assertRaisesMessage(CommandError, "FAILED"):
            self.verify()

    def test_the_report_names_the_missing_events(self) -> None:
        checkpoints.write_checkpoints()
        self.rewind_tail(keep=3)
        err = StringIO()
        with self.assertRaises(CommandError):
            call_command("verify_audit", stdout=StringIO(), stderr=err)
        self.assertIn(f"chain {self.clinic.pk}, event 4: events 4..5 are missing", err.getvalue())

    def test_an_emptied_chain_is_detected(self) -> None:
        checkpoints.write_checkpoints()
        disable_triggers()
        AuditEvent.objects.filter(chain=self.clinic.pk).delete()
        AuditChainHead.objects.filter(chain=self.clinic.pk).delete()
        with self.assertRaisesMessage(CommandError, "FAILED"):
            self.verify()

    def test_a_rebuilt_chain_is_detected(self) -> None:
        checkpoints.write_checkpoints()
        disable_triggers()
        AuditEvent.objects.filter(chain=self.clinic.pk).delete()
        AuditChainHead.objects.filter(chain=self.clinic.pk).update(seq=0, hash="0" * 64)
        for _ in range(6):
            audit.record(request=None, action=Action.VIEW, clinic_id=self.clinic.pk)
        self.assertEqual(verify_all(), [])
        with self.assertRaisesMessage(CommandError, "FAILED"):
            self.verify()

    def test_a_forged_checkpoint_line_is_reported(self) -> None:
        checkpoints.write_checkpoints()
        line = json.loads(self.file.read_text().splitlines()[-1])
        line["checkpoint"]["seq"] = 2
        with open(self.file, "a") as f:
            f.write(json.dumps(line) + "\n")
        err = StringIO()
        with self.assertRaisesMessage(CommandError, "1 bad checkpoint line"):
            call_command("verify_audit", stdout=StringIO(), stderr=err)
        self.assertIn("signature does not match", err.getvalue())

    def test_a_backup_manifest_carries_checkpoints_that_verify_reads(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="kc-backup-"))
        lines = [checkpoints.signed_line(h) for h in checkpoints.current_heads()]
        (folder / "manifest.json").write_text(json.dumps({"format": 1, "audit_checkpoints": lines}))
        self.assertIn("verified against 1 checkpoints", self.verify("--backup", str(folder)))
        self.rewind_tail(keep=4)
        with self.assertRaisesMessage(CommandError, "FAILED"):
            self.verify("--backup", str(folder))

    def test_without_checkpoints_the_report_says_what_it_cannot_see(self) -> None:
        self.assertIn("cannot be detected", self.verify())

    def test_the_worker_writes_checkpoints_periodically(self) -> None:
        self.assertIs(periodic.JOBS["audit.checkpoints"].task, checkpoints.write_checkpoints_task)
