"""Who may see and do what: deny by default, one scope filter per kind of record.

Every query function takes the acting :class:`Actor` and filters with the scope here, so a
department's staff see their department's orders (and those escalated to it) and nothing
else; the HTTP layer's role checks come on top, not instead.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dispatch.errors import NotFound, PermissionDenied
from dispatch.models import Order, User
from dispatch.schemas import Role

#: Roles that read every order; department staff read their own; any other role nothing.
ORDER_READERS = frozenset({Role.ADMIN, Role.DISPATCHER, Role.ANALYST, Role.AUDITOR,
                           Role.COMMISSION, Role.SYSTEM})


@dataclass(frozen=True)
class Actor:
    """The user (or centre job) a call acts for; recorded in every history and audit line.

    Example:
        >>> Actor.system("sla-sweep").label
        'system:sla-sweep'
    """

    name: str
    role: Role
    user_id: UUID | None = None
    department_id: UUID | None = None

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(name=job, role=Role.SYSTEM)

    @property
    def label(self) -> str:
        return f"{self.role.value}:{self.name}"


def actor_for(session: Session, username: str) -> Actor:
    """The acting user by name; inactive users act for no one."""
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    if not user.active:
        raise PermissionDenied(f"user {username!r} is deactivated")
    return Actor(user.username, user.role, user.id, user.department_id)


def require(actor: Actor, roles: Collection[Role], doing: str) -> None:
    """Refuse unless the actor has one of ``roles``; the message says who may."""
    if actor.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise PermissionDenied(f"{actor.label} may not {doing} (allowed roles: {allowed})")


def order_scope(actor: Actor) -> sa.ColumnElement[bool]:
    """WHERE clause: the orders ``actor`` may read."""
    if actor.role in ORDER_READERS:
        return sa.true()
    if actor.role is Role.DEPARTMENT_STAFF and actor.department_id is not None:
        return sa.or_(Order.department_id == actor.department_id,
                      Order.escalated_to_id == actor.department_id)
    return sa.false()
