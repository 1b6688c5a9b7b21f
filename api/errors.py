"""Refusals as HTTP answers: one JSON ``{"detail": "..."}`` shape, a string, for every error —
dispatch's refusals and request validation alike."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
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

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc)}, status_code=422)


def validation_detail(exc: RequestValidationError) -> str:
    """FastAPI's list of problems as one sentence per problem: ``body.cameras.0.state: ...``."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())) or "request"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems)
