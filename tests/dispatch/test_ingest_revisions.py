"""Uplink revisions at the domain: a revision not above the stored one changes nothing; a
higher one updates the event; zone and camera-fault fields are kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from dispatch.db import Database
from dispatch.models import Event
from dispatch.orders import OrderService
from dispatch.schemas import EventIn, IngestOutcome
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock

Alert = Callable[..., EventIn]


@pytest.fixture
def orders(config: DispatchConfig, clock: ManualClock) -> OrderService:
    return OrderService(config, clock=clock)


def test_revisions_update_once_and_older_ones_are_duplicates(
        db: Database, cast: Cast, orders: OrderService, alert: Alert,
        clock: ManualClock) -> None:
    first = alert(revision=1, zone="bank")
    closed = first.model_copy(update={"revision": 3, "end": clock() + timedelta(seconds=30),
                                      "outcome": "stayed", "evidence": []})
    outcomes = []
    for event in (first, first, closed, first.model_copy(update={"revision": 2}), closed):
        with db.transaction() as session:
            outcomes.append(orders.ingest(session=session, event=event).outcome)
    assert outcomes == [IngestOutcome.DISPATCHED, IngestOutcome.DUPLICATE,
                        IngestOutcome.UPDATED, IngestOutcome.DUPLICATE, IngestOutcome.DUPLICATE]
    with db.transaction() as session:
        row = session.get_one(Event, first.event_id)
        assert (row.revision, row.zone, row.end_at, row.outcome) == (
            3, "bank", closed.end, "stayed")
        assert len(row.evidence) == 1


def test_a_camera_fault_keeps_what_failed(db: Database, cast: Cast, orders: OrderService,
                                          alert: Alert) -> None:
    fault = alert(camera="cam-s1", type="camera_fault", severity="high", revision=1,
                  fault="black", detail="mean luma 3.1", track_ids=[], confidence=1.0)
    with db.transaction() as session:
        orders.ingest(session=session, event=fault)
    with db.transaction() as session:
        row = session.scalars(sa.select(Event)).one()
        assert (row.type, row.fault, row.detail, row.zone) == ("camera_fault", "black",
                                                               "mean luma 3.1", "")


def test_fault_fields_belong_to_camera_faults(alert: Alert) -> None:
    with pytest.raises(ValidationError, match="fault and detail belong to camera_fault"):
        alert(fault="black")


def test_critical_is_a_severity_the_database_keeps(db: Database, cast: Cast,
                                                   orders: OrderService, alert: Alert) -> None:
    """Migration 0004 widened the CHECKs of both tables (SQLite edits them in place)."""
    with db.transaction() as session:
        result = orders.ingest(session=session, event=alert(severity="critical", revision=1))
    with db.transaction() as session:
        assert session.get_one(Event, result.event_id).severity == "critical"
        assert result.outcome is IngestOutcome.DISPATCHED
