"""Fishwatch's own object classes: the ids every event, rule and tracker agrees on."""

from __future__ import annotations

from enum import IntEnum

CLASS_NAMES: tuple[str, ...] = ("person", "fishing_rod", "net", "boat")


class FishwatchClass(IntEnum):
    """Class ids as an enum, so code says ``FishwatchClass.BOAT`` rather than a bare 3."""

    PERSON = 0
    FISHING_ROD = 1
    NET = 2
    BOAT = 3

    @property
    def label(self) -> str:
        """The class name used in configs, model cards and events."""
        return CLASS_NAMES[self.value]

    @classmethod
    def from_name(cls, name: str) -> FishwatchClass:
        """Look a class up by its name; ValueError lists the valid names."""
        try:
            return cls(CLASS_NAMES.index(name))
        except ValueError:
            raise ValueError(
                f"unknown fishwatch class {name!r}; expected one of {', '.join(CLASS_NAMES)}"
            ) from None
