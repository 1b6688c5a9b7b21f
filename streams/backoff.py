"""Waits between reconnection attempts: exponential, capped, with jitter.

Jitter keeps a fleet of cameras that lost the same switch from reconnecting in lock-step.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays ``minimum``, ``2 minimum``, ``4 minimum`` ... up to ``maximum``, each drawn from
    its upper half (equal jitter), so a delay is never under half its step.

    Example:
        >>> backoff = Backoff(0.5, 30)
        >>> backoff.next()   # 0.25 .. 0.5
        >>> backoff.next()   # 0.5 .. 1.0
        >>> backoff.reset()  # after a connection that held
    """

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError(f"need 0 < minimum <= maximum, got {minimum}, {maximum}")
        self.minimum, self.maximum = minimum, maximum
        self._rng = rng or random.Random()
        self.attempts = 0

    def next(self) -> float:
        """The wait before the next attempt."""
        step = min(self.maximum, self.minimum * 2 ** min(self.attempts, 62))
        self.attempts += 1
        return step / 2 + self._rng.uniform(0, step / 2)

    def reset(self) -> None:
        self.attempts = 0
