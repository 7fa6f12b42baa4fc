"""Checkpoints of the audit chains kept outside the database.

The hash chain shows an altered or removed event in the middle, but not the newest events
removed together with the chain head: whoever owns the database can rewind both. So the
worker writes, every few minutes, each chain's head (sequence number, hash, time) as one
signed line to a file outside the database (and to the log, which the operator ships off
the machine), and every backup manifest carries the same lines. `verify_audit` checks the
database against them: an event named by a checkpoint must still be there with that hash.

What this detects: removal of any event up to the newest checkpoint, a rewound or reset
chain, a replaced chain, a forged checkpoint line. What it does not: events written after
the newest checkpoint that are removed before the next one (at most one interval, the
setting AUDIT_CHECKPOINT_MINUTES), or an attacker who holds both the database and the
signing key and rewrites the file on this machine too; keep a copy off the machine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from katclinic.audit.models import AuditChainHead, AuditEvent
from katclinic.audit.services import seal

log = logging.getLogger("katclinic.audit.checkpoint")


@dataclass(frozen=True)
class Checkpoint:
    chain: int
    seq: int
    hash: str
    at: str

    def payload(self) -> str:
        return json.dumps(
            {"chain": self.chain, "seq": self.seq, "hash": self.hash, "at": self.at},
            sort_keys=True,
            separators=(",", ":"),
        )


def _signature(payload: str) -> str:
    key = ("checkpoint|" + settings.AUDIT_HMAC_KEY).encode()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def signed_line(checkpoint: Checkpoint) -> str:
    payload = checkpoint.payload()
    return json.dumps({"checkpoint": json.loads(payload), "sig": _signature(payload)})


def current_heads() -> list[Checkpoint]:
    at = timezone.now().astimezone(UTC).isoformat(timespec="seconds")
    return [
        Checkpoint(head.chain, head.seq, head.hash, at)
        for head in AuditChainHead.objects.filter(seq__gt=0).order_by("chain")
    ]


def checkpoint_file() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_FILE)


def write_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    """Seal the events waiting, then append each chain's head as a signed line to the
    checkpoint file and the log."""
    seal()
    heads = current_heads()
    target = path or checkpoint_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as f:
        for head in heads:
            line = signed_line(head)
            f.write(line + "\n")
            log.info("audit checkpoint %s", line)
        f.flush()
    return heads


@task()
def write_checkpoints_task() -> int:
    return len(write_checkpoints())


class CheckpointError(ValueError):
    """A checkpoint line that is not well formed or whose signature does not match."""


def parse_line(line: str) -> Checkpoint:
    try:
        data: dict[str, Any] = json.loads(line)
        body = data["checkpoint"]
        checkpoint = Checkpoint(int(body["chain"]), int(body["seq"]), str(body["hash"]), body["at"])
        signature = str(data["sig"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"not a checkpoint line: {line[:80]!r}") from exc
    if not hmac.compare_digest(_signature(checkpoint.payload()), signature):
        raise CheckpointError(f"signature does not match: {line[:80]!r}")
    return checkpoint


def read_checkpoints(lines: list[str]) -> tuple[list[Checkpoint], list[str]]:
    """The valid checkpoints in `lines`, and a description of each line that is not."""
    found, bad = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            found.append(parse_line(line))
        except CheckpointError as exc:
            bad.append(f"line {number}: {exc}")
    return found, bad


def load_file(path: Path) -> tuple[list[Checkpoint], list[str]]:
    if not path.exists():
        return [], []
    return read_checkpoints(path.read_text(encoding="utf-8").splitlines())


@dataclass(frozen=True)
class CheckpointProblem:
    chain: int
    seq: int
    problem: str


def check_against(checkpoints: list[Checkpoint]) -> list[CheckpointProblem]:
    """Every checkpoint whose event is gone or differs: the newest per chain is enough for
    a removed tail, and older ones catch a chain that was rebuilt from scratch."""
    problems: list[CheckpointProblem] = []
    newest: dict[int, Checkpoint] = {}
    for cp in checkpoints:
        if cp.chain not in newest or cp.seq > newest[cp.chain].seq:
            newest[cp.chain] = cp
    for chain, cp in sorted(newest.items()):
        last = (
            AuditEvent.objects.filter(chain=chain, seq__isnull=False)
            .order_by("-seq")
            .values_list("seq", flat=True)
        ).first() or 0
        if last < cp.seq:
            problems.append(
                CheckpointProblem(
                    chain,
                    last + 1,
                    f"events {last + 1}..{cp.seq} are missing: the checkpoint of {cp.at} "
                    f"saw the chain at event {cp.seq}",
                )
            )
    stored = {
        (chain, seq): digest
        for chain, seq, digest in AuditEvent.objects.filter(
            seq__in={cp.seq for cp in checkpoints}, chain__in={cp.chain for cp in checkpoints}
        ).values_list("chain", "seq", "hash")
    }
    for cp in checkpoints:
        digest = stored.get((cp.chain, cp.seq))
        if digest is not None and digest != cp.hash:
            problems.append(
                CheckpointProblem(
                    cp.chain, cp.seq, f"differs from the checkpoint of {cp.at} (chain rewritten)"
                )
            )
    return problems
