"""Administration: departments and routing rules (read from the config, where they are
changed), users and roles (create, deactivate, set a password), edge boxes and their tokens
(register, issue — the token is shown once — revoke). Administrators only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.centre import Centre
from api.deps import CentreDep, SessionDep
from api.pages.deps import PageError, allow, checked_form
from api.pages.templating import render
from api.passwords import WeakPassword
from api.sessions import SignedIn, set_password
from dispatch.devices import (
    IssuedToken,
    add_device,
    fleet,
    issue_token,
    list_tokens,
    revoke_tokens,
)
from dispatch.errors import DispatchError
from dispatch.registry import create_user, deactivate_user, list_users
from dispatch.schemas import Role

router = APIRouter(include_in_schema=False)

Admin = Annotated[SignedIn, Depends(allow(Role.ADMIN))]


def _admin_form(signed_in: Annotated[SignedIn, Depends(checked_form)]) -> SignedIn:
    if signed_in.actor.role is not Role.ADMIN:
        raise PageError(403, "error.403")
    return signed_in


AdminForm = Annotated[SignedIn, Depends(_admin_form)]
Name = Annotated[str, Form(min_length=1, max_length=100)]
#: What the admin page's forms report when they succeed.
DONE = {"user_created", "user_deactivated", "password_set", "token_revoked", "device_added"}


def _admin_page(request: Request, centre: Centre, session: Session, signed_in: SignedIn, *,
                status: int = 200, error: str = "", done: str = "",
                issued: IssuedToken | None = None) -> Response:
    actor = signed_in.actor
    devices = fleet(session, actor=actor, now=centre.clock(),
                    offline_after=timedelta(seconds=centre.config.device_offline_after_s))
    tokens = {d.code: list_tokens(session, actor=actor, device=d.code) for d in devices}
    response = render(request, "admin.html", signed_in, status=status, error=error, done=done,
                      issued=issued, users=list_users(session, actor=actor), devices=devices,
                      tokens=tokens, departments=centre.dispatch.departments,
                      routing=centre.dispatch.routing,
                      roles=[r for r in Role if r is not Role.SYSTEM])
    if issued is not None:
        response.headers["Cache-Control"] = "no-store"  # the token is shown this once
    return response


@router.get("/admin")
def admin_page(request: Request, centre: CentreDep, session: SessionDep, signed_in: Admin,
               done: str = "") -> Response:
    return _admin_page(request, centre, session, signed_in, done=done if done in DONE else "")


def _change(request: Request, centre: Centre, session: Session, signed_in: SignedIn,
            done: str, change: Callable[[], object]) -> Response:
    try:
        change()
    except (DispatchError, WeakPassword) as exc:
        session.rollback()
        status = PageError.of(exc).status if isinstance(exc, DispatchError) else 422
        return _admin_page(request, centre, session, signed_in, status=status, error=str(exc))
    session.commit()
    return RedirectResponse(f"/admin?done={done}", status_code=303)


@router.post("/admin/users")
def new_user(request: Request, centre: CentreDep, session: SessionDep, signed_in: AdminForm,
             username: Name, display_name: Annotated[str, Form(min_length=1, max_length=200)],
             role: Annotated[Role, Form()], department: Annotated[str, Form(max_length=63)] = "",
             password: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """A user with a role (department staff with their department) and, if given, a password."""
    def create() -> None:
        create_user(session, actor=signed_in.actor, at=centre.clock(), username=username.strip(),
                    display_name=display_name.strip(), role=role,
                    department=department or None)
        if password:
            set_password(session, actor=signed_in.actor, at=centre.clock(),
                         username=username.strip(), password=password)

    return _change(request, centre, session, signed_in, "user_created", create)


@router.post("/admin/users/{username}/deactivate")
def deactivate(request: Request, centre: CentreDep, session: SessionDep, signed_in: AdminForm,
               username: str) -> Response:
    return _change(request, centre, session, signed_in, "user_deactivated",
                   lambda: deactivate_user(session, actor=signed_in.actor, at=centre.clock(),
                                           username=username))


@router.post("/admin/users/{username}/password")
def new_password(request: Request, centre: CentreDep, session: SessionDep,
                 signed_in: AdminForm, username: str,
                 password: Annotated[str, Form(max_length=1000)]) -> Response:
    """Set a password; the user's open sessions end."""
    return _change(request, centre, session, signed_in, "password_set",
                   lambda: set_password(session, actor=signed_in.actor, at=centre.clock(),
                                        username=username, password=password))


@router.post("/admin/devices")
def new_device(request: Request, centre: CentreDep, session: SessionDep, signed_in: AdminForm,
               code: Name) -> Response:
    return _change(request, centre, session, signed_in, "device_added",
                   lambda: add_device(session, actor=signed_in.actor, at=centre.clock(),
                                      code=code.strip()))


@router.post("/admin/devices/{code}/tokens")
def new_token(request: Request, centre: CentreDep, session: SessionDep, signed_in: AdminForm,
              code: str, label: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Issue a token and show it on this response only (it is stored as a hash)."""
    try:
        issued = issue_token(session, actor=signed_in.actor, at=centre.clock(), device=code,
                             label=label.strip())
    except DispatchError as exc:
        session.rollback()
        return _admin_page(request, centre, session, signed_in,
                           status=PageError.of(exc).status, error=str(exc))
    session.commit()
    return _admin_page(request, centre, session, signed_in, done="token_issued", issued=issued)


@router.post("/admin/devices/{code}/tokens/{token_id}/revoke")
def revoke(request: Request, centre: CentreDep, session: SessionDep, signed_in: AdminForm,
           code: str, token_id: UUID) -> Response:
    return _change(request, centre, session, signed_in, "token_revoked",
                   lambda: revoke_tokens(session, actor=signed_in.actor, at=centre.clock(),
                                         device=code, token_id=token_id))
