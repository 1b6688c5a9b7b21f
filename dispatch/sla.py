"""Deadlines and the periodic sweep: reminders, overdue alarms, chasing (催办), escalation (督办).

Each order has two deadlines from its SLA rule: sign for it (while dispatched) and submit
feedback (while dispatched, signed or in progress). For each running deadline the sweep
sends, once each: a reminder ``remind_before_min`` ahead, an overdue alarm at the deadline,
then a chase every ``chase_every_min`` and, from the ``escalate_after_chases``-th chase on,
one escalation to the supervising department. A resolve deadline exceeded by the
commission's ``overdue_hours`` opens a commission case.

Safety with several centre processes: the sweep picks orders whose ``next_check_at`` has
come, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two sweepers never hold the same order;
after handling one it moves ``next_check_at`` to the next milestone in the same transaction,
so a sweeper that arrives later no longer selects it. Each reminder is a row unique on
(order, round, phase, kind, number) and is checked before it is written: running a sweep
twice, or two at once, sends nothing twice. SQLite has no row locks; there every transaction
takes the database's write lock first (``BEGIN IMMEDIATE``), so sweeps run one after
another with the same result. A sweep that was down does not replay missed chases: it sends
the latest one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dispatch.access import Actor
from dispatch.commission import open_case
from dispatch.db import Database
from dispatch.journal import log_action, order_payload
from dispatch.models import Department, Order, Reminder
from dispatch.notifications import Outbox
from dispatch.schemas import (
    ACTIVE_STATES,
    ActionKind,
    CaseTrigger,
    EventType,
    NotificationKind,
    OrderStatus,
    ReminderKind,
    ReminderPhase,
    Severity,
    utc_now,
)
from dispatch.settings import DispatchConfig

SWEEPER = Actor.system("sla-sweep")


@dataclass(frozen=True)
class Milestone:
    """One reminder slot: unique per order round, phase, kind and number."""

    at: datetime
    phase: ReminderPhase
    kind: ReminderKind
    seq: int = 0


@dataclass(frozen=True)
class Plan:
    """What is due for an order now, and when to look at it next (None: nothing left)."""

    due: list[Milestone]
    commission_due: bool
    next_check: datetime | None


class SlaPolicy:
    """Deadlines and milestones from the config's SLA rules."""

    def __init__(self, config: DispatchConfig) -> None:
        self.sla = config.sla
        self.overdue_for_commission = timedelta(hours=config.commission.overdue_hours)

    def deadlines(self, event_type: EventType, severity: Severity,
                  dispatched_at: datetime) -> tuple[datetime, datetime]:
        """(sign by, resolve by) for an order dispatched at ``dispatched_at``."""
        rule = self.sla.rule_for(event_type, severity)
        return (dispatched_at + timedelta(minutes=rule.sign_within_min),
                dispatched_at + timedelta(minutes=rule.resolve_within_min))

    def plan(self, order: Order, now: datetime) -> Plan:
        """Milestones that have come by ``now`` and the next one still to come."""
        rule = self.sla.rule_for(order.type, order.severity)
        remind = timedelta(minutes=rule.remind_before_min)
        chase = timedelta(minutes=rule.chase_every_min)
        due: list[Milestone] = []
        upcoming: list[datetime] = []
        commission_due = False
        phases = []
        if order.status is OrderStatus.DISPATCHED:
            phases.append((ReminderPhase.SIGN, order.sign_due_at))
        if order.status in ACTIVE_STATES:
            phases.append((ReminderPhase.RESOLVE, order.resolve_due_at))
        for phase, deadline in phases:
            if now < deadline:
                if remind and now >= deadline - remind:
                    due.append(Milestone(deadline - remind, phase, ReminderKind.DUE_SOON))
                elif remind:
                    upcoming.append(deadline - remind)
                upcoming.append(deadline)
                continue
            due.append(Milestone(deadline, phase, ReminderKind.OVERDUE))
            chases = (now - deadline) // chase
            if chases >= 1:
                due.append(Milestone(deadline + chases * chase, phase, ReminderKind.CHASE, chases))
            if chases >= rule.escalate_after_chases:
                due.append(Milestone(deadline + rule.escalate_after_chases * chase, phase,
                                     ReminderKind.ESCALATION))
            upcoming.append(deadline + (chases + 1) * chase)
            if phase is ReminderPhase.RESOLVE:
                threshold = deadline + self.overdue_for_commission
                commission_due = now >= threshold
                if not commission_due:
                    upcoming.append(threshold)
        return Plan(due, commission_due, min(upcoming, default=None))


@dataclass
class SweepReport:
    orders: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    cases_opened: int = 0


#: What each reminder kind writes into the order's history and which notification it sends.
_EFFECTS = {
    ReminderKind.DUE_SOON: (ActionKind.REMINDED, NotificationKind.ORDER_DUE_SOON),
    ReminderKind.OVERDUE: (ActionKind.OVERDUE, NotificationKind.ORDER_OVERDUE),
    ReminderKind.CHASE: (ActionKind.CHASED, NotificationKind.ORDER_CHASED),
    ReminderKind.ESCALATION: (ActionKind.ESCALATED, NotificationKind.ORDER_ESCALATED),
}


class Sweeper:
    """The periodic deadline job; safe to run in several processes at once.

    Example:
        >>> report = Sweeper(db, config).run_once()  # doctest: +SKIP
        >>> report.sent["chase"]
        3
    """

    def __init__(self, db: Database, config: DispatchConfig, *,
                 clock: Callable[[], datetime] = utc_now, batch: int = 200) -> None:
        self.db = db
        self.policy = SlaPolicy(config)
        self.outbox = Outbox(config.webhooks)
        self.clock = clock
        self.batch = batch

    def run_once(self) -> SweepReport:
        """Handle every order whose next check has come, a batch per transaction."""
        now = self.clock()
        report = SweepReport()
        while True:
            with self.db.transaction() as session:
                orders = session.scalars(
                    sa.select(Order)
                    .where(Order.next_check_at <= now)
                    .order_by(Order.next_check_at).limit(self.batch)
                    .with_for_update(skip_locked=True)).all()
                for order in orders:
                    self._check(session, order, now, report)
            report.orders += len(orders)
            if len(orders) < self.batch:
                return report

    def _check(self, session: Session, order: Order, now: datetime,
               report: SweepReport) -> None:
        plan = self.policy.plan(order, now)
        for milestone in plan.due:
            if self._send(session, order, milestone, now):
                report.sent[milestone.kind.value] += 1
        if plan.commission_due:
            opened = open_case(session, order=order, trigger=CaseTrigger.OVERDUE, actor=SWEEPER,
                               at=now, outbox=self.outbox)
            report.cases_opened += opened.new
        order.next_check_at = plan.next_check

    def _send(self, session: Session, order: Order, milestone: Milestone, now: datetime) -> bool:
        key = {"order_id": order.id, "round": order.round, "phase": milestone.phase,
               "kind": milestone.kind, "seq": milestone.seq}
        if session.scalar(sa.select(Reminder.id).filter_by(**key)) is not None:
            return False
        recipient: UUID | None = order.department_id
        if milestone.kind is ReminderKind.ESCALATION:
            supervisor = session.get_one(Department, order.department_id).supervisor_id
            order.escalated_to_id, order.escalated_at = supervisor, now
            recipient = supervisor  # None: no supervising department, the dispatchers act
        elif milestone.kind is ReminderKind.CHASE:
            order.chase_count += 1
        elif milestone.kind is ReminderKind.OVERDUE and order.first_overdue_at is None:
            order.first_overdue_at = now
        session.add(Reminder(**key, due_at=milestone.at, sent_at=now, department_id=recipient))
        action, notification = _EFFECTS[milestone.kind]
        log_action(session, order, kind=action, actor=SWEEPER, at=now, department_id=recipient,
                   data={"phase": milestone.phase, "seq": milestone.seq,
                         "due_at": milestone.at})
        self.outbox.add(session, at=now, kind=notification, department_id=recipient,
                        order_id=order.id, payload=order_payload(order) | {
                            "phase": milestone.phase, "seq": milestone.seq,
                            "due_at": milestone.at})
        return True

