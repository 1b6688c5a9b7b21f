"""The base of every settings and input model: unknown keys are errors, values never change.

A typo in a config file must fail at load time, not become a silently ignored setting, and a
loaded setting must not change underfoot while threads read it (Frigate's config does the same).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Forbids unknown keys and is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
