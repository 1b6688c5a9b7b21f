"""Dispatch on PostgreSQL: alerts ingested into orders per second, and inbox latency at scale.

1. Generates ``--orders`` work orders in one ``INSERT ... SELECT generate_series`` (97 % closed,
   spread over 20 departments, 200 cameras and a year), then ANALYZE.
2. Ingest, one process: ``--single`` alerts one transaction each, then ``--events`` alerts
   ``--batch`` per transaction (``OrderService.ingest_many``, as the API commits a burst);
   every tenth alert repeats the one before and attaches to its open order. Reports events
   per second; the one-per-transaction rate is bound by the disk's commit (fsync) latency.
3. Inbox: ``--queries`` department-staff inbox reads (50 most urgent open orders with their
   department, camera and device), each in its own transaction. Reports p50 / p95 / max in ms.

Usage: python benchmarks/dispatch_bench.py --server-url postgresql+psycopg://app:app@127.0.0.1/app
       [--orders 1000000] [--events 5000] [--batch 100] [--single 500] [--queries 500]
       [--explain]
The role needs CREATEDB: the run uses a fresh database with a random name and drops it after.
Numbers drift with machine load; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from dispatch.access import Actor, actor_for
from dispatch.crypto import generate_key
from dispatch.db import Database
from dispatch.inbox import inbox
from dispatch.orders import OrderService
from dispatch.registry import create_user, register_camera, sync_departments
from dispatch.schemas import EventIn, Role
from dispatch.settings import DispatchConfig

AREAS = ["north", "south", "east", "west", "centre"]
TYPES = ["angling", "net_fishing", "boat_intrusion", "loitering", "camera_fault"]
GENERATE = """
INSERT INTO work_orders (id, department_id, camera_id, type, severity, status, round,
    dispatched_at, sign_due_at, resolve_due_at, signed_at, started_at, feedback_at, closed_at,
    disposition, return_count, chase_count, first_event_at, last_event_at, event_count)
SELECT gen_random_uuid(), d.ids[1 + g % d.n], c.ids[1 + (g::bigint * 7919) % c.n],
    (ARRAY['angling','net_fishing','boat_intrusion','loitering','camera_fault'])[1 + g % 5],
    (ARRAY['low','medium','high'])[1 + g % 3], s.status, 1,
    t.at, t.at + interval '30 minutes', t.at + interval '4 hours',
    CASE WHEN s.status <> 'dispatched' THEN t.at + interval '6 minutes' END,
    CASE WHEN s.status IN ('in_progress','feedback_submitted','closed')
         THEN t.at + interval '9 minutes' END,
    CASE WHEN s.status IN ('feedback_submitted','closed') THEN t.at + interval '50 minutes' END,
    CASE WHEN s.status = 'closed' THEN t.at + interval '70 minutes' END,
    CASE WHEN s.status IN ('feedback_submitted','closed')
         THEN (ARRAY['violation_confirmed','dispersed','not_found','false_alarm'])[1 + g % 4] END,
    0, 0, t.at, t.at, 1
FROM generate_series(1, :n) AS g
CROSS JOIN (SELECT array_agg(id ORDER BY code) AS ids, count(*)::int AS n FROM departments) d
CROSS JOIN (SELECT array_agg(id ORDER BY name) AS ids, count(*)::int AS n FROM cameras) c
CROSS JOIN LATERAL (SELECT :now - make_interval(secs => 31536000.0 * g / :n) AS at) t
CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 < 97 THEN 'closed'
    ELSE (ARRAY['dispatched','signed','in_progress','feedback_submitted','returned'])
         [1 + g / 100 % 5] END AS status) s
"""


def make_config() -> DispatchConfig:
    departments = [{"code": "centre", "name": "Dispatch centre"}]
    rules = [{"types": ["camera_fault"], "department": "it"},
             {"types": ["boat_intrusion"], "department": "river-police"}]
    departments += [{"code": "it", "name": "IT"}, {"code": "river-police", "name": "Police"}]
    for area in AREAS:
        for team in range(3):
            code = f"fishery-{area}-{team}"
            departments.append({"code": code, "name": code})
            rules.append({"areas": [area], "grids": [f"{area}-{g}" for g in range(team, 40, 3)],
                          "department": code})
    departments.append({"code": "bureau", "name": "Bureau"})
    return DispatchConfig.model_validate({"departments": departments,
                                          "routing": {"rules": rules, "fallback": "centre"},
                                          "personal_data_key": generate_key()})


def seed(db: Database, config: DispatchConfig, now: datetime) -> list[Actor]:
    system = Actor.system("bench")
    with db.transaction() as session:
        sync_departments(session, config, actor=system, at=now)
        for i in range(200):
            area = AREAS[i % len(AREAS)]
            register_camera(session, actor=system, at=now, device=f"box-{i // 4}",
                            camera=f"cam-{i}", area=area, grid=f"{area}-{i % 40}")
        for d in config.departments:
            create_user(session, actor=system, at=now, username=f"staff-{d.code}",
                        display_name=d.code, role=Role.DEPARTMENT_STAFF, department=d.code)
    with db.transaction() as session:
        return [actor_for(session, f"staff-{d.code}") for d in config.departments]


def make_alerts(count: int, start: datetime) -> list[EventIn]:
    """Alerts from 200 cameras; every tenth repeats the one before (it attaches)."""
    alerts = []
    for i in range(count):
        j = i - 1 if i % 10 == 9 else i
        camera = j % 200
        alerts.append(EventIn.model_validate({
            "event_id": str(uuid.uuid4()), "device_id": f"box-{camera // 4}",
            "camera": f"cam-{camera}", "type": TYPES[(j // 200) % 5], "severity": "medium",
            "start": (start + timedelta(seconds=j)).isoformat(), "confidence": 0.9,
            "track_ids": [1], "model": {"name": "fishwatch-yolo11n", "version": "1"},
            "evidence": [{"kind": "snapshot", "sha256": f"{i:064x}", "size": 40000,
                          "content_type": "image/jpeg", "storage_key": f"ev/{i}.jpg"}]}))
    return alerts


def bench_ingest(db: Database, config: DispatchConfig, alerts: list[EventIn], batch: int,
                 start: datetime) -> float:
    """Alerts per second through ``OrderService.ingest_many``, ``batch`` per transaction."""
    clock_now = [start]
    service = OrderService(config, clock=lambda: clock_now[0])
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for first in range(0, len(alerts), batch):
        clock_now[0] = start + timedelta(seconds=first)
        with db.transaction() as session:
            results = service.ingest_many(session=session, events=alerts[first:first + batch])
        outcomes.update(r.outcome.value for r in results)
    elapsed = time.perf_counter() - started
    rate = len(alerts) / elapsed
    print(f"ingest: {len(alerts)} alerts, {batch} per transaction: {elapsed:.1f} s = "
          f"{rate:.0f} events/s (one process; {dict(outcomes)})")
    return rate


def bench_inbox(db: Database, staff: list[Actor], queries: int, explain: bool) -> float:
    rng = random.Random(7)
    timings = []
    sizes = []
    for _ in range(queries):
        actor = rng.choice(staff)
        started = time.perf_counter()
        with db.transaction() as session:
            rows = inbox(session, actor, limit=50)
        timings.append((time.perf_counter() - started) * 1000)
        sizes.append(len(rows))
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"inbox: {queries} department inbox reads, {statistics.mean(sizes):.0f} rows each: "
          f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms")
    if explain:
        with db.transaction() as session:
            query = sa.text(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM work_orders WHERE "
                "(department_id = :d OR escalated_to_id = :d) AND status <> 'closed' "
                "ORDER BY resolve_due_at, id LIMIT 50")
            for (line,) in session.execute(query, {"d": staff[3].department_id}):
                print("   ", line)
    return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-url", default=os.environ.get("FISHWATCH_TEST_PG_URL"),
                        help="PostgreSQL URL of a role with CREATEDB (default: "
                             "$FISHWATCH_TEST_PG_URL)")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5000, help="alerts ingested in batches")
    parser.add_argument("--batch", type=int, default=100, help="alerts per transaction")
    parser.add_argument("--single", type=int, default=500,
                        help="alerts ingested one transaction each (bounded by commit latency)")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--explain", action="store_true", help="print the inbox query plan")
    args = parser.parse_args()
    if not args.server_url or not args.server_url.startswith("postgresql"):
        parser.error("give --server-url postgresql+psycopg://USER:PASSWORD@HOST/DB "
                     "(or set FISHWATCH_TEST_PG_URL)")
    server = sa.make_url(args.server_url)
    name = f"fw_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = Database(server.set(database=name))
    try:
        db.upgrade()
        now = datetime.now(UTC).replace(microsecond=0)
        config = make_config()
        staff = seed(db, config, now)
        started = time.perf_counter()
        with db.transaction() as session:
            session.execute(sa.text(GENERATE), {"n": args.orders, "now": now})
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE work_orders")
        print(f"generated {args.orders} orders in {time.perf_counter() - started:.0f} s")
        day = now + timedelta(days=1)
        bench_ingest(db, config, make_alerts(args.single, day), 1, day)
        day += timedelta(days=1)
        bench_ingest(db, config, make_alerts(args.events, day), args.batch, day)
        bench_inbox(db, staff, args.queries, args.explain)
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
