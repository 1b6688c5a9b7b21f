"""The centre's long-lived parts, built once per process and shared by every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from api.evidence import EvidenceStore, open_store
from api.settings import CentreConfig
from dispatch.access import Actor
from dispatch.commission import CommissionService
from dispatch.db import Database
from dispatch.orders import OrderService
from dispatch.registry import sync_departments
from dispatch.schemas import utc_now
from dispatch.settings import DispatchConfig

#: Who the centre's own start-up steps act as in the audit trail.
STARTUP_ACTOR = Actor.system("centre-startup")


@dataclass
class Centre:
    """Database, services, settings and the clock of one centre process."""

    config: CentreConfig
    dispatch: DispatchConfig
    db: Database
    orders: OrderService
    commission: CommissionService
    clock: Callable[[], datetime]
    evidence: EvidenceStore

    @classmethod
    def open(cls, config: CentreConfig, dispatch: DispatchConfig, *,
             clock: Callable[[], datetime] = utc_now, db: Database | None = None) -> Centre:
        """Connect, migrate to the newest schema and sync departments from the config
        (safe to run in several processes at once: both steps are idempotent)."""
        db = db or Database(dispatch.database_url)
        db.upgrade()
        with db.transaction() as session:
            sync_departments(session, dispatch, actor=STARTUP_ACTOR, at=clock())
        return cls(config=config, dispatch=dispatch, db=db,
                   orders=OrderService(dispatch, clock=clock),
                   commission=CommissionService(dispatch, clock=clock), clock=clock,
                   evidence=open_store(config.evidence))
