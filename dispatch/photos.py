"""Field photos: a department's pictures from the site, recorded while it works on an order.

The API stores the bytes (keys of its choosing) and records them here; the feedback then
names photos of *its own order* by id, so a history line can only point at files that were
uploaded for that order by its department, never at an arbitrary storage key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dispatch import audit
from dispatch.access import Actor, require
from dispatch.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from dispatch.inbox import load_order
from dispatch.models import Order, OrderPhoto
from dispatch.schemas import ACTIVE_STATES, Role, Sha256, View

#: The picture types a field photo may have (browsers show them; no SVG, no HTML).
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


class PhotoView(View):
    """A field photo of an order: the stored file and who uploaded it when."""

    id: UUID
    order_id: UUID
    sha256: Sha256
    size: int
    content_type: str
    storage_key: str
    uploaded_by: str
    uploaded_at: datetime


def photo_view(row: OrderPhoto) -> PhotoView:
    return PhotoView(id=row.id, order_id=row.order_id, sha256=row.sha256, size=row.size,
                     content_type=row.content_type, storage_key=row.storage_key,
                     uploaded_by=row.uploaded_by, uploaded_at=row.uploaded_at)


def record_photo(session: Session, *, actor: Actor, at: datetime, order_id: UUID,
                 storage_key: str, sha256: str, size: int, content_type: str) -> PhotoView:
    """Record a stored photo of an order its department is working on (dispatched, signed
    or in progress). The same bytes uploaded again give the photo recorded first.

    Example:
        >>> record_photo(session, actor=staff, at=now, order_id=order_id,
        ...              storage_key=stored.key, sha256=stored.sha256, size=stored.size,
        ...              content_type="image/jpeg")  # doctest: +SKIP
    """
    order = load_order(session, actor, order_id, lock=True)
    _check_uploader(order, actor)
    if content_type not in PHOTO_TYPES:
        raise InvalidRequest(f"a field photo is {', '.join(sorted(PHOTO_TYPES))}, "
                             f"not {content_type!r}")
    existing = session.scalar(sa.select(OrderPhoto).where(OrderPhoto.order_id == order.id,
                                                          OrderPhoto.sha256 == sha256))
    if existing is not None:
        return photo_view(existing)
    row = OrderPhoto(order_id=order.id, storage_key=storage_key, sha256=sha256, size=size,
                     content_type=content_type, uploaded_by=actor.label,
                     uploaded_by_id=actor.user_id, uploaded_at=at)
    session.add(row)
    session.flush()
    audit.record(session, at=at, actor=actor, action="order.photo_uploaded", entity_type="order",
                 entity_id=order.id, data={"photo": row.id, "sha256": sha256, "size": size})
    return photo_view(row)


def check_upload(session: Session, actor: Actor, order_id: UUID) -> None:
    """Refuse before any bytes are stored: the order must be the actor's department's and
    still being worked on (the record step checks again, under the order's lock)."""
    _check_uploader(load_order(session, actor, order_id), actor)


def _check_uploader(order: Order, actor: Actor) -> None:
    """Only the order's own department adds photos, and only while it works on it."""
    require(actor, {Role.DEPARTMENT_STAFF}, "upload field photos")
    if order.department_id != actor.department_id:
        raise PermissionDenied(f"order {order.id} is with department {order.department.code}; "
                               "only its staff may add photos")
    if order.status not in ACTIVE_STATES:
        raise Conflict(f"order {order.id} is {order.status}: photos are added while the "
                       "department works on it (dispatched, signed, in progress)")


def order_photos(session: Session, actor: Actor, order_id: UUID) -> list[PhotoView]:
    """The order's photos, oldest first, for whoever may read the order."""
    load_order(session, actor, order_id)
    rows = session.scalars(sa.select(OrderPhoto).where(OrderPhoto.order_id == order_id)
                           .order_by(OrderPhoto.uploaded_at, OrderPhoto.id))
    return [photo_view(r) for r in rows]


def get_photo(session: Session, actor: Actor, order_id: UUID, photo_id: UUID) -> PhotoView:
    """One photo of an order the reader may see (else not found)."""
    load_order(session, actor, order_id)
    row = session.scalar(sa.select(OrderPhoto).where(OrderPhoto.id == photo_id,
                                                     OrderPhoto.order_id == order_id))
    if row is None:
        raise NotFound(f"no photo {photo_id} of order {order_id}")
    return photo_view(row)


def photos_of(session: Session, order: Order, ids: Sequence[UUID]) -> list[PhotoView]:
    """The photos ``ids`` name, in that order; each must belong to ``order``."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = {row.id: row for row in session.scalars(
        sa.select(OrderPhoto).where(OrderPhoto.id.in_(wanted), OrderPhoto.order_id == order.id))}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise InvalidRequest(f"no photo {', '.join(missing)} uploaded for order {order.id}")
    return [photo_view(found[i]) for i in wanted]
