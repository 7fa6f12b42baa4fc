"""Writing and verifying the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.audit.models import Action, AuditChainHead, AuditEvent, Outcome
from katclinic.lib import rows
from katclinic.lib.bulk import insert_rows

GENESIS = "0" * 64
HASHED_FIELDS = (
    "chain",
    "seq",
    "at",
    "clinic_id",
    "user_id",
    "actor",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "ip",
    "detail",
)


def _canonical(event: AuditEvent) -> bytes:
    values: dict[str, Any] = {name: getattr(event, name) for name in HASHED_FIELDS}
    values["at"] = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    key = settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(key, prev_hash.encode() + b"|" + _canonical(event), hashlib.sha256).hexdigest()


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _event(
    *,
    request: HttpRequest | None,
    action: Action,
    clinic_id: int | None,
    patient_id: int | None,
    obj: Any,
    object_type: str,
    object_id: str,
    outcome: Outcome,
    detail: dict[str, Any] | None,
    user: Any,
) -> AuditEvent:
    """An unsaved event with everything but its place in the chain."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if clinic_id is None and request is not None:
        clinic = getattr(request, "clinic", None)
        clinic_id = clinic.pk if clinic is not None else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent(
        chain=clinic_id or 0,
        at=timezone.now(),
        clinic_id=clinic_id,
        user_id=user.pk if user is not None else None,
        actor=getattr(user, "email", "") if user is not None else "",
        patient_id=patient_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        ip=client_ip(request),
        detail=detail or {},
    )


def record(
    *,
    request: HttpRequest | None,
    action: Action,
    clinic_id: int | None = None,
    patient_id: int | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
    user: Any = None,
) -> AuditEvent:
    """Append one event. Runs inside the caller's transaction when there is one."""
    event = _event(
        request=request,
        action=action,
        clinic_id=clinic_id,
        patient_id=patient_id,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        detail=detail,
        user=user,
    )
    # Every request that reads or writes a record comes through here, so the three
    # statements are plain SQL (see katclinic.lib.rows). No savepoint: an event that
    # cannot be written must fail the caller's whole transaction, never just itself.
    with transaction.atomic(savepoint=False):
        seq, prev_hash = _lock_head(event.chain)
        event.seq = seq + 1
        event.prev_hash = prev_hash
        event.hash = compute_hash(event, prev_hash)
        rows.insert(event)
        rows.execute(
            AuditChainHead,
            _MOVE_HEAD.format(table=rows.table(AuditChainHead)),
            [event.seq, event.hash, event.chain],
        )
    return event


def record_list(
    *, request: HttpRequest, patient_ids: Iterable[int | None], what: str = ""
) -> AuditEvent | None:
    """One event for a list or search that showed patient data, naming the patients shown;
    an empty list records nothing."""
    shown = sorted({pk for pk in patient_ids if pk is not None})
    if not shown:
        return None
    clinic = getattr(request, "clinic", None)
    return record(
        request=request,
        action=Action.VIEW,
        clinic_id=clinic.pk if clinic is not None else None,
        patient_id=shown[0] if len(shown) == 1 else None,
        object_type="list",
        object_id=(what or request.path)[:64],
        detail={"patients": shown, "query": request.GET.urlencode()[:200]},
    )


_MOVE_HEAD = "UPDATE {table} SET seq = %s, hash = %s WHERE chain = %s"


def _lock_head(chain: int) -> tuple[int, str]:
    """The chain's head (sequence number and hash), locked until the transaction ends."""
    connection = rows.connection_for(AuditChainHead)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT seq, hash FROM {rows.table(AuditChainHead)} WHERE chain = %s{lock}"  # noqa: S608
    found = rows.fetch_one(AuditChainHead, sql, [chain])
    if found is None:
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=chain)
        return head.seq, head.hash
    return int(found[0]), str(found[1])


def record_many(
    *,
    request: HttpRequest | None,
    action: Action,
    clinic_id: int,
    targets: Sequence[tuple[int | None, Any]],
    detail: dict[str, Any] | None = None,
    user: Any = None,
) -> list[AuditEvent]:
    """Append one event per ``(patient_id, obj)`` in ``targets``, in order, to one clinic's chain.

    For bulk writes (a FHIR import): the chain head is locked once, the events are
    hashed in order exactly as ``record`` would one by one, and inserted in batches.
    """
    events = [
        _event(
            request=request,
            action=action,
            clinic_id=clinic_id,
            patient_id=patient_id,
            obj=obj,
            object_type="",
            object_id="",
            outcome=Outcome.SUCCESS,
            detail=detail,
            user=user,
        )
        for patient_id, obj in targets
    ]
    if not events:
        return []
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=clinic_id)
        seq, prev_hash = head.seq, head.hash
        for event in events:
            seq += 1
            event.seq, event.prev_hash = seq, prev_hash
            event.hash = prev_hash = compute_hash(event, prev_hash)
        fields = [f.attname for f in AuditEvent._meta.concrete_fields if not f.primary_key]
        keys = insert_rows(
            AuditEvent, [{name: getattr(e, name) for name in fields} for e in events]
        )
        for event, key in zip(events, keys, strict=True):
            event.pk = key
        AuditChainHead.objects.filter(chain=clinic_id).update(seq=seq, hash=prev_hash)
    return events


@dataclass(frozen=True)
class ChainProblem:
    chain: int
    seq: int
    problem: str


def verify_chain(chain: int) -> Iterator[ChainProblem]:
    """Yield every break in one chain: a gap, an altered event, or a head mismatch."""
    expected_seq = 1
    prev_hash = GENESIS
    for event in AuditEvent.objects.filter(chain=chain).order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            yield ChainProblem(
                chain, expected_seq, f"events {expected_seq}..{event.seq - 1} are missing"
            )
        if event.prev_hash != prev_hash:
            yield ChainProblem(chain, event.seq, "does not follow the event before it")
        if compute_hash(event, event.prev_hash) != event.hash:
            yield ChainProblem(chain, event.seq, "was altered after it was written")
        prev_hash = event.hash
        expected_seq = event.seq + 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        yield ChainProblem(chain, head.seq, "the newest events are missing (chain head is ahead)")


def verify_all() -> list[ChainProblem]:
    chains = set(AuditEvent.objects.values_list("chain", flat=True).distinct())
    chains |= set(AuditChainHead.objects.values_list("chain", flat=True))
    return [problem for chain in sorted(chains) for problem in verify_chain(chain)]
