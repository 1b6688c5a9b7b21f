"""Handing frames from a camera thread to a consumer without queues building up.

A live camera does not wait for anyone: when the consumer is slower, the frame it has not taken
yet is replaced by the newer one and counted as dropped, so the detector always sees the
freshest picture and latency never grows. A file read as fast as possible has no reason to
lose frames, so there the producer waits instead (``lossless``).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class FrameSlot(Generic[T]):
    """A one-item mailbox: freshest-item policy, or blocking hand-over when ``lossless``.

    Example:
        >>> slot = FrameSlot[int]()
        >>> slot.put(1); slot.put(2)      # 1 was never taken: dropped
        >>> slot.get(timeout=0.1), slot.dropped
        (2, 1)
    """

    def __init__(self, *, lossless: bool = False) -> None:
        self.lossless = lossless
        self._item: T | None = None
        self._full = False
        self._closed = False
        self._cond = threading.Condition()
        self.delivered = 0
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Offer ``item``; False when the slot is closed (the item is not delivered)."""
        with self._cond:
            if self.lossless:
                self._cond.wait_for(lambda: not self._full or self._closed)
            if self._closed:
                return False
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """The newest item not taken yet; None after ``timeout`` or once closed and empty."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout):
                return None
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            self.delivered += 1
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """No more items: wakes a waiting producer and, once empty, every consumer."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
