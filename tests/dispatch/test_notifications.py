"""Notifications: signed webhook deliveries with retries to a real HTTP server; the event stream."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import sqlalchemy as sa

from dispatch.access import Actor
from dispatch.db import Database
from dispatch.models import Delivery
from dispatch.notifications import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryWorker,
    follow,
    read_notifications,
    verify_signature,
)
from dispatch.orders import OrderService
from dispatch.schemas import (
    DeliveryStatus,
    EventIn,
    NotificationKind,
    NotificationView,
    Role,
)
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock, district_config

Alert = Callable[..., EventIn]
SECRET = "a-webhook-secret-of-some-length"


class Receiver:
    """A webhook receiver on a free local port; answers 503 to the first ``fail`` requests."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                failing = len(receiver.requests) <= receiver.fail
                self.send_response(503 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail=2)
    yield server
    server.close()


@pytest.fixture
def config(receiver: Receiver) -> DispatchConfig:
    return district_config(webhooks=[
        {"name": "ops", "url": receiver.url, "secret": SECRET, "backoff_s": 10,
         "max_attempts": 4},
        {"name": "commission", "url": receiver.url, "secret": SECRET,
         "kinds": ["case.opened"]},
    ])


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


def test_deliveries_are_signed_and_retried_until_received(
        db: Database, cast: Cast, config: DispatchConfig, clock: ManualClock, alert: Alert,
        receiver: Receiver, client: httpx.Client) -> None:
    with db.transaction() as session:
        order_id = OrderService(config, clock=clock).ingest(session=session,
                                                            event=alert()).order_id
    worker = DeliveryWorker(db, config, client=client, clock=clock)
    assert worker.run_once().retrying == 1  # 503
    assert worker.run_once().retrying == 0  # not due before the backoff
    clock.advance(seconds=10)
    assert worker.run_once().retrying == 1  # 503 again; next wait is 20 s
    clock.advance(seconds=19)
    assert worker.run_once().delivered == 0
    clock.advance(seconds=1)
    assert worker.run_once().delivered == 1
    headers, body = receiver.requests[-1]
    assert verify_signature(SECRET, timestamp=headers[TIMESTAMP_HEADER], body=body,
                            signature=headers[SIGNATURE_HEADER], now=clock())
    assert not verify_signature("another-secret-entirely", timestamp=headers[TIMESTAMP_HEADER],
                                body=body, signature=headers[SIGNATURE_HEADER], now=clock())
    assert not verify_signature(SECRET, timestamp=headers[TIMESTAMP_HEADER], body=body,
                                signature=headers[SIGNATURE_HEADER],
                                now=clock() + timedelta(minutes=10))  # a replay
    note = NotificationView.model_validate_json(body)
    assert (note.kind, note.order_id, note.department) == (
        NotificationKind.ORDER_DISPATCHED, order_id, "fishery-north")
    assert {h[DELIVERY_HEADER] for h, _ in receiver.requests} == {headers[DELIVERY_HEADER]}
    with db.transaction() as session:
        # the commission's webhook wants case.opened only
        assert session.execute(sa.select(Delivery.webhook, Delivery.status, Delivery.attempts)
                               ).all() == [("ops", DeliveryStatus.DELIVERED, 3)]


def test_deliveries_give_up_after_max_attempts(db: Database, cast: Cast,
                                               config: DispatchConfig, clock: ManualClock,
                                               alert: Alert, receiver: Receiver,
                                               client: httpx.Client) -> None:
    receiver.fail = 100
    with db.transaction() as session:
        OrderService(config, clock=clock).ingest(session=session, event=alert())
    worker = DeliveryWorker(db, config, client=client, clock=clock)
    reports = []
    for _ in range(4):
        reports.append(worker.run_once())
        clock.advance(minutes=10)
    assert [r.failed for r in reports] == [0, 0, 0, 1]
    with db.transaction() as session:
        status, error = session.execute(sa.select(Delivery.status, Delivery.last_error)).one()
    assert status is DeliveryStatus.FAILED and error.startswith("HTTP 503")


def test_the_stream_shows_each_reader_their_own(db: Database, cast: Cast,
                                                config: DispatchConfig, clock: ManualClock,
                                                alert: Alert) -> None:
    orders = OrderService(config, clock=clock)
    with db.transaction() as session:
        north = orders.ingest(session=session, event=alert()).order_id
        orders.ingest(session=session, event=alert(camera="cam-s1"))
        orders.sign(session=session, actor=cast.north, order_id=north)
    with db.transaction() as session:
        everything = read_notifications(session, cast.dispatcher)
        mine = read_notifications(session, cast.north)
        after = read_notifications(session, cast.dispatcher, after=everything[0].id)
        nothing = read_notifications(session, Actor("lost", Role.DEPARTMENT_STAFF))
    assert [n.kind for n in everything] == ["order.dispatched", "order.dispatched",
                                            "order.updated"]
    assert [(n.kind, n.department) for n in mine] == [("order.dispatched", "fishery-north"),
                                                      ("order.updated", "fishery-north")]
    assert after == everything[1:] and nothing == []


def test_follow_yields_notifications_as_they_commit(db: Database, cast: Cast,
                                                    config: DispatchConfig, clock: ManualClock,
                                                    alert: Alert) -> None:
    orders = OrderService(config, clock=clock)

    async def scenario() -> list[NotificationView]:
        stream = follow(db, cast.north, poll_s=0.05)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.2)
        assert not first.done()  # nothing yet: it waits
        with db.transaction() as session:
            order_id = orders.ingest(session=session, event=alert()).order_id
            orders.sign(session=session, actor=cast.north, order_id=order_id)
        seen = [await asyncio.wait_for(first, 10), await asyncio.wait_for(anext(stream), 10)]
        await stream.aclose()
        return seen

    seen = asyncio.run(scenario())
    assert [n.kind for n in seen] == ["order.dispatched", "order.updated"]
