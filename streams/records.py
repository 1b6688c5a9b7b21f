"""What the edge says about an incident: one message per change of an event or a camera fault.

A camera's incidents hand every change to a sink (the uplink's outbox, or stdout) as an
:class:`EventMessage`: a JSON-ready record of the same shape for rule events and camera faults
(``docs/edge.md``), the value it was made from, and its evidence files. A camera fault travels as a
:class:`FaultEvent`, so that the outbox can send it as an event of type ``camera_fault``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from detector.events import Event
from fishwatch.common.vocabulary import EventType, Severity, WarningOutcome
from streams.evidence import EvidenceFile
from streams.health import CameraFault


@dataclass(frozen=True)
class ModelInfo:
    """Which exact model made the detections, named in every message."""

    name: str
    version: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class FaultEvent:
    """A camera fault told as an event of type ``camera_fault``.

    It has no zone, tracks or confidence; it names the box's model like every event, so the
    centre can store all events alike. Wall-clock times come from the fault's Unix times.
    """

    fault: CameraFault
    model_name: str
    model_version: str
    severity: Severity = Severity.HIGH

    type: ClassVar[EventType] = EventType.CAMERA_FAULT

    @property
    def id(self) -> UUID:
        return UUID(self.fault.id)

    @property
    def camera(self) -> str:
        return self.fault.camera

    @property
    def is_open(self) -> bool:
        return self.fault.is_open

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.fault.started_at, UTC)

    @property
    def end(self) -> datetime | None:
        ended = self.fault.ended_at
        return None if ended is None else datetime.fromtimestamp(ended, UTC)


@dataclass(frozen=True)
class EventMessage:
    """One change of an event or a camera fault, as sinks receive it.

    ``document`` is the JSON-ready record (``kind`` opened/updated/closed, ``type``, ``camera``,
    times, ``confidence``, ``model``, ``snapshot``/``frame``/``clip`` with path, sha256 and
    size, ``warning``; ``fault`` and ``detail`` for a camera fault); ``event`` is what it was
    made from; ``evidence`` names the files by role (``snapshot``, ``frame``, ``clip``).
    """

    document: dict[str, Any]
    event: Event | FaultEvent
    evidence: Mapping[str, EvidenceFile | None]
    outcome: WarningOutcome | None = None

    @property
    def kind(self) -> str:
        return str(self.document["kind"])


#: Receives every event message: the uplink's outbox, or stdout.
EventSink = Callable[[EventMessage], None]
