"""The analysts' review queue: the newest alerts they have not judged, with snapshot and
clip in the page, confirm or false positive with a reason, and what they already judged.

The verdict form posts to the order's verdict step (:mod:`api.pages.orders`), which returns
here with the same filters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import SessionDep
from api.pages.deps import PageError, allow
from api.pages.templating import render
from api.sessions import SignedIn
from dispatch.errors import DispatchError
from dispatch.reviews import REVIEW_READERS, ReviewFilter, review_choices, review_queue
from dispatch.schemas import EventType, Role

router = APIRouter(include_in_schema=False)

Reviewer = Annotated[SignedIn, Depends(allow(*REVIEW_READERS))]


class ReviewTab(StrEnum):
    TODO = "todo"
    DONE = "done"


def day_start(day: date | None, *, days: int = 0) -> datetime | None:
    """Midnight UTC of ``day`` (plus ``days``): the filters' dates are whole UTC days."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days), time(), tzinfo=UTC)


@router.get("/reviews")
def reviews_page(request: Request, session: SessionDep, signed_in: Reviewer,
                 tab: ReviewTab = ReviewTab.TODO, camera: str = "",
                 type: EventType | None = None, zone: str = "", since: date | None = None,
                 until: date | None = None, done: str = "") -> Response:
    where = ReviewFilter(camera=camera or None, type=type, zone=zone or None,
                         since=day_start(since), until=day_start(until, days=1))
    try:
        items = review_queue(session, signed_in.actor, where, reviewed=tab is ReviewTab.DONE,
                             limit=50)
        cameras, zones = review_choices(session, signed_in.actor)
    except DispatchError as exc:
        raise PageError.of(exc) from None
    filters = {"camera": camera, "type": type.value if type else "", "zone": zone,
               "since": since.isoformat() if since else "",
               "until": until.isoformat() if until else ""}
    query = urlencode({"tab": tab.value, **{k: v for k, v in filters.items() if v}})
    return render(request, "reviews.html", signed_in, items=items, tab=tab, tabs=list(ReviewTab),
                  filters=filters, cameras=cameras, zones=zones, types=list(EventType),
                  back=f"/reviews?{query}", done=done if done in {"confirm",
                                                                  "dismiss_as_false_alarm"}
                  else "", can_judge=signed_in.actor.role is Role.ANALYST)
