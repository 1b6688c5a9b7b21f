"""Logging in: password check with lockout, server-side sessions, and their CSRF tokens.

Sessions live in the database (``user_sessions``), not in a signed cookie, so that several
centre processes share them and a logout or a deactivated user takes effect everywhere at once.
The cookie holds a random token; the table holds its sha256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from api.passwords import hash_password, needs_rehash, verify_password
from api.settings import LoginConfig
from dispatch import audit
from dispatch.access import Actor, require
from dispatch.errors import NotFound
from dispatch.models import User, UserSession
from dispatch.schemas import Role

COOKIE_NAME = "fishwatch_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class LoginRefused(Exception):
    """Wrong name or password, a locked or deactivated account: one message for all, so a
    guesser learns nothing about which names exist."""


@dataclass(frozen=True)
class SignedIn:
    """A valid session: who it acts for, its CSRF token, and the user's page language."""

    actor: Actor
    session_id: object
    csrf_token: str
    language: str
    display_name: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(session: Session, *, username: str, password: str, now: datetime,
           config: LoginConfig, client: str = "") -> tuple[str, SignedIn]:
    """Check the password and open a session; returns the cookie token and the session.

    ``max_failures`` wrong passwords in a row lock the account for ``lockout_min`` minutes
    (a correct password during the lockout is refused too). The caller commits: a failure
    is recorded as well, so it must commit before raising the refusal to the client.
    """
    user = session.scalar(sa.select(User).where(User.username == username).with_for_update())
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same time as for a real name
        raise LoginRefused("wrong user name or password")
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, at=now, actor=f"login:{username}", action="login.refused",
                     entity_type="user", entity_id=user.id, data={"reason": "locked"})
        raise LoginRefused("wrong user name or password, or the account is locked for a while")
    if not user.active or not verify_password(user.password_hash, password):
        user.failed_logins += 1
        data: dict[str, object] = {"reason": "password" if user.active else "inactive",
                                   "failures": user.failed_logins}
        if user.failed_logins >= config.max_failures:
            user.locked_until = now + timedelta(minutes=config.lockout_min)
            user.failed_logins = 0
            data["locked_until"] = user.locked_until
        audit.record(session, at=now, actor=f"login:{username}", action="login.refused",
                     entity_type="user", entity_id=user.id, data=data)
        raise LoginRefused("wrong user name or password, or the account is locked for a while")
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    token = secrets.token_urlsafe(32)
    row = UserSession(token_hash=_digest(token), csrf_token=secrets.token_urlsafe(32),
                      user_id=user.id, created_at=now, last_seen_at=now,
                      expires_at=now + timedelta(hours=config.session_hours),
                      client=client[:200])
    session.add(row)
    session.flush()
    actor = Actor(user.username, user.role, user.id, user.department_id)
    audit.record(session, at=now, actor=actor, action="login", entity_type="user",
                 entity_id=user.id, data={"session": row.id})
    return token, SignedIn(actor, row.id, row.csrf_token, user.language, user.display_name)


def resume(session: Session, token: str | None, *, now: datetime) -> SignedIn | None:
    """The live session behind a cookie token, or None (unknown, expired, revoked, or its
    user deactivated)."""
    if not token:
        return None
    row = session.scalar(sa.select(UserSession).where(UserSession.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if not user.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=5):  # bounded writes on busy pages
        row.last_seen_at = now
    actor = Actor(user.username, user.role, user.id, user.department_id)
    return SignedIn(actor, row.id, row.csrf_token, user.language, user.display_name)


def log_out(session: Session, token: str | None, *, now: datetime) -> None:
    if not token:
        return
    row = session.scalar(sa.select(UserSession).where(UserSession.token_hash == _digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        audit.record(session, at=now, actor=f"user:{row.user.username}", action="logout",
                     entity_type="user", entity_id=row.user_id, data={"session": row.id})


def csrf_matches(signed_in: SignedIn, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(signed_in.csrf_token, presented or "")


def set_password(session: Session, *, actor: Actor, at: datetime, username: str,
                 password: str) -> None:
    """Set a user's password (administrators for anyone; a user for themselves) and end
    their other sessions."""
    if actor.name != username:
        require(actor, {Role.ADMIN, Role.SYSTEM}, "set other users' passwords")
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    session.execute(sa.update(UserSession)
                    .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
                    .values(revoked_at=at))
    audit.record(session, at=at, actor=actor, action="user.password_set", entity_type="user",
                 entity_id=user.id, data={"username": username})


_DUMMY_HASH = hash_password("not-a-real-password-" + secrets.token_hex(8))
