"""Dispatch's refusals as HTTP answers: one JSON ``{"detail": ...}`` shape for every error."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dispatch.errors import (
    Conflict,
    DispatchError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    TransitionError,
)

STATUS: dict[type[DispatchError], int] = {
    NotFound: 404,
    PermissionDenied: 403,
    TransitionError: 409,
    Conflict: 409,
    InvalidRequest: 422,
}


def install(app: FastAPI) -> None:
    @app.exception_handler(DispatchError)
    async def _dispatch_error(_request: Request, exc: DispatchError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)
