"""The evidence store's interface: what every backend does, the keys, the content types.

Keys are built by the centre (:func:`evidence_key`), never taken from an uploader: a key names
its owner (an event or an order), the file's kind and the start of its sha256, so the same
bytes always land under the same key (a resend rewrites nothing new) and different bytes never
share one. Backends refuse any key that :func:`check_key` does not accept, so a path cannot
leave the store even if a caller builds one by hand.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import IO, Protocol, Self
from uuid import UUID

#: Content types the centre stores, with the extension their keys get. Anything else is
#: refused: the files are served back to browsers, so no HTML, SVG or scripts.
CONTENT_TYPES: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
}

#: How a file of each content type begins (the RIFF size of WebP and the box size of MP4
#: vary): a client's claimed type is checked against the bytes.
SIGNATURES: dict[str, re.Pattern[bytes]] = {
    "image/jpeg": re.compile(rb"\xff\xd8\xff"),
    "image/png": re.compile(rb"\x89PNG\r\n\x1a\n"),
    "image/webp": re.compile(rb"RIFF.{4}WEBP", re.S),
    "video/mp4": re.compile(rb".{4}ftyp", re.S),
}

#: Bytes read or written at a time.
CHUNK = 1 << 20

_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}"
_KEY = re.compile(rf"{_SEGMENT}(/{_SEGMENT}){{0,7}}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class EvidenceStoreError(Exception):
    """Base of the store's refusals."""


class InvalidKey(EvidenceStoreError, ValueError):
    """A key that is not one :func:`evidence_key` makes (``..``, a leading ``/``, odd bytes)."""


class UnsupportedContentType(EvidenceStoreError, ValueError):
    """A content type outside :data:`CONTENT_TYPES`."""


class ChecksumMismatch(EvidenceStoreError):
    """The bytes were not what the caller said; nothing was stored."""


class EvidenceMissing(EvidenceStoreError, LookupError):
    """No file under that key."""


class KeyScope(StrEnum):
    """Whose file it is: an edge event's evidence, or an order's field photos."""

    EVENTS = "events"
    ORDERS = "orders"


@dataclass(frozen=True)
class Digest:
    """Size and sha256 of some bytes."""

    size: int
    sha256: str


@dataclass(frozen=True)
class StoredFile:
    """A file as the store holds it."""

    key: str
    size: int
    sha256: str
    content_type: str


class Reader(Protocol):
    """A file being read: ``read`` until it returns ``b""``, then ``close`` (or use ``with``)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None, /) -> object: ...


class EvidenceStore(Protocol):
    """Where evidence bytes live. Implementations: :class:`~api.evidence.local.LocalStore`,
    :class:`~api.evidence.s3.S3Store`.

    Example:
        >>> found = measure(upload)                             # doctest: +SKIP
        >>> key = evidence_key(KeyScope.ORDERS, order_id, "photo", found.sha256, "image/jpeg")
        >>> stored = store.put(key, upload, content_type="image/jpeg", expected=found)
        >>> with store.open(stored.key) as reader:
        ...     head = reader.read(1024)
    """

    def put(self, key: str, stream: IO[bytes], *, content_type: str,
            expected: Digest | None = None) -> StoredFile:
        """Copy ``stream`` (from where it stands to its end) to ``key``, all or nothing.

        The bytes are measured while they are written to a temporary name and only then
        appear under ``key``, so a reader never sees a partial file. With ``expected``, bytes
        of another size or sha256 raise :class:`ChecksumMismatch` and nothing is stored.
        An existing file under ``key`` is replaced.
        """
        ...

    def open(self, key: str, *, start: int = 0, length: int | None = None) -> Reader:
        """Read the file from byte ``start``, at most ``length`` bytes (all when None);
        :class:`EvidenceMissing` if there is none."""
        ...

    def exists(self, key: str) -> bool: ...


def evidence_key(scope: KeyScope, owner: UUID, kind: str, sha256: str,
                 content_type: str) -> str:
    """``events/<event id>/snapshot-<sha256[:16]>.jpg``: the key of one file of an owner.

    Example:
        >>> evidence_key(KeyScope.EVENTS, UUID(int=1), "clip", "ab" * 32, "video/mp4")
        'events/00000000-0000-0000-0000-000000000001/clip-abababababababab.mp4'
    """
    if not _KIND.fullmatch(kind):
        raise InvalidKey(f"evidence kind {kind!r} must be lower-case letters, digits and _")
    if not _SHA256.fullmatch(sha256):
        raise InvalidKey(f"{sha256!r} is not a lower-case hex sha256")
    return f"{KeyScope(scope).value}/{UUID(str(owner))}/{kind}-{sha256[:16]}" \
           f"{extension(content_type)}"


def extension(content_type: str) -> str:
    """The key extension of an allowed content type; :class:`UnsupportedContentType` else."""
    try:
        return CONTENT_TYPES[content_type]
    except KeyError:
        raise UnsupportedContentType(
            f"content type {content_type!r} is not stored (allowed: "
            f"{', '.join(sorted(CONTENT_TYPES))})") from None


def looks_like(content_type: str, head: bytes) -> bool:
    """Whether ``head`` (the first 16 bytes or more) starts as a ``content_type`` file does."""
    signature = SIGNATURES.get(content_type)
    return signature is not None and signature.match(head) is not None


def check_key(key: str) -> str:
    """``key`` if it is a relative path of at most 8 plain segments, each starting with a
    letter, digit, ``_`` or ``-``: no ``..``, no leading ``/``, no backslash, no empty part."""
    if not isinstance(key, str) or len(key) > 512 or not _KEY.fullmatch(key):
        raise InvalidKey(f"invalid evidence key {key!r}")
    return key


def measure(stream: IO[bytes]) -> Digest:
    """Size and sha256 of ``stream`` from where it stands; it is left where it started."""
    start = stream.tell()
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(start)
    return Digest(size, digest.hexdigest())


def copy_measured(source: IO[bytes], target: IO[bytes]) -> Digest:
    """Copy ``source`` to its end into ``target``, measuring the bytes on the way."""
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return Digest(size, digest.hexdigest())


def check_expected(key: str, found: Digest, expected: Digest | None) -> None:
    if expected is not None and found != expected:
        raise ChecksumMismatch(
            f"{key}: got {found.size} bytes with sha256 {found.sha256}, expected "
            f"{expected.size} bytes with sha256 {expected.sha256}")
