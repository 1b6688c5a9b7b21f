"""The audit trail: append-only records, each carrying the hash of the one before.

Services call :func:`record` while they work. The records are written when the transaction
commits, after every other write, under the lock of the single ``audit_head`` row: so the
head lock is always the last lock a transaction takes (no deadlocks), appends from several
processes queue up, and records are numbered without gaps. A record's hash covers its number,
time, actor, action, entity, data and the previous hash; editing or removing any record
breaks the chain there, and :func:`verify` reports the first broken link. The migration also
installs triggers that refuse UPDATE and DELETE on ``audit_log``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from dispatch.access import Actor, require
from dispatch.models import AuditHead, AuditRecord
from dispatch.schemas import AuditRecordView, Role

#: ``prev_hash`` of the first record.
GENESIS = "0" * 64

#: Entity type of commission cases: their records are the commission's to read.
COMMISSION_ENTITY = "commission_case"

_PENDING = "fishwatch.audit.pending"


@dataclass(frozen=True)
class _Pending:
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    data: str


def canonical_json(data: Mapping[str, Any]) -> str:
    """One byte-exact text per value: sorted keys, no spaces, UUIDs and times as strings."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_jsonable)


def _jsonable(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"audit data cannot hold {type(value).__name__}: {value!r}")


def record(session: Session, *, at: datetime, actor: Actor | str, action: str,
           entity_type: str, entity_id: object, data: Mapping[str, Any] | None = None) -> None:
    """Queue one audit record; it is written (and chained) when ``session`` commits.

    Example:
        >>> record(session, at=now, actor=actor, action="order.signed",
        ...        entity_type="order", entity_id=order.id)  # doctest: +SKIP
    """
    session.info.setdefault(_PENDING, []).append(_Pending(
        at, actor.label if isinstance(actor, Actor) else actor, action, entity_type,
        str(entity_id), canonical_json(data or {})))


def link_hash(seq: int, at: datetime, actor: str, action: str, entity_type: str,
              entity_id: str, data: str, prev_hash: str) -> str:
    """SHA-256 over the record's fields and the previous record's hash."""
    fields = [seq, at.astimezone(UTC).isoformat(timespec="microseconds"), actor, action,
              entity_type, entity_id, data, prev_hash]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
                          .encode()).hexdigest()


def install(sessions: sessionmaker[Session]) -> None:
    """Make sessions from ``sessions`` write their queued records on commit."""
    event.listen(sessions, "before_commit", _append_pending)
    event.listen(sessions, "after_rollback", lambda session: session.info.pop(_PENDING, None))


def _append_pending(session: Session) -> None:
    pending: list[_Pending] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # every other write first: the head lock must be the last lock taken
    seq, prev = session.execute(
        sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()).one()
    rows = []
    for p in pending:
        seq += 1
        digest = link_hash(seq, p.at, p.actor, p.action, p.entity_type, p.entity_id, p.data, prev)
        rows.append({"seq": seq, "at": p.at, "actor": p.actor, "action": p.action,
                     "entity_type": p.entity_type, "entity_id": p.entity_id, "data": p.data,
                     "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(sa.insert(AuditRecord), rows)
    session.execute(sa.update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify`: how many records are intact and where the chain breaks."""

    intact: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.intact} records"
        return (f"audit chain broken at record {self.broken_seq}: {self.reason} "
                f"({self.intact} records before it are intact)")


def verify(session: Session, *, batch: int = 5000) -> VerifyReport:
    """Walk the chain from the start and report the first broken link (streams the rows)."""
    columns = [AuditRecord.seq, AuditRecord.at, AuditRecord.actor, AuditRecord.action,
               AuditRecord.entity_type, AuditRecord.entity_id, AuditRecord.data,
               AuditRecord.prev_hash, AuditRecord.hash]
    rows = session.execute(sa.select(*columns).order_by(AuditRecord.seq),
                           execution_options={"yield_per": batch})
    prev, intact = GENESIS, 0
    for row in rows:
        expected = intact + 1
        if row.seq != expected:
            rows.close()
            return VerifyReport(intact, expected, f"record {expected} is missing "
                                                  f"(the next one is {row.seq})")
        if row.prev_hash != prev:
            rows.close()
            return VerifyReport(intact, row.seq, f"prev_hash {row.prev_hash[:12]}… does not "
                                                 f"match the hash of record {row.seq - 1}")
        digest = link_hash(row.seq, row.at, row.actor, row.action, row.entity_type,
                           row.entity_id, row.data, row.prev_hash)
        if digest != row.hash:
            rows.close()
            return VerifyReport(intact, row.seq, "its contents do not match its hash "
                                                 "(edited after it was written)")
        prev, intact = row.hash, expected
    head_seq, head_hash = session.execute(
        sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    if (head_seq, head_hash) != (intact, prev):
        return VerifyReport(intact, intact + 1, f"the head records {head_seq} records ending in "
                                                f"{head_hash[:12]}…, the log ends at {intact}: "
                                                "records were removed from the end")
    return VerifyReport(intact)


def list_records(session: Session, actor: Actor, *, entity_type: str | None = None,
                 entity_id: object | None = None, after_seq: int = 0,
                 limit: int = 100) -> list[AuditRecordView]:
    """Audit records after ``after_seq``, oldest first; the commission's own only for it."""
    require(actor, {Role.AUDITOR, Role.ADMIN, Role.COMMISSION}, "read the audit trail")
    query = sa.select(AuditRecord).where(AuditRecord.seq > after_seq)
    if actor.role is not Role.COMMISSION:
        query = query.where(AuditRecord.entity_type != COMMISSION_ENTITY)
    if entity_type is not None:
        query = query.where(AuditRecord.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditRecord.entity_id == str(entity_id))
    records = session.scalars(query.order_by(AuditRecord.seq).limit(min(limit, 1000)))
    return [AuditRecordView(seq=r.seq, at=r.at, actor=r.actor, action=r.action,
                            entity_type=r.entity_type, entity_id=r.entity_id,
                            data=json.loads(r.data), hash=r.hash) for r in records]
