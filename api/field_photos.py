"""Storing a department's field photo: its type checked against its first bytes, its bytes put
in the evidence store, and the photo recorded on the order.

Two ways in share it: the JSON API (one photo per request; the order page's script sends each
as it is taken) and the order page's feedback form, which carries the photos itself when the
script does not run.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.centre import Centre
from api.evidence import KeyScope, evidence_key, looks_like, measure
from dispatch.access import Actor
from dispatch.photos import PHOTO_TYPES, PhotoView, check_upload, record_photo


class PhotoRefused(Exception):
    """The file is not a field photo fishwatch keeps; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def store_field_photo(centre: Centre, session: Session, actor: Actor, order_id: UUID,
                      part: UploadFile) -> PhotoView:
    """Check, store and record one photo of ``order_id`` and commit; the same picture twice is
    one photo. A refusal by dispatch (not the actor's order, order no longer worked on) is
    raised before any bytes are stored; so is :class:`PhotoRefused`."""
    try:
        content_type = (part.content_type or "").split(";")[0].strip().lower()
        if content_type not in PHOTO_TYPES:
            raise PhotoRefused(415, f"a field photo is one of {', '.join(sorted(PHOTO_TYPES))}, "
                                    f"not {content_type or 'untyped'!r}")
        head = part.file.read(16)
        part.file.seek(0)
        if not looks_like(content_type, head):
            raise PhotoRefused(415, f"the file's bytes are not a {content_type} picture")
        check_upload(session, actor, order_id)
        session.rollback()  # hold no transaction (nor SQLite's write lock) while bytes move
        found = measure(part.file)
        if found.size == 0:
            raise PhotoRefused(422, "the photo is empty")
        key = evidence_key(KeyScope.ORDERS, order_id, "photo", found.sha256, content_type)
        stored = centre.evidence.put(key, part.file, content_type=content_type, expected=found)
    finally:
        part.file.close()
    photo = record_photo(session, actor=actor, at=centre.clock(), order_id=order_id,
                         storage_key=stored.key, sha256=stored.sha256, size=stored.size,
                         content_type=content_type)
    session.commit()
    return photo
