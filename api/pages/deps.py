"""What page handlers depend on: a signed-in user (else a redirect to the login page), a role
(else a 403 page), and for forms that change data the session's CSRF token in the form field
``csrf_token`` (pages post plain HTML forms, so the header the JSON API wants is not there).

Refusals are exceptions rendered as pages by :func:`install_handlers`, never JSON: a person
reads them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import optional_login
from api.errors import STATUS
from api.pages.templating import render
from api.sessions import CSRF_FIELD, SignedIn, csrf_matches
from dispatch.errors import DispatchError
from dispatch.schemas import Role


class LoginRequired(Exception):
    """No live session: go to the login page and come back to ``next_url``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """A refusal shown as a page: the status, a message key of the catalogue, and for a
    refusal by dispatch its own message (English, precise) as detail."""

    def __init__(self, status: int, message_key: str, detail: str = "") -> None:
        super().__init__(message_key)
        self.status, self.message_key, self.detail = status, message_key, detail

    @classmethod
    def of(cls, error: DispatchError) -> PageError:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
        return cls(status, f"error.{status}", str(error))


def page_login(request: Request,
               signed_in: Annotated[SignedIn | None, Depends(optional_login)]) -> SignedIn:
    if signed_in is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return signed_in


PageUser = Annotated[SignedIn, Depends(page_login)]


def allow(*roles: Role) -> Callable[[SignedIn], SignedIn]:
    """A dependency: the signed-in user if their role is one of ``roles``; a 403 page else."""
    allowed = frozenset(roles)

    def gate(signed_in: PageUser) -> SignedIn:
        if signed_in.actor.role not in allowed:
            raise PageError(403, "error.403")
        return signed_in

    return gate


async def checked_form(request: Request, signed_in: PageUser) -> SignedIn:
    """The user of a form post whose ``csrf_token`` field matches their session."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_matches(signed_in, token if isinstance(token, str) else None):
        raise PageError(403, "error.csrf")
    return signed_in


FormUser = Annotated[SignedIn, Depends(checked_form)]


def install_handlers(app: FastAPI) -> None:
    async def _login_required(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    async def _page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        signed_in = getattr(request.state, "signed_in", None)
        return render(request, "error.html", signed_in, status=exc.status,
                      message_key=exc.message_key, detail=exc.detail)

    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
        LoginRequired: _login_required, PageError: _page_error}
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
