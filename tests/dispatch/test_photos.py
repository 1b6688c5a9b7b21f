"""Field photos: recorded for the order's own department while it works on it, named by the
feedback of that order only."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from dispatch.db import Database
from dispatch.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from dispatch.inbox import order_history
from dispatch.orders import OrderService
from dispatch.photos import order_photos, record_photo
from dispatch.schemas import AnalystVerdict, Disposition, EventIn, FeedbackIn
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock

Alert = Callable[..., EventIn]


def photo(session: object, cast: Cast, clock: ManualClock, order_id: uuid.UUID,
          sha: str = "cd", actor: object = None) -> object:
    return record_photo(session, actor=actor or cast.north, at=clock(), order_id=order_id,
                        storage_key=f"orders/{order_id}/photo-{sha * 8}.jpg", sha256=sha * 32,
                        size=900, content_type="image/jpeg")


def test_feedback_names_its_own_orders_photos_only(db: Database, cast: Cast, alert: Alert,
                                                   config: DispatchConfig,
                                                   clock: ManualClock) -> None:
    orders = OrderService(config, clock=clock)
    with db.transaction() as session:
        mine = orders.ingest(session=session, event=alert()).order_id
        other = orders.ingest(session=session, event=alert(type="net_fishing")).order_id
        orders.sign(session=session, actor=cast.north, order_id=mine)
        orders.start(session=session, actor=cast.north, order_id=mine)
        first = photo(session, cast, clock, mine)
        again = photo(session, cast, clock, mine)
        foreign = photo(session, cast, clock, other, sha="ef")
    assert again.id == first.id  # the same picture twice is one photo
    with pytest.raises(InvalidRequest, match=f"no photo {foreign.id} uploaded for order"), \
            db.transaction() as session:
        orders.submit_feedback(session=session, actor=cast.north, order_id=mine,
                               feedback=FeedbackIn(disposition=Disposition.DISPERSED,
                                                   photo_ids=[first.id, foreign.id]))
    with db.transaction() as session:
        orders.submit_feedback(session=session, actor=cast.north, order_id=mine,
                               feedback=FeedbackIn(disposition=Disposition.DISPERSED,
                                                   photo_ids=[first.id]))
        history = order_history(session, cast.dispatcher, mine)
        listed = order_photos(session, cast.dispatcher, mine)
    assert [p.id for p in history[-1].photos] == [first.id] == [p.id for p in listed]
    assert listed[0].uploaded_by == "department_staff:north"


def test_only_the_working_department_adds_photos(db: Database, cast: Cast, alert: Alert,
                                                 config: DispatchConfig,
                                                 clock: ManualClock) -> None:
    orders = OrderService(config, clock=clock)
    with db.transaction() as session:
        order_id = orders.ingest(session=session, event=alert()).order_id
    with pytest.raises(NotFound), db.transaction() as session:
        photo(session, cast, clock, order_id, actor=cast.south)  # not in its scope
    with pytest.raises(PermissionDenied), db.transaction() as session:
        photo(session, cast, clock, order_id, actor=cast.dispatcher)
    with db.transaction() as session:
        orders.record_verdict(session=session, actor=cast.analyst, order_id=order_id,
                              verdict=AnalystVerdict.FALSE_POSITIVE, note="a heron")
    with pytest.raises(Conflict, match="is closed"), db.transaction() as session:
        photo(session, cast, clock, order_id)
