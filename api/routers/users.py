"""Users: administrators add users, change their role and department, deactivate them and
set their passwords; every user changes their own password and page language.

A role change applies to the user's open sessions at their next request; a password change
(by anyone) ends every session of that user, this one included.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import ActorDep, CentreDep, LoginDep, SessionDep, allow
from api.passwords import WeakPassword, verify_password
from api.schemas import (
    LanguageSet,
    OwnPasswordChange,
    PasswordSet,
    RoleChange,
    UserCreate,
    operation_id,
)
from api.sessions import set_password
from dispatch.access import Actor
from dispatch.errors import InvalidRequest
from dispatch.registry import (
    UserView,
    change_role,
    create_user,
    deactivate_user,
    get_user,
    list_users,
    password_hash_of,
    set_language,
)
from dispatch.schemas import Role

router = APIRouter(prefix="/api/v1", tags=["users"], generate_unique_id_function=operation_id)

Admin = Annotated[Actor, allow(Role.ADMIN)]
Username = Annotated[str, Path(min_length=1, max_length=100)]


def _set_password(session: SessionDep, centre: CentreDep, actor: Actor, username: str,
                  password: str) -> None:
    try:
        set_password(session, actor=actor, at=centre.clock(), username=username,
                     password=password)
    except WeakPassword as exc:
        raise InvalidRequest(str(exc)) from None


@router.get("/users")
def list_all_users(actor: Admin, session: SessionDep) -> list[UserView]:
    """Every user, active ones first."""
    return list_users(session, actor=actor)


@router.post("/users", status_code=201)
def add_user(body: UserCreate, actor: Admin, centre: CentreDep,
             session: SessionDep) -> UserView:
    """A new user; department staff need their ``department``. Without a password the user
    cannot sign in until one is set."""
    create_user(session, actor=actor, at=centre.clock(), username=body.username,
                display_name=body.display_name, role=body.role, department=body.department)
    if body.password is not None:
        _set_password(session, centre, actor, body.username, body.password)
    view = get_user(session, actor=actor, username=body.username)
    session.commit()
    return view


@router.get("/users/{username}")
def get_one_user(username: Username, actor: Admin, session: SessionDep) -> UserView:
    return get_user(session, actor=actor, username=username)


@router.put("/users/{username}/role")
def set_role(username: Username, body: RoleChange, actor: Admin, centre: CentreDep,
             session: SessionDep) -> UserView:
    """Another role (and department, for department staff); not for yourself."""
    change_role(session, actor=actor, at=centre.clock(), username=username, role=body.role,
                department=body.department)
    view = get_user(session, actor=actor, username=username)
    session.commit()
    return view


@router.post("/users/{username}/deactivate")
def deactivate(username: Username, actor: Admin, centre: CentreDep,
               session: SessionDep) -> UserView:
    """The user can no longer sign in and their sessions stop working; not for yourself."""
    deactivate_user(session, actor=actor, at=centre.clock(), username=username)
    view = get_user(session, actor=actor, username=username)
    session.commit()
    return view


@router.put("/users/{username}/password", status_code=204)
def reset_password(username: Username, body: PasswordSet, actor: Admin, centre: CentreDep,
                   session: SessionDep) -> None:
    """Set a user's password (and end their sessions), e.g. when they forgot theirs."""
    _set_password(session, centre, actor, username, body.password)
    session.commit()


@router.put("/me/password", status_code=204)
def change_own_password(body: OwnPasswordChange, actor: ActorDep, centre: CentreDep,
                        session: SessionDep) -> None:
    """Change your own password (the current one is needed); every session of yours ends,
    this one included: sign in again with the new password."""
    if not verify_password(password_hash_of(session, actor), body.current_password):
        raise InvalidRequest("the current password is wrong")
    _set_password(session, centre, actor, actor.name, body.new_password)
    session.commit()


@router.put("/me/language", status_code=204)
def change_language(body: LanguageSet, signed_in: LoginDep, centre: CentreDep,
                    session: SessionDep) -> None:
    """The language of your pages: zh (Chinese) or en (English)."""
    set_language(session, actor=signed_in.actor, at=centre.clock(), language=body.language)
    session.commit()
