"""Evidence in a local folder: the default, for one centre host (or a shared mount)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from api.evidence.store import (
    Digest,
    EvidenceMissing,
    InvalidKey,
    StoredFile,
    check_expected,
    check_key,
    copy_measured,
    extension,
)

#: Where files are written before they are renamed into place (same file system).
INCOMING = ".incoming"
#: A temporary file this old belongs to no put() still running: a crash left it.
INCOMING_MAX_AGE_S = 24 * 3600.0


class LocalStore:
    """Files under ``folder`` at their key's path, written to ``.incoming`` first and renamed
    into place, with a flush to disk before the rename, so a crash leaves no partial file
    under a key.

    Example:
        >>> store = LocalStore(Path("/var/lib/fishwatch/evidence"))  # doctest: +SKIP
    """

    def __init__(self, folder: Path) -> None:
        self.root = Path(folder).resolve()
        self.incoming = self.root / INCOMING
        self.incoming.mkdir(parents=True, exist_ok=True)
        self._sweep()

    def path(self, key: str) -> Path:
        """Where ``key`` lives; every key stays inside the folder by construction (and is
        checked again after resolving links)."""
        path = self.root.joinpath(*check_key(key).split("/"))
        if not path.resolve().is_relative_to(self.root):
            raise InvalidKey(f"evidence key {key!r} leads out of the store")
        return path

    def put(self, key: str, stream: IO[bytes], *, content_type: str,
            expected: Digest | None = None) -> StoredFile:
        extension(content_type)
        final = self.path(key)
        fd, temporary = tempfile.mkstemp(dir=self.incoming, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as out:
                found = copy_measured(stream, out)
                out.flush()
                os.fsync(out.fileno())
            check_expected(key, found, expected)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        return StoredFile(key, found.size, found.sha256, content_type)

    def open(self, key: str, *, start: int = 0, length: int | None = None) -> _Window:
        try:
            handle = self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise EvidenceMissing(f"no evidence file {key!r}") from None
        handle.seek(start)
        return _Window(handle, length)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def _sweep(self) -> None:
        cutoff = time.time() - INCOMING_MAX_AGE_S
        for leftover in self.incoming.iterdir():
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)


class _Window:
    """At most ``length`` bytes of an open file (all of it when None)."""

    def __init__(self, handle: IO[bytes], length: int | None) -> None:
        self.handle = handle
        self.left = length

    def read(self, size: int = -1, /) -> bytes:
        if self.left is None:
            return self.handle.read(size)
        wanted = self.left if size < 0 else min(size, self.left)
        data = self.handle.read(wanted)
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None, /) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
