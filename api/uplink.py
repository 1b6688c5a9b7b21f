"""The uplink contract's event message (docs/uplink.md) as the centre reads it: the ``event``
document, its evidence entries, and the checks of one multipart message against them.

Each refusal is an :class:`~fastapi.HTTPException` with the status the contract names (400
malformed, 403 another box's message, 415 a content type the centre does not keep, 422
well-formed but wrong) and a detail that says exactly what, for the operator who finds the
message parked on the box.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import HTTPException
from pydantic import AwareDatetime, Field, ValidationError, field_validator, model_validator
from starlette.datastructures import UploadFile

from api.evidence import Digest, EvidenceStoreError, extension, looks_like, measure
from dispatch.devices import DEVICE_CODE, PLAIN, DetectorReport, DeviceIdentity, Ignoring
from dispatch.schemas import EventIn, EvidenceRef, ModelInfo, Sha256
from fishwatch.common.vocabulary import EventType, EvidenceKind, FaultKind, Severity, WarningOutcome

#: ``event_id`` as the contract writes it: a lower-case UUID with hyphens.
EVENT_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class EvidenceEntry(Ignoring):
    """One file of the message, as the ``evidence`` list describes it."""

    kind: EvidenceKind
    filename: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]
    content_type: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]
    size: Annotated[int, Field(ge=1, le=2**40)]
    sha256: Sha256

    @model_validator(mode="after")
    def _named_after_its_kind(self) -> EvidenceEntry:
        if not re.fullmatch(rf"{self.kind.value}\.[a-z0-9]{{1,8}}", self.filename):
            raise ValueError(f"filename {self.filename!r} must be '{self.kind.value}' and an "
                             f"extension, e.g. '{self.kind.value}.jpg'")
        return self


class EventDocument(Ignoring):
    """The ``event`` part. Unknown fields are ignored; the box may add some later."""

    event_id: Annotated[str, Field(pattern=EVENT_ID)]
    revision: Annotated[int, Field(ge=1, le=2**31 - 1)]
    device_id: Annotated[str, Field(pattern=DEVICE_CODE)]
    camera: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]
    type: EventType
    severity: Severity
    zone: Annotated[str, Field(max_length=100, pattern=PLAIN)] | None
    status: Literal["open", "closed"]
    start: AwareDatetime
    end: AwareDatetime | None
    start_s: float
    end_s: float | None
    confidence: Annotated[float, Field(ge=0, le=1)]
    track_ids: Annotated[list[int], Field(max_length=1000)]
    model: DetectorReport
    outcome: WarningOutcome | None
    fault: FaultKind | None = None
    detail: Annotated[str, Field(max_length=500, pattern=PLAIN)] | None = None
    evidence: Annotated[list[EvidenceEntry], Field(max_length=len(EvidenceKind))]

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    @model_validator(mode="after")
    def _consistent(self) -> EventDocument:
        if (self.status == "closed") != (self.end is not None):
            raise ValueError(f"status {self.status!r} with end {self.end}: 'closed' exactly "
                             "when end is set")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end.isoformat()} is before start "
                             f"{self.start.isoformat()}")
        if self.type is EventType.CAMERA_FAULT:
            if self.fault is None or self.detail is None:
                raise ValueError("a camera_fault needs 'fault' and 'detail'")
            if self.zone is not None or self.track_ids:
                raise ValueError("a camera_fault has zone null and no track_ids")
        elif self.fault is not None or self.detail is not None:
            raise ValueError(f"'fault' and 'detail' belong to camera_fault events, not "
                             f"{self.type.value}")
        elif self.zone is None:
            raise ValueError(f"a {self.type.value} event needs its zone")
        kinds = [entry.kind for entry in self.evidence]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"evidence kinds {[k.value for k in kinds]}: at most one of each")
        return self

    @property
    def uuid(self) -> UUID:
        return UUID(self.event_id)

    @property
    def idempotency_key(self) -> str:
        return f"{self.event_id}:{self.revision}"

    def event_in(self, stored: Sequence[EvidenceRef]) -> EventIn:
        """Dispatch's input for this revision, with its files where the store put them."""
        return EventIn(event_id=self.uuid, device_id=self.device_id,
                       camera=self.camera, type=self.type, severity=self.severity,
                       start=self.start, end=self.end, confidence=self.confidence,
                       track_ids=self.track_ids,
                       model=ModelInfo(name=self.model.name, version=self.model.version),
                       evidence=list(stored), outcome=self.outcome, revision=self.revision,
                       zone=self.zone or "", fault=self.fault, detail=self.detail or "")


@dataclass(frozen=True)
class EvidenceFile:
    """A file part that matched its entry: its spooled bytes and what they measure."""

    entry: EvidenceEntry
    upload: UploadFile

    @property
    def digest(self) -> Digest:
        return Digest(self.entry.size, self.entry.sha256)


@dataclass(frozen=True)
class UplinkMessage:
    """A checked message: the document, and one verified file per evidence entry, in order."""

    document: EventDocument
    files: tuple[EvidenceFile, ...]


def read_message(parts: Sequence[tuple[str, str | UploadFile]], *, idempotency_key: str | None,
                 device: DeviceIdentity) -> UplinkMessage:
    """Check a parsed multipart body against the contract, step 2 of docs/uplink.md."""
    if not parts or parts[0][0] != "event" or not isinstance(parts[0][1], str):
        raise HTTPException(400, "the first part must be 'event', the JSON document (a form "
                                 "field without a filename)")
    document = _document(parts[0][1])
    if document.device_id != device.code:
        raise HTTPException(403, f"this token belongs to device {device.code!r}, the message "
                                 f"is from {document.device_id!r}")
    if idempotency_key is None:
        raise HTTPException(400, "missing Idempotency-Key header (event_id:revision)")
    if idempotency_key != document.idempotency_key:
        raise HTTPException(422, f"Idempotency-Key {idempotency_key!r} is not "
                                 f"{document.idempotency_key!r}, the event's id:revision")
    for entry in document.evidence:
        try:
            extension(entry.content_type)
        except EvidenceStoreError as exc:
            raise HTTPException(415, f"evidence {entry.kind.value}: {exc}") from None
    files = _files(parts[1:], document.evidence)
    for item in files:
        _check_file(item)
    return UplinkMessage(document, tuple(files))


def _document(text: str) -> EventDocument:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HTTPException(400, f"the 'event' part is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the 'event' part must be a JSON object")
    try:
        return EventDocument.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(422, "event: " + "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'document'}: {error['msg']}"
            for error in exc.errors(include_url=False))) from None


def _files(parts: Sequence[tuple[str, str | UploadFile]],
           entries: Sequence[EvidenceEntry]) -> list[EvidenceFile]:
    """One file part per entry, named after its kind, in the entries' order; nothing else."""
    by_kind = {entry.kind.value: entry for entry in entries}
    names = [name for name, _ in parts]
    for name, value in parts:
        if not isinstance(value, UploadFile):
            raise HTTPException(400, f"part {name!r} is a form field; after 'event' only file "
                                     "parts may follow, one per evidence entry")
        if name not in by_kind:
            raise HTTPException(422, f"file part {name!r} has no entry in the event's "
                                     f"evidence (entries: {sorted(by_kind) or 'none'})")
    if len(set(names)) != len(names):
        raise HTTPException(422, f"file parts {names}: one part per evidence entry")
    missing = [kind for kind in by_kind if kind not in names]
    if missing:
        raise HTTPException(422, f"evidence {missing} announced in the event has no file part")
    if names != list(by_kind):
        raise HTTPException(422, f"file parts {names} must follow the order of the evidence "
                                 f"entries {list(by_kind)}")
    return [EvidenceFile(by_kind[name], value) for name, value in parts
            if isinstance(value, UploadFile)]


def _check_file(item: EvidenceFile) -> None:
    entry, upload = item.entry, item.upload
    kind = entry.kind.value
    if upload.filename != entry.filename:
        raise HTTPException(422, f"file part {kind!r} is named {upload.filename!r}, its "
                                 f"entry says {entry.filename!r}")
    part_type = (upload.content_type or "").split(";")[0].strip().lower()
    if part_type != entry.content_type:
        raise HTTPException(422, f"file part {kind!r} has Content-Type {part_type!r}, its "
                                 f"entry says {entry.content_type!r}")
    found = measure(upload.file)
    if found != item.digest:
        raise HTTPException(422, f"file part {kind!r} has {found.size} bytes with sha256 "
                                 f"{found.sha256}; its entry says {entry.size} bytes with "
                                 f"sha256 {entry.sha256}")
    head = upload.file.read(16)
    upload.file.seek(0)
    if not looks_like(entry.content_type, head):
        raise HTTPException(415, f"file part {kind!r}: its bytes are not {entry.content_type}")
