"""Signing in and out from a browser, the language switch, and each role's start page.

The login form carries no CSRF token (there is no session yet to bind it to): the session
cookie is ``SameSite=Lax`` and HttpOnly, so another site cannot post with it, and a forged
login could only sign someone into an account the forger already knows the password of.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import CentreDep, SessionDep, optional_login
from api.i18n import LANGUAGE_COOKIE, LANGUAGES
from api.pages.deps import PageError, PageUser
from api.pages.templating import render
from api.routers.auth import set_session_cookie
from api.sessions import (
    COOKIE_NAME,
    CSRF_FIELD,
    LoginRefused,
    SignedIn,
    csrf_matches,
    log_in,
    log_out,
)
from dispatch.registry import set_language
from dispatch.schemas import Role

router = APIRouter(include_in_schema=False)

#: Where each role starts.
START_PAGES = {Role.DEPARTMENT_STAFF: "/inbox", Role.DISPATCHER: "/inbox",
               Role.ANALYST: "/reviews", Role.COMMISSION: "/commission",
               Role.AUDITOR: "/overview", Role.ADMIN: "/admin"}

#: A year: the language cookie is a preference, not a secret.
LANGUAGE_COOKIE_AGE_S = 365 * 24 * 3600


def local_target(url: str | None, fallback: str) -> str:
    """``url`` if it is a path on this site; anything else (``//evil``, ``https://``) is
    replaced by ``fallback``, so the login page cannot bounce a user to another site."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return fallback


@router.get("/")
def home(signed_in: PageUser) -> Response:
    return RedirectResponse(START_PAGES.get(signed_in.actor.role, "/overview"), status_code=303)


@router.get("/login")
def login_page(request: Request,
               signed_in: Annotated[SignedIn | None, Depends(optional_login)],
               next: str = "/") -> Response:
    if signed_in is not None:
        return RedirectResponse(local_target(next, "/"), status_code=303)
    return render(request, "login.html", None, next=local_target(next, "/"))


@router.post("/login")
def login(request: Request, centre: CentreDep, session: SessionDep,
          username: Annotated[str, Form(max_length=100)],
          password: Annotated[str, Form(max_length=1000)],
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    try:
        token, signed_in = log_in(session, username=username, password=password,
                                  now=centre.clock(), config=centre.config.login,
                                  client=request.headers.get("user-agent", ""))
    except LoginRefused:
        session.commit()  # the failure counts towards the lockout
        return render(request, "login.html", None, status=401, refused=True,
                      username=username, next=local_target(next, "/"))
    session.commit()
    target = local_target(next, "/")
    if target == "/":
        target = START_PAGES.get(signed_in.actor.role, "/overview")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, centre.config.login.secure_cookies, token,
                       int(centre.config.login.session_hours * 3600))
    return response


@router.post("/logout")
async def logout(request: Request, centre: CentreDep, session: SessionDep,
                 signed_in: PageUser) -> Response:
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_matches(signed_in, token if isinstance(token, str) else None):
        raise PageError(403, "error.csrf")
    log_out(session, request.cookies.get(COOKIE_NAME), now=centre.clock())
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.post("/language")
async def choose_language(request: Request, centre: CentreDep, session: SessionDep,
                          signed_in: Annotated[SignedIn | None, Depends(optional_login)],
                          lang: Annotated[str, Form(max_length=8)],
                          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Keep the choice in a cookie, and for a signed-in user in their account (their
    other devices follow); a signed-in user's post needs the CSRF field like any other."""
    if lang not in LANGUAGES:
        raise PageError(422, "error.422", f"language {lang!r} is not one of "
                                          f"{', '.join(LANGUAGES)}")
    if signed_in is not None:
        token = (await request.form()).get(CSRF_FIELD)
        if not csrf_matches(signed_in, token if isinstance(token, str) else None):
            raise PageError(403, "error.csrf")
        set_language(session, actor=signed_in.actor, at=centre.clock(), language=lang)
        session.commit()
    response = RedirectResponse(local_target(next, "/"), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=LANGUAGE_COOKIE_AGE_S, samesite="lax",
                        secure=centre.config.login.secure_cookies, path="/")
    return response
