"""The words the edge and the centre share: event types, severities, evidence kinds, outcomes.

One definition for both sides of the uplink contract (``docs/uplink.md``): the edge's detector and
outbox write these values, the centre's ``dispatch`` stores them. Standard library only.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """What an event reports: one of the four fishing-ban rules, or a camera fault."""

    ANGLING = "angling"
    NET_FISHING = "net_fishing"
    BOAT_INTRUSION = "boat_intrusion"
    LOITERING = "loitering"
    CAMERA_FAULT = "camera_fault"


#: The types a rule raises; ``camera_fault`` comes from the camera's health checks instead.
RULE_TYPES = frozenset(
    {EventType.ANGLING, EventType.NET_FISHING, EventType.BOAT_INTRUSION, EventType.LOITERING}
)


class Severity(StrEnum):
    """How urgently the centre should act; set per rule in the edge's config."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for ``low`` up to 3 for ``critical``: the larger, the more urgent."""
        return list(Severity).index(self)


class EvidenceKind(StrEnum):
    """What an evidence file of an event shows."""

    SNAPSHOT = "snapshot"  # the best frame, annotated
    SNAPSHOT_CLEAN = "snapshot_clean"  # the same frame without drawings
    CLIP = "clip"


class WarningOutcome(StrEnum):
    """What the people did after the loudspeaker warning."""

    DISPERSED = "dispersed"
    STAYED = "stayed"


class FaultKind(StrEnum):
    """Why a camera raised a ``camera_fault`` event."""

    OFFLINE = "offline"  # no connection
    BLACK = "black"  # mean luma near zero
    FROZEN = "frozen"  # keyframes identical: a stuck encoder
    COVERED = "covered"  # no edges: lens covered, sprayed or fogged
