"""Writing and verifying the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Model
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
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


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical(event: AuditEvent) -> bytes:
    values: dict[str, object] = {name: getattr(event, name) for name in HASHED_FIELDS}
    values["at"] = _utc_text(event.at)
    if event.sealed_at is not None:
        # Sealed events (all but those chained at append time before sealing existed) also
        # pin their id, so a gap in the ids cannot be closed by renumbering, and their seal.
        values["id"] = event.pk
        values["sealed_at"] = _utc_text(event.sealed_at)
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    key = settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(key, prev_hash.encode() + b"|" + _canonical(event), hashlib.sha256).hexdigest()


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True, slots=True)
class Ref:
    """The row an event is about, named by its model's label and its key: what `record`
    reads of a model instance, and what a bulk write passes for rows it never loaded."""

    label: str
    pk: int | str


def _event(
    *,
    request: HttpRequest | None,
    action: Action,
    clinic_id: int | None,
    patient_id: int | None,
    obj: object,
    object_type: str,
    object_id: str,
    outcome: Outcome,
    detail: Mapping[str, object] | None,
    user: User | None,
) -> AuditEvent:
    """An unsaved event with everything but its place in the chain."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if clinic_id is None and request is not None:
        clinic = getattr(request, "clinic", None)
        clinic_id = clinic.pk if clinic is not None else None
    if isinstance(obj, Model):
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    elif isinstance(obj, Ref):
        object_type = object_type or obj.label
        object_id = object_id or str(obj.pk)
    return AuditEvent(
        chain=clinic_id or 0,
        at=timezone.now(),
        clinic_id=clinic_id,
        user_id=user.pk if user is not None else None,
        actor=user.email if user is not None else "",
        patient_id=patient_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        ip=client_ip(request),
        detail=dict(detail) if detail else {},
    )


def record(
    *,
    request: HttpRequest | None,
    action: Action,
    clinic_id: int | None = None,
    patient_id: int | None = None,
    obj: object = None,
    object_type: str = "",
    object_id: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    detail: Mapping[str, object] | None = None,
    user: User | None = None,
) -> AuditEvent:
    """Append one event. Runs inside the caller's transaction when there is one.

    ``obj`` names the row (a model instance or a `Ref`; anything else names none) unless
    ``object_type`` and ``object_id`` do; ``detail`` is stored as JSON, so its values are
    strings, numbers, booleans, None and lists and dicts of them."""
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
    # Every request that reads or writes a record comes through here, so this is one plain
    # INSERT (see katclinic.lib.rows) and takes no lock: the event waits, unsealed, for
    # `seal` to give it its place in the chain. No savepoint: an event that cannot be
    # written must fail the caller's whole transaction, never just itself.
    rows.insert(event)
    return event


def unsaved_event(
    *,
    request: HttpRequest | None,
    action: Action,
    clinic_id: int,
    patient_id: int | None,
    obj: Model | Ref,
    detail: Mapping[str, object] | None,
    user: User | None,
) -> AuditEvent:
    """The event ``record`` would append about ``obj``, not yet written: for a writer that
    inserts it in one statement with the new row it is about (``rows.insert_linked``, which
    fills in ``object_id``), or with others in a batch (``record_many``). Whoever calls this
    writes the event in that row's transaction."""
    return _event(
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


def record_view(
    request: HttpRequest, *, patient_id: int | None, obj: Model, section: str
) -> AuditEvent:
    """One event for a page that showed ``section`` of a patient's record."""
    return record(
        request=request,
        action=Action.VIEW,
        patient_id=patient_id,
        obj=obj,
        detail={"section": section},
    )


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


def record_many(
    *,
    request: HttpRequest | None,
    action: Action,
    clinic_id: int,
    targets: Sequence[tuple[int | None, Model | Ref]],
    detail: Mapping[str, object] | None = None,
    user: User | None = None,
) -> list[AuditEvent]:
    """Append one event per ``(patient_id, obj)`` in ``targets``, in order, to one clinic's chain.

    For bulk writes (a FHIR import): the events are inserted unsealed in batches, in
    order, exactly as ``record`` would append them one by one.
    """
    events = [
        unsaved_event(
            request=request,
            action=action,
            clinic_id=clinic_id,
            patient_id=patient_id,
            obj=obj,
            detail=detail,
            user=user,
        )
        for patient_id, obj in targets
    ]
    if not events:
        return []
    fields = [f.attname for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    keys = insert_rows(AuditEvent, [{name: getattr(e, name) for name in fields} for e in events])
    for event, key in zip(events, keys, strict=True):
        event.pk = key
    return events


SEAL_BATCH = 2000
SEAL_COLUMNS = ["seq", "prev_hash", "hash", "sealed_at"]


def seal(*, chain: int | None = None) -> int:
    """Chain every event still waiting (of one chain, or of all), in the order they were
    appended; the number sealed. Safe to run from several processes at once: each chain's
    head is locked while its events are sealed, so they are sealed one after another."""
    chains = [chain] if chain is not None else waiting_chains()
    return sum(_seal_chain(c) for c in chains)


def waiting_chains() -> list[int]:
    waiting = AuditEvent.objects.filter(hash__isnull=True).values_list("chain", flat=True)
    return sorted(set(waiting.distinct()))


def _seal_chain(chain: int) -> int:
    total = 0
    while count := _seal_batch(chain):
        total += count
        if count < SEAL_BATCH:
            break
    return total


def _seal_batch(chain: int) -> int:
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=chain)
        waiting = list(
            AuditEvent.objects.filter(chain=chain, hash__isnull=True).order_by("id")[:SEAL_BATCH]
        )
        if not waiting:
            return 0
        # After the highest number in the chain, so a sequence number forged onto a waiting
        # event cannot stop sealing (verify reports the forged event and the break it makes).
        highest = AuditEvent.objects.filter(chain=chain).aggregate(top=Max("seq"))["top"] or 0
        seq, prev_hash, now = max(head.seq, highest), head.hash, timezone.now()
        for event in waiting:
            seq += 1
            event.seq, event.prev_hash, event.sealed_at = seq, prev_hash, now
            event.hash = prev_hash = compute_hash(event, prev_hash)
        AuditEvent.objects.bulk_update(waiting, SEAL_COLUMNS, batch_size=500)
        AuditChainHead.objects.filter(chain=chain).update(seq=seq, hash=prev_hash)
    return len(waiting)


@dataclass(frozen=True)
class Waiting:
    """Events appended but not yet sealed into their chain."""

    count: int
    oldest: datetime | None


def waiting() -> Waiting:
    found = AuditEvent.objects.filter(hash__isnull=True).aggregate(n=Count("id"), oldest=Min("at"))
    return Waiting(found["n"], found["oldest"])


def skipped_ids() -> list[tuple[int, int]]:
    """Each run of ids missing between the lowest and highest event id, first to last.

    Every event, sealed or not, takes the next id when it is appended. On SQLite an id is
    never skipped (a rolled-back append gives its id back), so a gap is an event removed,
    including one removed before it was sealed. On PostgreSQL a rolled-back transaction
    skips the ids it took, so a gap there is not by itself a sign of removal."""
    table = rows.table(AuditEvent)
    sql = (
        f"SELECT prev + 1, id - 1 FROM (SELECT id, LAG(id) OVER (ORDER BY id) AS prev "  # noqa: S608
        f"FROM {table}) AS ordered WHERE id - prev > 1 ORDER BY id"
    )
    return [(int(a), int(b)) for a, b in rows.fetch_all(AuditEvent, sql, [])]


def ids_are_never_skipped() -> bool:
    return rows.connection_for(AuditEvent).vendor == "sqlite"


@dataclass(frozen=True)
class ChainProblem:
    chain: int
    seq: int
    problem: str


def verify_chain(chain: int) -> Iterator[ChainProblem]:
    """Yield every break in one chain's sealed events: a gap, an altered event, or a head
    mismatch. Events not yet sealed are not part of the chain yet."""
    expected_seq = 1
    prev_hash = GENESIS
    sealed = AuditEvent.objects.filter(chain=chain, seq__isnull=False).order_by("seq")
    for event in sealed.iterator(chunk_size=2000):
        seq = event.seq or 0
        if seq != expected_seq:
            yield ChainProblem(chain, expected_seq, f"events {expected_seq}..{seq - 1} are missing")
        if event.prev_hash != prev_hash:
            yield ChainProblem(chain, seq, "does not follow the event before it")
        if event.hash is None or compute_hash(event, event.prev_hash or "") != event.hash:
            yield ChainProblem(chain, seq, "was altered after it was written")
        prev_hash = event.hash or ""
        expected_seq = seq + 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        yield ChainProblem(chain, head.seq, "the newest events are missing (chain head is ahead)")


def verify_all() -> list[ChainProblem]:
    """Every break in every chain; on SQLite also every event removed before it was sealed
    (an id gap; reported in chain 0 under the first missing id)."""
    chains = set(AuditEvent.objects.values_list("chain", flat=True).distinct())
    chains |= set(AuditChainHead.objects.values_list("chain", flat=True))
    problems = [problem for chain in sorted(chains) for problem in verify_chain(chain)]
    if ids_are_never_skipped():
        problems += [
            ChainProblem(0, first, f"events with ids {first}..{last} are missing")
            for first, last in skipped_ids()
        ]
    return problems
