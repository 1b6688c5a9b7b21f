"""``fishwatch serve``: the centre as uvicorn processes over one config file.

Each worker process builds its own app from the file named in ``FISHWATCH_CONFIG`` (uvicorn
starts workers by import string), opens the database (migrating it to the newest schema; safe
in several processes at once) and, unless the config leaves it to ``fishwatch dispatch work``,
runs the deadline sweep and webhook deliveries in a background thread.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.centre import Centre
from dispatch.work import CentreWork, WorkThread
from fishwatch.config import FishwatchConfig, load_config

CONFIG_ENV = "FISHWATCH_CONFIG"

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def background_work(centre: Centre, config: FishwatchConfig) -> Lifespan:
    """The app lifespan that runs the sweep and webhook deliveries while the app serves."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not config.centre.run_sweeper:
            yield
            return
        with httpx.Client(timeout=10.0) as client:
            thread = WorkThread(CentreWork(centre.db, config.dispatch, client=client,
                                           clock=centre.clock),
                                config.centre.sweep_interval_s)
            thread.start()
            try:
                yield
            finally:
                thread.stop()

    return lifespan


def build_app(config: FishwatchConfig) -> FastAPI:
    """The centre app for ``config``, with its background work tied to the app's lifespan."""
    centre = Centre.open(config.centre, config.dispatch)
    return create_app(centre, lifespan=background_work(centre, config))


def app_from_env() -> FastAPI:
    """uvicorn's factory in each worker process."""
    return build_app(load_config(Path(os.environ[CONFIG_ENV])))


def serve(config_path: Path, config: FishwatchConfig) -> None:
    """Run the centre in the foreground until Ctrl-C; raises ``ValueError`` or dispatch's
    ``ConfigurationError`` for settings it cannot run with."""
    if config.centre.workers > 1 and config.dispatch.database_url.startswith("sqlite"):
        raise ValueError("centre.workers > 1 needs PostgreSQL: SQLite serialises writers of "
                         "one file and several processes would wait on each other")
    # Migrate and check the settings once, before any worker starts: a mistake is one message.
    Centre.open(config.centre, config.dispatch).db.dispose()
    os.environ[CONFIG_ENV] = str(config_path.resolve())
    uvicorn.run("fishwatch.serve:app_from_env", factory=True, host=config.centre.host,
                port=config.centre.port, workers=config.centre.workers,
                proxy_headers=True,
                forwarded_allow_ips=",".join(config.centre.trusted_proxies), log_level="info")
