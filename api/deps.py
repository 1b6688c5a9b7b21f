"""Request dependencies: the database session, the signed-in user, and the CSRF check.

Handlers that change data call ``session.commit()`` themselves before answering, so a 2xx
is only sent for what is durable; anything left uncommitted is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from api.centre import Centre
from api.sessions import COOKIE_NAME, CSRF_HEADER, SignedIn, csrf_matches, resume
from dispatch.access import Actor, require
from dispatch.schemas import Role

#: Methods that change state and therefore need a CSRF token from a browser session.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_centre(request: Request) -> Centre:
    return request.app.state.centre


CentreDep = Annotated[Centre, Depends(get_centre)]


def get_session(centre: CentreDep) -> Iterator[Session]:
    with centre.db.sessions() as session:
        try:
            yield session
        finally:
            session.rollback()


SessionDep = Annotated[Session, Depends(get_session)]


def optional_login(request: Request, centre: CentreDep) -> SignedIn | None:
    """The signed-in user or None; looked up once per request in its own short transaction."""
    if hasattr(request.state, "signed_in"):
        return request.state.signed_in
    with centre.db.transaction() as session:
        signed_in = resume(session, request.cookies.get(COOKIE_NAME), now=centre.clock())
    request.state.signed_in = signed_in
    return signed_in


def require_login(request: Request,
                  signed_in: Annotated[SignedIn | None, Depends(optional_login)]) -> SignedIn:
    """401 without a live session; 403 on a state-changing request without its CSRF token
    (header ``X-CSRF-Token`` for scripts, form field ``csrf_token`` is checked by pages)."""
    if signed_in is None:
        raise HTTPException(401, "not signed in")
    if request.method in UNSAFE_METHODS and not csrf_matches(
            signed_in, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong CSRF token (send the {CSRF_HEADER} header "
                                 "with the token from GET /api/v1/me)")
    return signed_in


LoginDep = Annotated[SignedIn, Depends(require_login)]


def current_actor(signed_in: LoginDep) -> Actor:
    return signed_in.actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def allow(*roles: Role) -> Any:
    """``Annotated[Actor, allow(Role.DISPATCHER)]``: the signed-in actor if their role is one of
    ``roles``, else 403 naming who may (dispatch's services check again underneath)."""

    def gate(request: Request, actor: ActorDep) -> Actor:
        route = request.scope.get("route")
        doing = f"{request.method} {getattr(route, 'path', request.url.path)}"
        require(actor, roles, doing)
        return actor

    return Depends(gate)
