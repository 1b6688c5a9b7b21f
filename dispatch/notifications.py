"""Notifications: an outbox written with the change, delivered to webhooks, streamed to pages.

A service adds a notification in the same transaction as the change it announces, so a
notification exists exactly when its change committed. :class:`DeliveryWorker` then sends it
to every webhook that wants its kind: a JSON POST signed with HMAC-SHA256, retried with
exponential backoff. A delivery is claimed with a lease (``next_attempt_at`` moved past the
request's timeout) and sent outside any transaction, so several workers can run: each
delivery goes out at least once and receivers de-duplicate on ``X-Fishwatch-Delivery``.
Web pages follow :func:`read_notifications` (cursor: the notification id), scoped to what the
user may see.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from dispatch.access import ORDER_READERS, Actor
from dispatch.audit import canonical_json
from dispatch.db import Database
from dispatch.models import Delivery, Notification
from dispatch.schemas import (
    DeliveryStatus,
    NotificationKind,
    NotificationView,
    Role,
    utc_now,
)
from dispatch.settings import DispatchConfig, WebhookConfig

SIGNATURE_HEADER = "X-Fishwatch-Signature"
TIMESTAMP_HEADER = "X-Fishwatch-Timestamp"
DELIVERY_HEADER = "X-Fishwatch-Delivery"

#: Extra time a claimed delivery stays reserved beyond its request timeout.
LEASE_MARGIN = timedelta(seconds=60)


class Outbox:
    """Adds notifications (and their pending deliveries) to the caller's transaction."""

    def __init__(self, webhooks: list[WebhookConfig]) -> None:
        self.webhooks = webhooks

    def add(self, session: Session, *, at: datetime, kind: NotificationKind,
            department_id: UUID | None = None, order_id: UUID | None = None,
            case_id: UUID | None = None, payload: Mapping[str, Any]) -> None:
        notification = Notification(at=at, kind=kind, department_id=department_id,
                                    order_id=order_id, case_id=case_id,
                                    payload=json.loads(canonical_json(payload)))
        session.add(notification)
        for hook in self.webhooks:
            if hook.wants(kind):
                session.add(Delivery(notification=notification, webhook=hook.name,
                                     status=DeliveryStatus.PENDING, attempts=0,
                                     next_attempt_at=at, last_error=""))


def notification_view(notification: Notification) -> NotificationView:
    department = notification.department
    return NotificationView(id=notification.id, at=notification.at, kind=notification.kind,
                            order_id=notification.order_id, case_id=notification.case_id,
                            department=department.code if department else None,
                            payload=notification.payload)


def notification_scope(actor: Actor) -> sa.ColumnElement[bool]:
    """The notifications ``actor`` may see: the commission's to the commission only."""
    commission_kinds = [k for k in NotificationKind if k.commission_only]
    if actor.role is Role.COMMISSION:
        return sa.true()
    not_commission = Notification.kind.not_in(commission_kinds)
    if actor.role in ORDER_READERS:
        return not_commission
    if actor.role is Role.DEPARTMENT_STAFF and actor.department_id is not None:
        return sa.and_(not_commission, Notification.department_id == actor.department_id)
    return sa.false()


def read_notifications(session: Session, actor: Actor, *, after: int = 0,
                       limit: int = 100) -> list[NotificationView]:
    """Notifications with an id above ``after`` that ``actor`` may see, oldest first."""
    rows = session.scalars(
        sa.select(Notification).options(joinedload(Notification.department))
        .where(Notification.id > after, notification_scope(actor))
        .order_by(Notification.id).limit(min(limit, 1000)))
    return [notification_view(n) for n in rows]


def latest_notification_id(session: Session) -> int:
    """The stream's cursor now. A page reads it before the records it shows and follows
    the stream from it: it misses no change (one may arrive twice, as row and as news)."""
    return session.scalar(sa.select(sa.func.max(Notification.id))) or 0


async def follow(db: Database, actor: Actor, *, after: int = 0,
                 poll_s: float = 1.0) -> AsyncIterator[NotificationView]:
    """Yield notifications as they are committed, from any process (for server-sent events).

    Example:
        >>> async for note in follow(db, actor, after=last_event_id):  # doctest: +SKIP
        ...     yield f"id: {note.id}\\ndata: {note.model_dump_json()}\\n\\n"
    """
    def batch(cursor: int) -> list[NotificationView]:
        with db.transaction() as session:
            return read_notifications(session, actor, after=cursor)

    while True:
        found = await asyncio.to_thread(batch, after)
        for note in found:
            yield note
            after = note.id
        if not found:
            await asyncio.sleep(poll_s)


class DeliveryError(Exception):
    """A notification did not reach its receiver; it will be retried."""


class Notifier(Protocol):
    """Something that carries a notification to a receiver."""

    def send(self, note: NotificationView, *, delivery_id: int) -> None:
        """Deliver ``note`` or raise :class:`DeliveryError`."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``sha256=`` HMAC of ``"{timestamp}." + body``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: str, *, timestamp: str, body: bytes, signature: str,
                     now: datetime, tolerance: timedelta = timedelta(minutes=5)) -> bool:
    """For receivers: the signature matches and the timestamp is recent (no replays)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)


class WebhookNotifier:
    """POSTs notifications as signed JSON to one configured URL."""

    def __init__(self, hook: WebhookConfig, client: httpx.Client,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.hook = hook
        self.client = client
        self.clock = clock

    def send(self, note: NotificationView, *, delivery_id: int) -> None:
        body = note.model_dump_json().encode()
        timestamp = int(self.clock().timestamp())
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: str(delivery_id),
                   TIMESTAMP_HEADER: str(timestamp),
                   SIGNATURE_HEADER: sign(self.hook.secret.get_secret_value(), timestamp, body)}
        try:
            response = self.client.post(str(self.hook.url), content=body, headers=headers,
                                        timeout=self.hook.timeout_s)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if not response.is_success:
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class DeliveryWorker:
    """Sends due deliveries; run it periodically, in as many processes as you like."""

    def __init__(self, db: Database, config: DispatchConfig, *, client: httpx.Client,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.notifiers: Mapping[str, Notifier] = {
            hook.name: WebhookNotifier(hook, client, clock) for hook in config.webhooks}

    def run_once(self, *, batch: int = 50) -> DeliveryReport:
        """Claim up to ``batch`` due deliveries, send them, record each outcome."""
        claimed = self._claim(batch)
        outcomes: list[tuple[int, str | None]] = []
        for delivery_id, webhook, note in claimed:
            notifier = self.notifiers.get(webhook)
            if notifier is None:
                outcomes.append((delivery_id, f"webhook {webhook!r} is no longer configured"))
                continue
            try:
                notifier.send(note, delivery_id=delivery_id)
                outcomes.append((delivery_id, None))
            except DeliveryError as exc:
                outcomes.append((delivery_id, str(exc)))
        return self._record(outcomes)

    def _claim(self, batch: int) -> list[tuple[int, str, NotificationView]]:
        now = self.clock()
        with self.db.transaction() as session:
            rows = session.scalars(
                sa.select(Delivery)
                .options(joinedload(Delivery.notification).joinedload(Notification.department))
                .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at).limit(batch)
                .with_for_update(skip_locked=True, of=Delivery)).unique().all()
            claimed = []
            for row in rows:
                hook = self.config.webhook(row.webhook)
                timeout = timedelta(seconds=hook.timeout_s if hook else 0)
                row.attempts += 1
                row.next_attempt_at = now + timeout + LEASE_MARGIN
                claimed.append((row.id, row.webhook, notification_view(row.notification)))
            return claimed

    def _record(self, outcomes: list[tuple[int, str | None]]) -> DeliveryReport:
        now = self.clock()
        delivered = retrying = failed = 0
        with self.db.transaction() as session:
            for delivery_id, error in outcomes:
                row = session.get_one(Delivery, delivery_id)
                hook = self.config.webhook(row.webhook)
                if error is None:
                    row.status, row.delivered_at, row.last_error = (
                        DeliveryStatus.DELIVERED, now, "")
                    delivered += 1
                elif hook is None or row.attempts >= hook.max_attempts:
                    row.status, row.last_error = DeliveryStatus.FAILED, error
                    failed += 1
                else:
                    delay = hook.backoff_s * 2 ** (row.attempts - 1)
                    row.next_attempt_at = now + timedelta(seconds=delay)
                    row.last_error = error
                    retrying += 1
        return DeliveryReport(delivered, retrying, failed)
