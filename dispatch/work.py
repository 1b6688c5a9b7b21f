"""The centre's periodic jobs in one round: the deadline sweep and webhook deliveries.

``fishwatch dispatch work`` runs rounds in a loop of its own; ``fishwatch serve`` runs them in a
background thread of each centre process. Several runners at once are safe: both jobs claim
their rows with ``SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from dispatch.db import Database
from dispatch.notifications import DeliveryReport, DeliveryWorker
from dispatch.schemas import utc_now
from dispatch.settings import DispatchConfig
from dispatch.sla import Sweeper, SweepReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundReport:
    swept: SweepReport
    sent: DeliveryReport

    def line(self) -> str:
        reminders = dict(self.swept.sent) or "no reminders"
        return (f"checked {self.swept.orders} orders, sent {reminders}, opened "
                f"{self.swept.cases_opened} cases; webhooks: {self.sent.delivered} delivered, "
                f"{self.sent.retrying} to retry, {self.sent.failed} failed")


class CentreWork:
    """One sweeper and one webhook sender over a database."""

    def __init__(self, db: Database, config: DispatchConfig, *, client: httpx.Client,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.sweeper = Sweeper(db, config, clock=clock)
        self.deliveries = DeliveryWorker(db, config, client=client, clock=clock)

    def run_once(self) -> RoundReport:
        return RoundReport(self.sweeper.run_once(), self.deliveries.run_once())


class WorkThread:
    """Runs :class:`CentreWork` rounds every ``every_s`` seconds until stopped; a failing
    round is logged and the next one still runs (a database blip must not end the sweeps)."""

    def __init__(self, work: CentreWork, every_s: float) -> None:
        self.work = work
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="centre-work", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                log.info("centre work: %s", self.work.run_once().line())
            except Exception:
                log.exception("centre work round failed; retrying in %.0f s", self.every_s)
            self._stop.wait(self.every_s)
