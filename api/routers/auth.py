"""Signing in and out, and who am I (with the CSRF token scripts must send back)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from api.deps import CentreDep, LoginDep, SessionDep
from api.sessions import COOKIE_NAME, LoginRefused, SignedIn, log_in, log_out
from dispatch.schemas import Role

router = APIRouter(prefix="/api/v1", tags=["auth"])


class Credentials(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class Me(BaseModel):
    username: str
    display_name: str
    role: Role
    language: str
    csrf_token: str


def me_of(signed_in: SignedIn) -> Me:
    return Me(username=signed_in.actor.name, display_name=signed_in.display_name,
              role=signed_in.actor.role, language=signed_in.language,
              csrf_token=signed_in.csrf_token)


def set_session_cookie(response: Response, centre_secure: bool, token: str,
                       max_age_s: int) -> None:
    response.set_cookie(COOKIE_NAME, token, max_age=max_age_s, httponly=True,
                        samesite="lax", secure=centre_secure, path="/")


@router.post("/auth/login", responses={401: {"description": "wrong name or password, or "
                                                              "the account is locked"}})
def login(credentials: Credentials, request: Request, response: Response,
          centre: CentreDep, session: SessionDep) -> Me:
    """Open a browser session (an HttpOnly cookie); send the returned ``csrf_token`` in the
    ``X-CSRF-Token`` header of every state-changing request."""
    try:
        token, signed_in = log_in(session, username=credentials.username,
                                  password=credentials.password, now=centre.clock(),
                                  config=centre.config.login,
                                  client=request.headers.get("user-agent", ""))
    except LoginRefused as exc:
        session.commit()  # the failure counts towards the lockout
        raise HTTPException(401, str(exc)) from None
    session.commit()
    set_session_cookie(response, centre.config.login.secure_cookies, token,
                       int(centre.config.login.session_hours * 3600))
    return me_of(signed_in)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, _signed_in: LoginDep, centre: CentreDep,
           session: SessionDep) -> None:
    log_out(session, request.cookies.get(COOKIE_NAME), now=centre.clock())
    session.commit()
    response.delete_cookie(COOKIE_NAME, path="/")


@router.get("/me")
def me(signed_in: LoginDep) -> Me:
    return me_of(signed_in)
