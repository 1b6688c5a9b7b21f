"""Live updates for open pages: server-sent events from the notifications table.

The stream polls :func:`dispatch.notifications.read_notifications` (scoped to the user like
every read) once a second in a worker thread, so it sees changes committed by any centre
process, not only this one. The notification id is the event id: a browser that reconnects
sends ``Last-Event-ID`` and continues where it stopped. The session is checked at every poll,
so a logout or a deactivated account ends the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from api.centre import Centre
from api.deps import CentreDep
from api.sessions import COOKIE_NAME, resume
from dispatch.notifications import read_notifications
from dispatch.schemas import NotificationView

router = APIRouter(include_in_schema=False)

#: Seconds between polls of the notifications table.
POLL_S = 1.0
#: Seconds between comment lines that keep proxies from closing a quiet stream.
KEEPALIVE_S = 15.0
#: How long the browser waits before reconnecting, in milliseconds.
RETRY_MS = 3000


def _poll(centre: Centre, token: str | None, after: int) -> list[NotificationView] | None:
    """The notifications after ``after`` for the cookie's user; None once the session ended."""
    with centre.db.transaction() as session:
        signed_in = resume(session, token, now=centre.clock())
        if signed_in is None:
            return None
        return read_notifications(session, signed_in.actor, after=after)


def _cursor(request: Request, after: int) -> int:
    last = request.headers.get("last-event-id", "")
    return int(last) if last.isdigit() else after


@router.get("/live/stream")
async def live_stream(request: Request, centre: CentreDep, after: int = 0) -> Response:
    token = request.cookies.get(COOKIE_NAME)
    cursor = _cursor(request, max(after, 0))
    first = await asyncio.to_thread(_poll, centre, token, cursor)
    if first is None:
        return PlainTextResponse("not signed in", status_code=401)

    async def events(batch: list[NotificationView], cursor: int) -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        quiet_since = time.monotonic()
        while True:
            for note in batch:
                cursor = note.id
                yield f"id: {note.id}\ndata: {note.model_dump_json()}\n\n"
            if batch:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_S)
            polled = await asyncio.to_thread(_poll, centre, token, cursor)
            if polled is None:
                return
            batch = polled

    return StreamingResponse(events(first, cursor), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
