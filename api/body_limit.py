"""One ceiling on every request body (``centre.max_upload_mb``).

Form and multipart parsing spools uploaded files to disk whatever their size, and FastAPI parses
a handler's form before its dependencies run, so a route cannot refuse a large body itself in
time. This ASGI middleware refuses a declared length above the ceiling before anything is read,
and stops a body without a length (chunked) as soon as it passes the ceiling.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Answer 413 ``{"detail": ...}`` to a request whose body is larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, setting: str) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.detail = (f"the request is larger than the centre's limit of "
                       f"{max_bytes // 2**20} MB ({setting})")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await JSONResponse({"detail": self.detail}, status_code=413,
                               headers={"Connection": "close"})(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            # Raised inside the app, the refusal is answered by its HTTPException handler.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self.detail)
            return message

        await self.app(scope, counted, send)
