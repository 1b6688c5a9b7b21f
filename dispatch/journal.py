"""An order's history: each line is an ``order_actions`` row plus its audit record.

Shared by the life-cycle service and the SLA sweep, so that both write history the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from dispatch import audit
from dispatch.access import Actor
from dispatch.models import Order, OrderAction
from dispatch.schemas import ActionKind, Disposition, OrderStatus, PhotoRef


def log_action(session: Session, order: Order, *, kind: ActionKind, actor: Actor, at: datetime,
               from_status: OrderStatus | None = None, to_status: OrderStatus | None = None,
               department_id: UUID | None = None, disposition: Disposition | None = None,
               note: str = "", photos: Sequence[PhotoRef] = (), event_id: UUID | None = None,
               data: dict[str, Any] | None = None) -> None:
    """Append one history line to ``order`` and its audit record."""
    session.add(OrderAction(
        order_id=order.id, at=at, kind=kind, actor=actor.label, actor_id=actor.user_id,
        from_status=from_status, to_status=to_status, department_id=department_id,
        disposition=disposition, note=note, event_id=event_id,
        photos=[p.model_dump(mode="json") for p in photos]))
    details: dict[str, Any] = {"from": from_status, "to": to_status, "round": order.round}
    details |= {k: v for k, v in [("department_id", department_id), ("disposition", disposition),
                                  ("note", note), ("event_id", event_id)] if v}
    if photos:
        details["photos"] = [p.sha256 for p in photos]
    audit.record(session, at=at, actor=actor, action=f"order.{kind.value}", entity_type="order",
                 entity_id=order.id, data=details | (data or {}))


def order_payload(order: Order) -> dict[str, Any]:
    """What a notification about ``order`` says: enough to show it, nothing personal."""
    return {"order_id": order.id, "status": order.status, "type": order.type,
            "severity": order.severity, "round": order.round,
            "sign_due_at": order.sign_due_at, "resolve_due_at": order.resolve_due_at}
