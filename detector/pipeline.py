"""One camera's analysis: detections in, event updates out, with nothing read or written.

Order matters and is fixed here: ignore zones and box sizes first (cheap, and the tracker should
never see what no rule may use), then the tracker (it needs the weak detections the score gate
would drop), then the median-score gate, zone presence with inertia, the rules and the events.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import numpy as np

from detector.classes import CLASS_NAMES
from detector.detections import Detections
from detector.events import Event, EventManager, EventUpdate, FrameRef
from detector.filters import BoxSizeFilter, MedianScoreGate, SizeLimits, ZoneInertia
from detector.rules import RuleEngine, Scene
from detector.settings import AnalysisSettings
from detector.tracking import ByteTracker
from detector.zones import PolygonZone, ZoneKind, default_zones


def build_zones(settings: AnalysisSettings) -> tuple[PolygonZone, ...]:
    """The configured zones; where none is a rule zone, the whole frame is one for every rule."""
    zones = tuple(
        PolygonZone(name, np.array(zone.coordinates), settings.frame_size, frozenset(zone.kinds))
        for name, zone in settings.zones.items()
    )
    if all(ZoneKind.IGNORE in z.kinds for z in zones):
        zones = default_zones(*settings.frame_size) + zones
    return zones


class CameraAnalyzer:
    """Turns one camera's per-frame :class:`Detections` into :class:`EventUpdate` records.

    Pure and single-threaded: one instance per camera, fed frames in stream order.

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> analyzer = CameraAnalyzer(
        ...     "pier-3", AnalysisSettings(frame_size=(640, 360)),
        ...     model_name="fishwatch-yolo11n", model_version="1.0")
        >>> boat = Detections([[100, 100, 300, 160]], [0.9], [3])
        >>> t0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
        >>> updates = [u for i in range(13)
        ...            for u in analyzer.update(FrameRef(i, i, t0 + timedelta(seconds=i)), boat)]
        >>> [(u.kind.value, u.event.type.value, u.event.start_s) for u in updates]
        [('opened', 'boat_intrusion', 1.0)]
    """

    def __init__(
        self,
        camera: str,
        settings: AnalysisSettings,
        *,
        model_name: str,
        model_version: str,
        id_factory: Callable[[], UUID] = uuid4,
    ) -> None:
        self.camera = camera
        self.settings = settings
        zones = build_zones(settings)
        self._ignore = tuple(z for z in zones if ZoneKind.IGNORE in z.kinds)
        self.zones = tuple(z for z in zones if ZoneKind.IGNORE not in z.kinds)
        filters = {CLASS_NAMES.index(name): f for name, f in settings.filters.items()}
        self._sizes = BoxSizeFilter({
            c: SizeLimits(f.min_width, f.min_height, f.min_area) for c, f in filters.items()
        })
        self._tracker = ByteTracker(**settings.tracker.model_dump(), frame_size=settings.frame_size)
        self._scores = MedianScoreGate({c: f.threshold for c, f in filters.items()})
        inertia = {name: zone.inertia for name, zone in settings.zones.items()}
        self._inertia = ZoneInertia([inertia.get(z.name, 1) for z in self.zones])
        self._rules = RuleEngine(settings.rules)
        self._scene: Scene | None = None
        self._events = EventManager(
            camera,
            model_name=model_name,
            model_version=model_version,
            quiet_s=settings.events.quiet_s,
            cooldown_s=settings.events.cooldown_s,
            update_interval_s=settings.events.update_interval_s,
            id_factory=id_factory,
        )

    @property
    def open_events(self) -> tuple[Event, ...]:
        return self._events.open_events

    @property
    def scene(self) -> Scene | None:
        """The latest frame as the rules saw it: the believed tracks (tracked, past the score
        gate) and which zones each stands in, after inertia. None before the first frame."""
        return self._scene

    def update(
        self,
        frame: FrameRef,
        detections: Detections,
        *,
        frame_size: tuple[int, int] | None = None,
    ) -> list[EventUpdate]:
        """Analyse one frame's detections; ``frame_size`` (width, height), when given, is checked.

        Raises:
            detector.zones.FrameSizeError: the frame is not the size the zones were drawn for.
        """
        if frame_size is not None:
            self.zones[0].check_frame_size(*frame_size)
        for zone in self._ignore:
            detections = detections[~zone.trigger(detections)]
        tracked = self._tracker.update(self._sizes(detections), frame.stream_s)
        alive = self._tracker.alive_ids
        self._scores.forget(alive)
        self._inertia.forget(alive)
        self._rules.forget(alive)
        believed = self._scores(tracked)
        assert believed.tracker_id is not None
        present = self._inertia(believed.tracker_id, self._rules.locate(believed, self.zones))
        self._scene = Scene(frame, believed, self.zones, present)
        return self._events.update(frame, self._rules.evaluate(self._scene))

    def close(self, frame: FrameRef) -> list[EventUpdate]:
        """Close every open event (the stream ended or the camera is being removed)."""
        return self._events.close_all(frame)
