"""Single byte ranges (RFC 9110 §14): what a browser's ``<video>`` asks for to seek in a clip.

One range is served as 206 with ``Content-Range``; a range beyond the end is 416; anything
else (several ranges, another unit, a malformed header, an ``If-Range`` that no longer
matches) is answered with the whole file, as the RFC allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class RangeNotSatisfiable(ValueError):
    """A range that starts at or after the end of the file."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    length: int

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.start + self.length - 1}/{size}"


def requested_range(header: str | None, size: int, *, if_range: str | None = None,
                    etag: str | None = None) -> ByteRange | None:
    """The one range to serve of a ``size``-byte file, or None for the whole file.

    Example:
        >>> requested_range("bytes=100-", 1000)
        ByteRange(start=100, length=900)
        >>> requested_range("bytes=-10", 1000)
        ByteRange(start=990, length=10)
    """
    if header is None or (if_range is not None and if_range != etag):
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None  # several ranges, another unit, or not a range at all
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"bytes=-{suffix} of a file of {size} bytes")
        start = max(0, size - suffix)
        return ByteRange(start, size - start)
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if last and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable(f"bytes={first}-{last} of a file of {size} bytes")
    return ByteRange(start, end - start + 1)
