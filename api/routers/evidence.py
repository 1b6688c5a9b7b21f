"""Evidence downloads: snapshots and clips, streamed from the evidence store to whoever may
read the order they belong to (404 for anyone else), with byte ranges for seeking in clips."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Path
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import ActorDep, CentreDep, SessionDep
from api.evidence import CONTENT_TYPES, EvidenceMissing, EvidenceStore, Reader
from api.ranges import RangeNotSatisfiable, requested_range
from api.schemas import operation_id
from dispatch.evidence import EvidenceFile, event_evidence, find_evidence, get_evidence
from dispatch.schemas import EvidenceKind, Sha256

router = APIRouter(prefix="/api/v1", tags=["evidence"], generate_unique_id_function=operation_id)

#: Evidence ids are 64-bit.
EvidenceId = Annotated[int, Path(ge=1, le=2**63 - 1)]
#: Bytes sent per chunk of a download.
CHUNK = 1 << 16

FILE_ANSWERS = {
    200: {"description": "the whole file", "content": {t: {} for t in sorted(CONTENT_TYPES)}},
    206: {"description": "the one byte range asked for (Range: bytes=...)"},
    404: {"description": "no such file, or not the reader's to see"},
    416: {"description": "the range starts after the end of the file"},
}


class EvidenceItem(BaseModel):
    """An evidence file of an event and where to download it."""

    id: int
    event_id: UUID
    order_id: UUID
    kind: EvidenceKind
    sha256: str
    size: int
    content_type: str
    current: bool
    url: str


@router.get("/events/{event_id}/evidence")
def list_event_evidence(event_id: UUID, actor: ActorDep,
                        session: SessionDep) -> list[EvidenceItem]:
    """The event's files, oldest first; a later file of a kind supersedes an earlier one
    (``current`` false), which stays downloadable."""
    return [EvidenceItem(**item.model_dump(exclude={"storage_key"}),
                         url=f"/api/v1/evidence/{item.id}")
            for item in event_evidence(session, actor, event_id)]


@router.get("/evidence/{evidence_id}", response_class=StreamingResponse,
            responses=FILE_ANSWERS)
def download_evidence(evidence_id: EvidenceId, actor: ActorDep, centre: CentreDep,
                      session: SessionDep, range: Annotated[str | None, Header()] = None,
                      if_range: Annotated[str | None, Header()] = None) -> StreamingResponse:
    """An evidence file's bytes (``Range: bytes=...`` for part of it)."""
    item = get_evidence(session, actor, evidence_id)
    return _stream(centre.evidence, item, range, if_range)


@router.get("/events/{event_id}/evidence/{kind}/{sha256}", response_class=StreamingResponse,
            responses=FILE_ANSWERS)
def download_event_evidence(event_id: UUID, kind: EvidenceKind, sha256: Sha256,
                            actor: ActorDep, centre: CentreDep, session: SessionDep,
                            range: Annotated[str | None, Header()] = None,
                            if_range: Annotated[str | None, Header()] = None
                            ) -> StreamingResponse:
    """The same, named as event views name their evidence (kind and sha256)."""
    item = find_evidence(session, actor, event_id, kind, sha256)
    return _stream(centre.evidence, item, range, if_range)


def _stream(store: EvidenceStore, item: EvidenceFile, range_header: str | None,
            if_range: str | None) -> StreamingResponse:
    etag = f'"{item.sha256}"'
    headers = {
        "Accept-Ranges": "bytes", "ETag": etag, "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400, immutable",
        "Content-Disposition": f'inline; filename="{item.event_id}-{item.kind.value}'
                               f'{CONTENT_TYPES.get(item.content_type, "")}"',
    }
    try:
        wanted = requested_range(range_header, item.size, if_range=if_range, etag=etag)
    except RangeNotSatisfiable as exc:
        raise HTTPException(416, f"range not satisfiable: {exc}",
                            headers={"Content-Range": f"bytes */{item.size}"}) from None
    start, length = (wanted.start, wanted.length) if wanted else (0, item.size)
    try:
        reader = store.open(item.storage_key, start=start, length=length)
    except EvidenceMissing:
        raise HTTPException(404, f"evidence {item.id} is recorded but its file is missing "
                                 "from the evidence store") from None
    headers["Content-Length"] = str(length)
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range(item.size)
    return StreamingResponse(_chunks(reader), status_code=206 if wanted else 200,
                             media_type=item.content_type, headers=headers)


def _chunks(reader: Reader) -> Iterator[bytes]:
    with reader:
        while chunk := reader.read(CHUNK):
            yield chunk
