"""The centre's reference data: departments (from the config), users, edge boxes and cameras.

Changes are audited like any other; nothing is deleted: a department dropped from the config
and a user who leaves are deactivated.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from dispatch import audit
from dispatch.access import Actor, require
from dispatch.errors import InvalidRequest, NotFound
from dispatch.models import Camera, Department, Device, User
from dispatch.schemas import Role, View
from dispatch.settings import DispatchConfig

MANAGERS = frozenset({Role.ADMIN, Role.SYSTEM})


def sync_departments(session: Session, config: DispatchConfig, *, actor: Actor,
                     at: datetime) -> None:
    """Make the departments table match ``config.departments`` (start-up runs this)."""
    require(actor, MANAGERS, "change departments")
    rows = {d.code: d for d in session.scalars(sa.select(Department))}
    for wanted in config.departments:
        row = rows.get(wanted.code)
        if row is None:
            row = rows[wanted.code] = Department(code=wanted.code, name=wanted.name, active=True)
            session.add(row)
            audit.record(session, at=at, actor=actor, action="department.created",
                         entity_type="department", entity_id=wanted.code,
                         data={"name": wanted.name})
        elif (row.name, row.active) != (wanted.name, True):
            row.name, row.active = wanted.name, True
            audit.record(session, at=at, actor=actor, action="department.updated",
                         entity_type="department", entity_id=wanted.code,
                         data={"name": wanted.name, "active": True})
    session.flush()
    for wanted in config.departments:
        row = rows[wanted.code]
        supervisor_id = rows[wanted.supervisor].id if wanted.supervisor else None
        if row.supervisor_id != supervisor_id:
            row.supervisor_id = supervisor_id
            audit.record(session, at=at, actor=actor, action="department.supervisor_set",
                         entity_type="department", entity_id=wanted.code,
                         data={"supervisor": wanted.supervisor})
    configured = {d.code for d in config.departments}
    for code, row in rows.items():
        if code not in configured and row.active:
            row.active = False
            audit.record(session, at=at, actor=actor, action="department.deactivated",
                         entity_type="department", entity_id=code)


def department_id(session: Session, code: str) -> UUID:
    found = session.scalar(sa.select(Department.id).where(Department.code == code,
                                                          Department.active))
    if found is None:
        raise NotFound(f"no active department {code!r}")
    return found


def create_user(session: Session, *, actor: Actor, at: datetime, username: str,
                display_name: str, role: Role, department: str | None = None) -> UUID:
    """Add a user; department staff need their department, other roles must not have one."""
    require(actor, MANAGERS, "create users")
    _check_role(role, department)
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise InvalidRequest(f"user {username!r} already exists")
    user = User(username=username, display_name=display_name, role=role, created_at=at,
                department_id=department_id(session, department) if department else None)
    try:
        with session.begin_nested():  # another request may add the same name after the check
            session.add(user)
    except IntegrityError:
        raise InvalidRequest(f"user {username!r} already exists") from None
    audit.record(session, at=at, actor=actor, action="user.created", entity_type="user",
                 entity_id=user.id, data={"username": username, "role": role,
                                          "department": department})
    return user.id


def _check_role(role: Role, department: str | None) -> None:
    if role is Role.SYSTEM:
        raise InvalidRequest("role 'system' is reserved for the centre's own jobs")
    if (role is Role.DEPARTMENT_STAFF) != (department is not None):
        raise InvalidRequest("department staff need a department and only they have one "
                             f"(role {role.value}, department {department!r})")


def change_role(session: Session, *, actor: Actor, at: datetime, username: str, role: Role,
                department: str | None = None) -> None:
    """Give a user another role (and department, for department staff); it applies to
    their open sessions at their next request."""
    require(actor, MANAGERS, "change users' roles")
    _check_role(role, department)
    user = session.scalar(sa.select(User).where(User.username == username).with_for_update())
    if user is None:
        raise NotFound(f"no user {username!r}")
    if user.id == actor.user_id:
        raise InvalidRequest("you cannot change your own role (another administrator can)")
    new_department = department_id(session, department) if department else None
    if (user.role, user.department_id) != (role, new_department):
        user.role, user.department_id = role, new_department
        audit.record(session, at=at, actor=actor, action="user.role_changed", entity_type="user",
                     entity_id=user.id, data={"username": username, "role": role,
                                              "department": department})


def deactivate_user(session: Session, *, actor: Actor, at: datetime, username: str) -> None:
    require(actor, MANAGERS, "deactivate users")
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    if user.id == actor.user_id:
        raise InvalidRequest("you cannot deactivate yourself (another administrator can)")
    if user.active:
        user.active = False
        audit.record(session, at=at, actor=actor, action="user.deactivated", entity_type="user",
                     entity_id=user.id, data={"username": username})


def register_camera(session: Session, *, actor: Actor, at: datetime, device: str, camera: str,
                    place: str = "", area: str = "", grid: str = "", lat: float | None = None,
                    lon: float | None = None) -> UUID:
    """Add or update a camera of an edge box (the box is registered on first use).

    ``area`` and ``grid`` are what routing rules match on.
    """
    require(actor, MANAGERS, "register cameras")
    if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
        raise InvalidRequest(f"lat/lon out of range: {lat}, {lon}")
    box = session.scalar(sa.select(Device).where(Device.code == device))
    if box is None:
        box = Device(code=device, registered_at=at)
        session.add(box)
        session.flush()
        audit.record(session, at=at, actor=actor, action="device.registered",
                     entity_type="device", entity_id=box.id, data={"code": device})
    row = session.scalar(sa.select(Camera).where(Camera.device_id == box.id,
                                                 Camera.name == camera))
    fields = {"place": place, "area": area, "grid": grid, "lat": lat, "lon": lon}
    if row is None:
        row = Camera(device_id=box.id, name=camera, **fields)
        session.add(row)
        session.flush()
    elif all(getattr(row, k) == v for k, v in fields.items()):
        return row.id
    else:
        for key, value in fields.items():
            setattr(row, key, value)
    audit.record(session, at=at, actor=actor, action="camera.registered", entity_type="camera",
                 entity_id=row.id, data={"device": device, "camera": camera, **fields})
    return row.id



class UserView(View):
    username: str
    display_name: str
    role: Role
    department: str | None
    active: bool
    language: str
    locked_until: datetime | None
    created_at: datetime


def list_users(session: Session, *, actor: Actor) -> list[UserView]:
    """Every user, active ones first, for the administrators."""
    require(actor, MANAGERS, "list users")
    return _user_views(session)


def get_user(session: Session, *, actor: Actor, username: str) -> UserView:
    """One user, for the administrators (or the user themself)."""
    if actor.name != username:
        require(actor, MANAGERS, "read other users")
    found = _user_views(session, User.username == username)
    if not found:
        raise NotFound(f"no user {username!r}")
    return found[0]


def _user_views(session: Session, *conditions: sa.ColumnElement[bool]) -> list[UserView]:
    rows = session.execute(sa.select(User, Department.code)
                           .outerjoin(Department, User.department_id == Department.id)
                           .where(*conditions).order_by(User.active.desc(), User.username))
    return [UserView(username=u.username, display_name=u.display_name, role=u.role,
                     department=code, active=u.active, language=u.language,
                     locked_until=u.locked_until, created_at=u.created_at) for u, code in rows]


#: The languages the pages are written in.
LANGUAGES = ("zh", "en")


def set_language(session: Session, *, actor: Actor, at: datetime, language: str) -> None:
    """A user's own choice of page language."""
    if language not in LANGUAGES:
        raise InvalidRequest(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound(f"no user {actor.name!r}")
    if user.language != language:
        user.language = language
        audit.record(session, at=at, actor=actor, action="user.language_set",
                     entity_type="user", entity_id=user.id, data={"language": language})


class DepartmentView(View):
    code: str
    name: str
    supervisor: str | None
    active: bool


def list_departments(session: Session) -> list[DepartmentView]:
    """Every department (inactive ones too: old orders name them), by code; any user may
    read them (filters and redispatch offer them)."""
    supervisor = aliased(Department)
    rows = session.execute(sa.select(Department, supervisor.code)
                           .outerjoin(supervisor, Department.supervisor_id == supervisor.id)
                           .order_by(Department.code))
    return [DepartmentView(code=d.code, name=d.name, supervisor=code, active=d.active)
            for d, code in rows]


def password_hash_of(session: Session, actor: Actor) -> str | None:
    """The acting user's own stored password hash (to check a password they type again)."""
    if actor.user_id is None:
        return None
    return session.scalar(sa.select(User.password_hash).where(User.id == actor.user_id))
