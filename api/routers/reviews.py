"""The analysts' review queue, their verdicts, and reviewed alerts as a training data set.

The queue is per analyst: "reviewed" means reviewed *by me* (from the orders' history), so a
colleague's verdict does not empty my queue. A false positive closes the order as a false
alarm and needs its reason; a confirmation changes no state.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from api.deps import CentreDep, SessionDep, allow
from api.review_dataset import write_dataset
from api.schemas import Page, ReviewFilters, VerdictIn, operation_id
from dispatch.access import Actor
from dispatch.reviews import (
    ReviewFilter,
    ReviewItem,
    review_choices,
    review_count,
    review_queue,
    reviewed_samples,
)
from dispatch.schemas import EventType, OrderView, Role
from dispatch.search import MAX_PAGE

router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"],
                   generate_unique_id_function=operation_id)

Analyst = Annotated[Actor, allow(Role.ANALYST)]
QueueReader = Annotated[Actor, allow(Role.ANALYST, Role.ADMIN, Role.AUDITOR)]
Exporter = Annotated[Actor, allow(Role.ANALYST, Role.ADMIN)]

#: Bytes of a data set kept in memory while it is built; beyond, a temporary file.
SPOOL_BYTES = 32 * 2**20


def _filter(camera: str | None, since: AwareDatetime | None, until: AwareDatetime | None,
            type: EventType | None, zone: str | None) -> ReviewFilter:
    return ReviewFilter(camera=camera, since=since, until=until, type=type, zone=zone)


Camera = Annotated[str | None, Query(max_length=100)]
Zone = Annotated[str | None, Query(max_length=100)]


@router.get("")
def list_reviews(actor: QueueReader, session: SessionDep, reviewed: bool = False,
                 camera: Camera = None, since: AwareDatetime | None = None,
                 until: AwareDatetime | None = None, type: EventType | None = None,
                 zone: Zone = None, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                 offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Page[ReviewItem]:
    """Orders with alerts I have not judged yet (``reviewed=false``, newest alert first), or
    those I have, with my verdict; ``since``/``until`` bound the incident's first alert."""
    where = _filter(camera, since, until, type, zone)
    return Page(data=review_queue(session, actor, where, reviewed=reviewed, limit=limit,
                                  offset=offset),
                count=review_count(session, actor, where, reviewed=reviewed),
                limit=limit, offset=offset)


@router.get("/filters")
def list_review_filters(actor: QueueReader, session: SessionDep) -> ReviewFilters:
    """The cameras and zones the queue can be filtered by."""
    cameras, zones = review_choices(session, actor)
    return ReviewFilters(cameras=cameras, zones=zones)


@router.post("/{order_id}/verdict")
def record_verdict(order_id: UUID, body: VerdictIn, actor: Analyst, centre: CentreDep,
                   session: SessionDep) -> OrderView:
    """Confirm the alert, or call it a false positive (with the reason): that closes the order
    as a false alarm. A confirmation against a department's false-alarm feedback opens a
    commission case."""
    view = centre.orders.record_verdict(session=session, actor=actor, order_id=order_id,
                                        verdict=body.verdict, note=body.reason.strip())
    session.commit()
    return view


@router.get("/dataset", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}},
                             "description": "false_positive/ (YOLO background images with "
                                            "empty labels), confirmed/ (pictures to label), "
                                            "manifest.csv, README.md"}})
def export_dataset(actor: Exporter, centre: CentreDep, session: SessionDep,
                   camera: Camera = None, since: AwareDatetime | None = None,
                   until: AwareDatetime | None = None, type: EventType | None = None,
                   zone: Zone = None,
                   limit: Annotated[int, Query(ge=1, le=20_000)] = 5000) -> StreamingResponse:
    """Judged alerts as a zip for training: clean snapshots sorted by verdict, false positives
    with empty YOLO label files, and a manifest. The edge sends no boxes, so confirmed
    pictures come unlabelled (see the zip's README)."""
    samples = reviewed_samples(session, actor, _filter(camera, since, until, type, zone),
                               limit=limit)
    session.rollback()  # nothing to write; free the connection before the files are copied
    now = centre.clock()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    write_dataset(samples, centre.evidence, spool, at=now)
    size = spool.tell()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1 << 20):
                yield chunk

    name = f"fishwatch-reviews-{now:%Y%m%d-%H%M}.zip"
    return StreamingResponse(chunks(), media_type="application/zip", headers={
        "Content-Length": str(size), "Content-Disposition": f'attachment; filename="{name}"'})
