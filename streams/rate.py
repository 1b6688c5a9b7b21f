"""Events per second over the last few seconds: camera fps, decoded fps, detection fps.

A sliding window rather than a running average, so a camera that stalls shows 0 within the
window instead of a slowly decaying figure.
"""

from __future__ import annotations

from collections import deque

WINDOW_S = 5.0


class Rate:
    """Counts events on the monotonic clock and reports their rate over ``window_s``.

    Example:
        >>> rate = Rate()
        >>> for t in (0.0, 0.5, 1.0):
        ...     rate.add(t)
        >>> rate.per_second(1.0)
        2.0
    """

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def add(self, now: float) -> None:
        self._times.append(now)
        self._trim(now)

    def clear(self) -> None:
        self._times.clear()

    def per_second(self, now: float) -> float:
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-9)

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()
