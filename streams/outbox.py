"""The outbox: event messages and their evidence files, kept on disk until the centre has them.

Producers :meth:`~Outbox.add` messages; the uplink takes them in order, sends them and records
the outcome. Everything lives in one SQLite file (WAL; ``synchronous=FULL``, so a committed
message survives a power cut) and an evidence folder that only the outbox writes to.

An evidence file is copied (or linked) into the folder under a temporary name, flushed, and
renamed to its final name inside the transaction that commits its message, so a crash at any
moment leaves either no message or a message whose files are complete. Files that no message
refers to (a crash before the commit, a prune interrupted) are swept away on opening and on
pruning.

Each message is one revision of one event (a rule's, or a camera fault told as an event of type
``camera_fault``): the outbox numbers an event's revisions 1, 2, ... in the order they are
added, so a resend carries the same ``(event_id, revision)`` and the centre can tell a duplicate
from news. The contract is written down in ``docs/uplink.md``.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from detector.events import Event
from fishwatch.common.vocabulary import EvidenceKind, WarningOutcome
from streams.records import FaultEvent

#: Bump with a migration when the table layout changes.
SCHEMA_VERSION = 1
#: A staged file this old belongs to no add() still running: a crash left it.
INCOMING_MAX_AGE_S = 3600.0

#: Pending messages of ``m`` with no earlier revision of their event still pending.
_SENDABLE = ("m.state = 'pending' AND NOT EXISTS (SELECT 1 FROM messages AS e"
             " WHERE e.event_id = m.event_id AND e.revision < m.revision"
             " AND e.state = 'pending')")
_INCOMING = ".incoming"
#: An event's folder is named by its id.
_EVENT_FOLDER = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CHUNK = 1 << 20
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")

_SCHEMA = """
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL,
    revision        INTEGER NOT NULL CHECK (revision >= 1),
    closed          INTEGER NOT NULL CHECK (closed IN (0, 1)),
    payload         TEXT    NOT NULL,
    evidence_bytes  INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'parked')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,
    last_error      TEXT,
    result          TEXT,
    created_at      REAL    NOT NULL,
    sent_at         REAL,
    UNIQUE (event_id, revision)
);
CREATE INDEX messages_due ON messages (state, next_attempt_at);
"""


class MessageState(StrEnum):
    """``pending`` until the centre accepts it (``sent``) or refuses it for good (``parked``)."""

    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"


@dataclass(frozen=True)
class Attachment:
    """A finished file to attach to a message: what it shows and where the producer wrote it.

    ``content_type`` is guessed from the file name when left out.
    """

    kind: EvidenceKind
    path: Path
    content_type: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in set(EvidenceKind):
            raise ValueError(f"evidence kind must be one of {[k.value for k in EvidenceKind]}, "
                             f"got {self.kind!r}")
        object.__setattr__(self, "kind", EvidenceKind(self.kind))
        object.__setattr__(self, "path", Path(self.path))


@dataclass(frozen=True)
class StoredAttachment:
    """An evidence file in the outbox's folder, as the message describes it."""

    kind: EvidenceKind
    filename: str
    content_type: str
    size: int
    sha256: str
    path: Path

    def manifest(self) -> dict[str, Any]:
        """The entry of the message's ``evidence`` list."""
        return {"kind": self.kind, "filename": self.filename, "content_type": self.content_type,
                "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Message:
    """One revision of one event, with its delivery state.

    ``payload`` is the JSON ``event`` part as the contract defines it, without ``device_id``
    (the uplink adds the box's current one when sending).
    """

    id: int
    event_id: UUID
    revision: int
    payload: str
    evidence: tuple[StoredAttachment, ...]
    state: MessageState
    attempts: int
    next_attempt_at: float
    last_error: str | None
    result: str | None
    created_at: float
    sent_at: float | None

    @property
    def idempotency_key(self) -> str:
        return f"{self.event_id}:{self.revision}"


@dataclass(frozen=True)
class OutboxStats:
    """Counts and sizes, for health pages and alarms on a growing backlog."""

    pending: int
    parked: int
    sent: int
    pending_bytes: int       # evidence waiting to be sent
    evidence_bytes: int      # evidence of all messages still kept
    database_bytes: int      # the SQLite file and its write-ahead log
    oldest_pending_at: float | None  # when the oldest waiting message was added (Unix time)


@dataclass(frozen=True)
class _Staged:
    part: Path
    kind: EvidenceKind
    filename: str
    content_type: str
    size: int
    sha256: str


class Outbox:
    """Durable queue of event messages; safe to share between threads and processes.

    Args:
        path: the SQLite file (created with its folder when missing).
        evidence_dir: the folder evidence files are kept in; default ``evidence`` beside
            ``path``. It must not be shared with anything else: unknown files in it are deleted.
        clock: Unix time (tests pass a fake one).

    Example:
        >>> with Outbox("/var/lib/fishwatch/outbox.db") as outbox:
        ...     message = outbox.add(update.event, [Attachment("snapshot", jpeg_path)])
        ...     message.revision  # 1 for the first message of the event
    """

    def __init__(self, path: str | os.PathLike[str], evidence_dir: str | os.PathLike[str] |
                 None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.evidence_dir = Path(evidence_dir) if evidence_dir else self.path.parent / "evidence"
        self._clock = clock
        self._incoming = self.evidence_dir / _INCOMING
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._incoming.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self._sweep()
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- adding ---------------------------------------------------------------------------
    def add(self, event: Event | FaultEvent, evidence: Sequence[Attachment] = (), *,
            outcome: WarningOutcome | None = None, move: bool = False) -> Message:
        """Queue the event (or camera fault) as it now stands as its next revision, with its
        evidence files.

        Files are copied in; with ``move`` they are linked in where the file system allows and
        the originals are deleted once the message is committed. The status sent is ``closed``
        when the event has an end, else ``open``.

        Raises:
            ValueError: two files of one kind.
            OSError: a file cannot be read, or the disk is full; nothing was queued.
        """
        kinds = [item.kind for item in evidence]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"one evidence file per kind, got {kinds}")
        staged: list[_Staged] = []
        try:
            for item in evidence:
                staged.append(self._stage(item, move=move))
            message_id = self._commit(event, staged, outcome)
        finally:
            for done in staged:
                done.part.unlink(missing_ok=True)
        if move:
            for source in evidence:
                source.path.unlink(missing_ok=True)
        message = self.get(message_id)
        assert message is not None
        return message

    def _stage(self, item: Attachment, *, move: bool) -> _Staged:
        """Put a flushed copy (or link) of ``item`` under a temporary name in the folder."""
        part = self._incoming / f"{uuid4().hex}.part"
        digest, size = hashlib.sha256(), 0
        linked = False
        if move:
            try:
                os.link(item.path, part)
                os.utime(part)  # the incoming sweep goes by age
                linked = True
            except OSError:
                pass  # another file system, or no hard links: copy instead
        try:
            if linked:
                with open(part, "rb") as data:
                    while chunk := data.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                    os.fsync(data.fileno())
            else:
                with open(item.path, "rb") as source, open(part, "xb") as target:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        target.write(chunk)
                    target.flush()
                    os.fsync(target.fileno())
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        content_type = (item.content_type or mimetypes.guess_type(item.path.name)[0]
                        or "application/octet-stream")
        suffix = item.path.suffix.lower()
        if not _SUFFIX.fullmatch(suffix):
            suffix = mimetypes.guess_extension(content_type) or ""
        return _Staged(part, item.kind, item.kind + suffix, content_type, size,
                       digest.hexdigest())

    def _commit(self, event: Event | FaultEvent, staged: list[_Staged],
                outcome: WarningOutcome | None) -> int:
        with self._write() as db:
            row = db.execute("SELECT COALESCE(MAX(revision), 0) FROM messages WHERE event_id = ?",
                             (str(event.id),)).fetchone()
            revision = row[0] + 1
            folder = self._event_folder(event.id)
            stored = [StoredAttachment(s.kind, s.filename, s.content_type, s.size, s.sha256,
                                     self._file(folder, revision, s.filename)) for s in staged]
            if staged:
                created = not folder.exists()
                folder.mkdir(exist_ok=True)
                if created:
                    _fsync_dir(self.evidence_dir)
                for item, target in zip(staged, stored, strict=True):
                    os.replace(item.part, target.path)
                _fsync_dir(folder)
            payload = json.dumps(_document(event, revision, stored, outcome),
                                 separators=(",", ":"))
            now = self._clock()
            cursor = db.execute(
                "INSERT INTO messages (event_id, revision, closed, payload, evidence_bytes, state,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (str(event.id), revision, int(not event.is_open), payload,
                 sum(s.size for s in stored), now, now))
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def close_interrupted(self) -> list[UUID]:
        """Close the events a previous run of the box left open (it was killed or lost power
        in the middle of an incident, whose state lived in memory), so that none stays open
        at the centre for ever; returns their ids.

        Each gets one more revision, ``closed``, without evidence, ending when its newest
        message was queued — the last moment the box is known to have seen it. Call it once
        on start, before the cameras run (one sender per outbox, so any open event is stale).
        """
        closed: list[UUID] = []
        with self._write() as db:
            newest = db.execute(
                "SELECT m.event_id, m.revision, m.payload, m.created_at FROM messages m"
                " WHERE m.closed = 0 AND m.revision = (SELECT MAX(revision) FROM messages"
                " WHERE event_id = m.event_id)").fetchall()
            for row in newest:
                document = json.loads(row["payload"])
                start = datetime.fromisoformat(document["start"].replace("Z", "+00:00"))
                end = max(start, datetime.fromtimestamp(row["created_at"], UTC))
                start_s = document.get("start_s")
                document.update(
                    revision=row["revision"] + 1, status="closed", end=_utc(end),
                    end_s=None if start_s is None else start_s + (end - start).total_seconds(),
                    evidence=[])
                now = self._clock()
                db.execute(
                    "INSERT INTO messages (event_id, revision, closed, payload, evidence_bytes,"
                    " state, next_attempt_at, created_at) VALUES (?, ?, 1, ?, 0, 'pending', ?, ?)",
                    (row["event_id"], row["revision"] + 1,
                     json.dumps(document, separators=(",", ":")), now, now))
                closed.append(UUID(row["event_id"]))
        return closed

    # --- reading --------------------------------------------------------------------------
    def get(self, message_id: int) -> Message | None:
        rows = self._read("SELECT * FROM messages WHERE id = ?", (message_id,))
        return self._message(rows[0]) if rows else None

    def messages(self, state: MessageState, *, limit: int = 100) -> list[Message]:
        """Messages in ``state``, oldest first (for operators: the parked ones and why)."""
        rows = self._read("SELECT * FROM messages WHERE state = ? ORDER BY id LIMIT ?",
                          (MessageState(state).value, limit))
        return [self._message(row) for row in rows]

    def next_due(self, now: float | None = None, *,
                 max_wait: float = float("inf")) -> Message | None:
        """The oldest pending message whose time has come and whose event has no earlier
        revision still pending (an event's revisions go out in order).

        A message due later than ``now + max_wait`` counts as due: its time was set before the
        clock went back (a box without a real-time clock that booted at some wrong date).
        """
        now = self._clock() if now is None else now
        rows = self._read(
            f"SELECT * FROM messages AS m WHERE {_SENDABLE}"
            " AND (m.next_attempt_at <= ? OR m.next_attempt_at > ?) ORDER BY m.id LIMIT 1",
            (now, now + max_wait))
        return self._message(rows[0]) if rows else None

    def next_wakeup(self) -> float | None:
        """When :meth:`next_due` will next have a message (Unix time); None: nothing pending."""
        return self._read(f"SELECT MIN(m.next_attempt_at) FROM messages AS m WHERE {_SENDABLE}",
                          ())[0][0]

    def stats(self) -> OutboxStats:
        counts = {state: (0, 0, None) for state in MessageState}
        for state, count, size, oldest in self._read(
                "SELECT state, COUNT(*), SUM(evidence_bytes), MIN(created_at) FROM messages"
                " GROUP BY state", ()):
            counts[MessageState(state)] = (count, size, oldest)
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return OutboxStats(
            pending=counts[MessageState.PENDING][0],
            parked=counts[MessageState.PARKED][0],
            sent=counts[MessageState.SENT][0],
            pending_bytes=counts[MessageState.PENDING][1],
            evidence_bytes=sum(size for _, size, _ in counts.values()),
            database_bytes=sum(f.stat().st_size for f in files if f.exists()),
            oldest_pending_at=counts[MessageState.PENDING][2],
        )

    # --- delivery state -------------------------------------------------------------------
    def mark_sent(self, message_id: int, *, result: str) -> None:
        """The centre accepted the message; ``result`` says how (``created``, ``duplicate``)."""
        self._transition(message_id, MessageState.PENDING, attempted=True,
                         state=MessageState.SENT.value, sent_at=self._clock(), result=result,
                         last_error=None)

    def retry_later(self, message_id: int, *, delay: float, error: str) -> None:
        """An attempt failed in a way that may pass: try again in ``delay`` seconds."""
        self._transition(message_id, MessageState.PENDING, attempted=True,
                         next_attempt_at=self._clock() + delay, last_error=error)

    def park(self, message_id: int, *, error: str) -> None:
        """The message cannot succeed as it is: keep it, with why, for an operator."""
        self._transition(message_id, MessageState.PENDING, attempted=True,
                         state=MessageState.PARKED.value, last_error=error)

    def expedite(self) -> int:
        """Make every pending message due now (the centre is back); returns how many waited."""
        with self._write() as db:
            now = self._clock()
            return db.execute("UPDATE messages SET next_attempt_at = ?"
                              " WHERE state = 'pending' AND next_attempt_at > ?",
                              (now, now)).rowcount

    def requeue(self, message_id: int) -> None:
        """Send a parked message again (after an operator fixed the cause)."""
        self._transition(message_id, MessageState.PARKED, attempted=False,
                         state=MessageState.PENDING.value, next_attempt_at=self._clock())

    def _transition(self, message_id: int, expected: MessageState, *, attempted: bool,
                    **values: Any) -> None:
        """Update a message that is in ``expected`` state; anything else is a caller's bug."""
        sets = [f"{name} = ?" for name in values]
        if attempted:
            sets.append("attempts = attempts + 1")
        with self._write() as db:
            cursor = db.execute(
                f"UPDATE messages SET {', '.join(sets)} WHERE id = ? AND state = ?",
                (*values.values(), message_id, expected.value))
            if cursor.rowcount == 0:
                row = db.execute("SELECT state FROM messages WHERE id = ?",
                                 (message_id,)).fetchone()
                found = f"is {row[0]}" if row else "does not exist"
                raise ValueError(f"message {message_id} {found}, expected {expected}")

    # --- pruning --------------------------------------------------------------------------
    def prune(self, before: float) -> int:
        """Delete messages sent before ``before`` (Unix time) with their files; returns how many.

        The newest message of an event that is still open is kept whatever its age: it holds
        the event's revision count, which must go on from there when the event closes.
        """
        with self._write() as db:
            rows = db.execute(
                "SELECT id, event_id, revision, payload FROM messages AS m"
                " WHERE m.state = 'sent' AND m.sent_at < ? AND (m.closed = 1 OR m.revision <"
                "   (SELECT MAX(revision) FROM messages AS e WHERE e.event_id = m.event_id))",
                (before,)).fetchall()
            db.executemany("DELETE FROM messages WHERE id = ?", [(row["id"],) for row in rows])
        for row in rows:
            for item in self._evidence(row["event_id"], row["revision"], row["payload"]):
                item.path.unlink(missing_ok=True)
        self._sweep()
        return len(rows)

    def _sweep(self) -> None:
        """Delete files no message refers to, and staged files of adds that died."""
        now = time.time()  # file times are real times, whatever the injected clock says
        for part in self._incoming.iterdir():
            try:
                if now - part.stat().st_mtime > INCOMING_MAX_AGE_S:
                    part.unlink()
            except FileNotFoundError:
                pass
        # Under the write lock, no add() can put a file in place and commit meanwhile.
        with self._write() as db:
            referenced = {
                item.path for row in db.execute("SELECT event_id, revision, payload FROM messages")
                for item in self._evidence(row["event_id"], row["revision"], row["payload"])}
            for folder in self.evidence_dir.iterdir():
                # Only its own event folders: the box's evidence.folder may be this folder
                # (by default both are 'evidence'), with a camera's open incidents in it.
                if not folder.is_dir() or not _EVENT_FOLDER.fullmatch(folder.name):
                    continue
                for file in folder.iterdir():
                    if file.is_file() and file not in referenced:
                        file.unlink(missing_ok=True)
                if not any(folder.iterdir()):
                    folder.rmdir()

    # --- plumbing -------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} has outbox schema {version}; this fishwatch "
                                   f"knows up to {SCHEMA_VERSION}")
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; it takes the database's write lock at once (no upgrade
        deadlocks between processes)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _event_folder(self, event_id: UUID | str) -> Path:
        return self.evidence_dir / str(event_id)

    @staticmethod
    def _file(folder: Path, revision: int, filename: str) -> Path:
        return folder / f"r{revision}-{filename}"

    def _evidence(self, event_id: str, revision: int, payload: str) -> list[StoredAttachment]:
        folder = self._event_folder(event_id)
        return [StoredAttachment(e["kind"], e["filename"], e["content_type"], e["size"],
                               e["sha256"], self._file(folder, revision, e["filename"]))
                for e in json.loads(payload)["evidence"]]

    def _message(self, row: sqlite3.Row) -> Message:
        return Message(
            id=row["id"], event_id=UUID(row["event_id"]), revision=row["revision"],
            payload=row["payload"],
            evidence=tuple(self._evidence(row["event_id"], row["revision"], row["payload"])),
            state=MessageState(row["state"]), attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"], last_error=row["last_error"],
            result=row["result"], created_at=row["created_at"], sent_at=row["sent_at"])



def _fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _document(event: Event | FaultEvent, revision: int, evidence: Sequence[StoredAttachment],
              outcome: WarningOutcome | None) -> dict[str, Any]:
    """The contract's ``event`` part, less ``device_id``."""
    if isinstance(event, FaultEvent):  # no zone, no tracks; what failed and how it showed
        fault = event.fault
        zone, seen = None, {"start_s": fault.start, "end_s": fault.end, "confidence": 1.0,
                            "track_ids": [], "fault": str(fault.kind), "detail": fault.detail}
    else:
        zone, seen = event.zone, {"start_s": event.start_s, "end_s": event.end_s,
                                  "confidence": event.best_confidence,
                                  "track_ids": list(event.track_ids)}
    return {
        "event_id": str(event.id),
        "revision": revision,
        "camera": event.camera,
        "type": event.type.value,
        "severity": event.severity.value,
        "zone": zone,
        "status": "open" if event.is_open else "closed",
        "start": _utc(event.start),
        "end": _utc(event.end),
        **seen,
        "model": {"name": event.model_name, "version": event.model_version},
        "outcome": None if outcome is None else WarningOutcome(outcome).value,
        "evidence": [item.manifest() for item in evidence],
    }
