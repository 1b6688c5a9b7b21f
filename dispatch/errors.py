"""Errors dispatch raises for requests it refuses; ``str()`` is a message fit for the user.

The API maps them to status codes (NotFound → 404, PermissionDenied → 403, TransitionError and
Conflict → 409, InvalidRequest → 422); the CLI prints them in one line.
"""

from __future__ import annotations

from collections.abc import Iterable


class DispatchError(Exception):
    """Base class of every refusal."""


class NotFound(DispatchError):
    """No such record, or none the acting user may see (the two are not told apart)."""


class PermissionDenied(DispatchError):
    """The acting user's role may not do this."""


class TransitionError(DispatchError):
    """The record's state does not allow this step; the message lists the steps it allows."""

    @classmethod
    def refused(cls, record: str, step: str, sources: Iterable[str], target: str, current: str,
                allowed: Iterable[str]) -> TransitionError:
        allowed_text = ", ".join(allowed) or "none (final state)"
        return cls(f"cannot {step} {record}: {step} goes from {' or '.join(sources)} to "
                   f"{target}, but it is {current}; steps allowed from {current}: {allowed_text}")


class Conflict(DispatchError):
    """The request contradicts what is stored (an event id reused for another camera)."""


class InvalidRequest(DispatchError):
    """A request that is well-formed but not acceptable (a return without a reason)."""


class ConfigurationError(DispatchError):
    """The dispatch settings lack something this operation needs."""
