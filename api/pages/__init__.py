"""The centre's web pages: server-rendered templates (``api/templates``), a little script and
a stylesheet (``api/static``, served from here: no CDN, no web fonts), in Chinese and English
(:mod:`api.i18n`). Pages are not part of the JSON API's OpenAPI schema."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.pages import admin, auth, commission, live, orders, overview, reviews
from api.pages.deps import install_handlers

STATIC = Path(__file__).resolve().parent.parent / "static"

ROUTERS = (auth.router, orders.router, reviews.router, commission.router, overview.router,
           admin.router, live.router)


def install(app: FastAPI) -> None:
    """Mount the static files and the pages, with their HTML error pages."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
