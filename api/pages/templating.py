"""Rendering pages: one Jinja2 environment, the language of the request, and what every page
shows (the signed-in user, the CSRF token for its forms, the navigation of their role)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from api.i18n import LANGUAGE_COOKIE, Translator, pick_language
from api.sessions import CSRF_FIELD, SignedIn
from dispatch.schemas import EvidenceRef, Role

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class NavItem:
    href: str
    label_key: str
    roles: frozenset[Role]


EVERYONE = frozenset(Role) - {Role.SYSTEM}
#: The navigation bar; each user sees the entries of their role.
NAVIGATION = (
    NavItem("/inbox", "nav.inbox", frozenset({Role.DEPARTMENT_STAFF, Role.DISPATCHER,
                                              Role.ADMIN, Role.AUDITOR})),
    NavItem("/reviews", "nav.reviews", frozenset({Role.ANALYST, Role.ADMIN, Role.AUDITOR})),
    NavItem("/commission", "nav.commission", frozenset({Role.COMMISSION})),
    NavItem("/overview", "nav.overview", EVERYONE),
    NavItem("/admin", "nav.admin", frozenset({Role.ADMIN})),
)


def when(value: datetime | None) -> Markup:
    """A time as ``<time>``: UTC text that the page's script shows in the viewer's zone."""
    if value is None:
        return Markup("—")
    utc = value.astimezone(UTC)
    return Markup('<time datetime="{}">{} UTC</time>').format(
        utc.isoformat(), utc.strftime("%Y-%m-%d %H:%M"))


def evidence_url(order_id: UUID, event_id: UUID, ref: EvidenceRef) -> str:
    """Where the browser fetches an alert's snapshot or clip (access-checked there)."""
    return f"/api/v1/events/{event_id}/evidence/{ref.kind.value}/{ref.sha256}"


def photo_url(order_id: UUID, photo_id: UUID) -> str:
    """Where the browser fetches a field photo (access-checked there)."""
    return f"/api/v1/orders/{order_id}/photos/{photo_id}"


def _environment() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES)
    templates.env.filters["when"] = when
    templates.env.globals.update(csrf_field_name=CSRF_FIELD, evidence_url=evidence_url,
                                 photo_url=photo_url)
    return templates


templates = _environment()


def request_language(request: Request, signed_in: SignedIn | None) -> str:
    """The user's own setting; before sign-in the visitor's cookie; else the centre's."""
    default = request.app.state.centre.config.default_language
    return pick_language(signed_in.language if signed_in else None,
                         request.cookies.get(LANGUAGE_COOKIE), default)


def department_names(request: Request) -> dict[str, str]:
    """Department code → display name (the config's, e.g. 渔政执法大队北中队): codes are for
    rules and URLs, people read names."""
    return {d.code: d.name for d in request.app.state.centre.dispatch.departments}


def render(request: Request, name: str, signed_in: SignedIn | None, *, status: int = 200,
           **context: Any) -> HTMLResponse:
    """The template ``name`` in the request's language, with the page furniture."""
    t = Translator(request_language(request, signed_in))
    names = department_names(request)
    role = signed_in.actor.role if signed_in else None
    nav = [(item.href, t(item.label_key), request.url.path.startswith(item.href))
           for item in NAVIGATION if role in item.roles]
    return templates.TemplateResponse(request, name, {
        "t": t, "me": signed_in, "nav": nav, "dept": lambda code: names.get(code, code or ""),
        "csrf": signed_in.csrf_token if signed_in else "", **context}, status_code=status)
