"""The centre's FastAPI application: device ingest, the JSON API under ``/api/v1`` and the
web pages, over one :class:`~api.centre.Centre`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from api import errors, pages
from api.body_limit import BodyLimit
from api.centre import Centre
from api.routers import (
    audit,
    auth,
    commission,
    departments,
    devices,
    events,
    evidence,
    fleet,
    ingest,
    ledgers,
    orders,
    reviews,
    stats,
    users,
)


def create_app(centre: Centre, *, lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]]
               | None = None) -> FastAPI:
    """The app over ``centre``; ``lifespan`` runs background work (``fishwatch serve``)."""
    app = FastAPI(title="fishwatch centre", version="0.1.0", lifespan=lifespan,
                  summary="Illegal-fishing alerts become work orders: ingest, orders, reviews, "
                          "commission cases, ledgers and statistics.")
    app.state.centre = centre
    app.add_middleware(BodyLimit, max_bytes=centre.config.max_upload_mb * 2**20,
                       setting="centre.max_upload_mb")
    errors.install(app)
    app.include_router(auth.router)
    for router in (orders, events, reviews, commission, ledgers, stats, users, departments,
                   audit):
        app.include_router(router.router)
    for router in (ingest, fleet, devices, evidence):
        app.include_router(router.router)
    pages.install(app)
    return app
