"""Commission cases: opened from feedback, filed and concluded, seen by the commission alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from dispatch.audit import list_records
from dispatch.commission import CommissionService
from dispatch.db import Database
from dispatch.errors import ConfigurationError, PermissionDenied, TransitionError
from dispatch.inbox import order_history
from dispatch.notifications import read_notifications
from dispatch.orders import OrderService
from dispatch.schemas import (
    CaseStatus,
    CaseTrigger,
    DisciplinaryOutcome,
    Disposition,
    EventIn,
    FeedbackIn,
    SubjectInfo,
)
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock

Alert = Callable[..., EventIn]

SUBJECT = SubjectInfo(name="Zhang Wei", id_number="420102197001011234", phone="13800000000",
                      employer="Riverside Township Government", position="deputy head",
                      party_member=True, public_official=True)


@pytest.fixture
def orders(config: DispatchConfig, clock: ManualClock) -> OrderService:
    return OrderService(config, clock=clock)


@pytest.fixture
def cases(config: DispatchConfig, clock: ManualClock) -> CommissionService:
    return CommissionService(config, clock=clock)


def caught_official(db: Database, cast: Cast, orders: OrderService, alert: Alert,
                    clock: ManualClock) -> object:
    """An angling alert in the north, handled, with a party member and official caught."""
    with db.transaction() as session:
        order_id = orders.ingest(session=session, event=alert()).order_id
        clock.advance(minutes=4)
        orders.sign(session=session, actor=cast.north, order_id=order_id)
        orders.start(session=session, actor=cast.north, order_id=order_id)
        clock.advance(minutes=25)
        orders.submit_feedback(session=session, actor=cast.north, order_id=order_id,
                               feedback=FeedbackIn(disposition=Disposition.VIOLATION_CONFIRMED,
                                                   notes="rod confiscated", subject=SUBJECT))
        orders.close(session=session, actor=cast.dispatcher, order_id=order_id)
    return order_id


def test_party_member_caught_story(db: Database, cast: Cast, orders: OrderService,
                                   cases: CommissionService, alert: Alert,
                                   clock: ManualClock) -> None:
    order_id = caught_official(db, cast, orders, alert, clock)
    with db.transaction() as session:
        [summary] = cases.list_cases(session=session, actor=cast.commission)
        assert (summary.order_id, summary.trigger, summary.status, summary.department) == (
            order_id, CaseTrigger.SUBJECT, CaseStatus.PRELIMINARY_CHECK, "fishery-north")
        case = cases.get_case(session=session, actor=cast.commission, case_id=summary.id)
    assert case.subjects == [SUBJECT]
    history = case.history
    assert history["order"]["department"] == "fishery-north"
    assert [a["kind"] for a in history["actions"]] == ["dispatched", "signed", "started",
                                                       "feedback_submitted"]
    assert history["events"][0]["evidence"][0]["sha256"] == "ab" * 32
    with db.transaction() as session:
        cases.file_case(session=session, actor=cast.commission, case_id=case.id,
                        reason="official fishing in the ban period")
        clock.advance(days=20)
        done = cases.conclude_case(session=session, actor=cast.commission, case_id=case.id,
                                   outcome=DisciplinaryOutcome.SERIOUS_WARNING,
                                   findings="admitted; serious warning within the party")
    assert (done.status, done.outcome) == (CaseStatus.CONCLUDED, "serious_warning")
    assert done.filed_at is not None and done.concluded_at == clock()
    assert "file: official fishing" in done.findings and "conclude: admitted" in done.findings
    with db.transaction() as session:
        actions = [r.action for r in list_records(session, cast.commission,
                                                  entity_type="commission_case")]
    assert actions == ["case.opened", "case.subject_recorded", "case.listed", "case.read",
                       "case.filed", "case.concluded"]


def test_only_the_commission_sees_cases_and_personal_data(
        db: Database, cast: Cast, orders: OrderService, cases: CommissionService,
        alert: Alert, clock: ManualClock) -> None:
    order_id = caught_official(db, cast, orders, alert, clock)
    with db.transaction() as session:
        case_id = cases.list_cases(session=session, actor=cast.commission)[0].id
    for actor in (cast.admin, cast.dispatcher, cast.north, cast.analyst, cast.auditor):
        with pytest.raises(PermissionDenied), db.transaction() as session:
            cases.get_case(session=session, actor=actor, case_id=case_id)
        with pytest.raises(PermissionDenied), db.transaction() as session:
            cases.list_cases(session=session, actor=actor)
    with db.transaction() as session:
        # what other roles can read mentions neither the case nor the person
        readable = [*order_history(session, cast.north, order_id),
                    *read_notifications(session, cast.dispatcher),
                    *read_notifications(session, cast.north),
                    *list_records(session, cast.auditor)]
        assert not any(r.entity_type == "commission_case"
                       for r in list_records(session, cast.auditor))
        at_rest = session.execute(sa.text("SELECT data_enc FROM case_subjects")).scalar_one()
        audit_text = " ".join(session.scalars(sa.text("SELECT data FROM audit_log")))
        payloads = " ".join(str(p) for p in session.scalars(
            sa.text("SELECT payload FROM notifications")))
        commission_feed = [n.kind for n in read_notifications(session, cast.commission)]
    for text in [*(r.model_dump_json() for r in readable), at_rest, audit_text, payloads]:
        assert "Zhang" not in text and "420102" not in text and "party_member" not in text
    assert commission_feed.count("case.opened") == 1


def test_case_transitions_are_checked(db: Database, cast: Cast, orders: OrderService,
                                      cases: CommissionService, alert: Alert,
                                      clock: ManualClock) -> None:
    caught_official(db, cast, orders, alert, clock)
    with db.transaction() as session:
        case_id = cases.list_cases(session=session, actor=cast.commission)[0].id
    with pytest.raises(TransitionError, match=r"cannot conclude case .*: conclude goes from "
                                              "filed to concluded, but it is "
                                              "preliminary_check; steps allowed from "
                                              "preliminary_check: file, dismiss"), \
            db.transaction() as session:
        cases.conclude_case(session=session, actor=cast.commission, case_id=case_id,
                            outcome=DisciplinaryOutcome.WARNING, findings="x")
    with db.transaction() as session:
        cases.dismiss_case(session=session, actor=cast.commission, case_id=case_id,
                           reason="the subject retired last year")
    with pytest.raises(TransitionError, match="steps allowed from dismissed: none"), \
            db.transaction() as session:
        cases.file_case(session=session, actor=cast.commission, case_id=case_id, reason="x")


def test_personal_data_needs_the_key(config: DispatchConfig) -> None:
    with pytest.raises(ConfigurationError, match="personal_data_key is not set"):
        CommissionService(config.model_copy(update={"personal_data_key": None}))
    with pytest.raises(ConfigurationError, match="personal_data_key is not set"):
        OrderService(config.model_copy(update={"personal_data_key": None}))


def test_subject_details_only_for_party_members_or_officials() -> None:
    with pytest.raises(ValueError, match="only for party members or public officials"):
        SubjectInfo(name="Li Si")
