"""Did the people warned off leave? The outcome of a loudspeaker warning, judged on the tracks.

When an event opens, the loudspeaker tells the people involved to leave; they have
``leave_within_s``. The people involved are the event's person tracks (the angler, the net
thrower, a boat's crew); an event that names no person (a net left in the water, a boat whose
crew was never seen) is judged on its own objects. At the deadline the outcome is ``stayed`` when
one of them stood in the event's zone (as the rules see it, after inertia) during the last
``max_gap_s`` (the gap a missed detection may leave, so one missed frame does not make a stayer
look dispersed), else ``dispersed``. Anyone else in the zone — a walker passing behind the angler —
does not count: they were not warned off anything.
"""

from __future__ import annotations

from collections.abc import Collection

from detector.classes import FishwatchClass
from detector.rules import Scene
from fishwatch.common.vocabulary import WarningOutcome


class DepartureWatch:
    """Watches one warned event's tracks until its deadline and then gives the outcome.

    Example:
        >>> watch = DepartureWatch("bank", deadline_s=opened_s + 30, max_gap_s=3)
        >>> for frame, detections in stream:                       # after the warning
        ...     analyzer.update(frame, detections)
        ...     event = next(e for e in analyzer.open_events if e.id == warned_id)
        ...     outcome = watch.observe(analyzer.scene, event.track_ids)
        ...     if outcome is not None:
        ...         break                                          # dispersed or stayed
    """

    def __init__(self, zone: str, *, deadline_s: float, max_gap_s: float) -> None:
        self.zone = zone
        self.deadline_s = deadline_s
        self.max_gap_s = max_gap_s
        self.outcome: WarningOutcome | None = None
        self._classes: dict[int, int] = {}  # class of each track of the event seen so far
        self._in_zone_s: dict[int, float] = {}  # when each was last in the event's zone

    def observe(self, scene: Scene, track_ids: Collection[int]) -> WarningOutcome | None:
        """Feed every analysed frame with the event's current track ids (an event gains tracks
        while it lasts); returns the outcome once, at the first frame at or past the deadline."""
        if self.outcome is not None:
            return None
        names = [zone.name for zone in scene.zones]
        column = names.index(self.zone) if self.zone in names else None
        detections = scene.detections
        assert detections.tracker_id is not None  # a Scene holds tracked detections
        for row, (track, class_id) in enumerate(
            zip(detections.tracker_id.tolist(), detections.class_id.tolist(), strict=True)
        ):
            if track not in track_ids:
                continue
            self._classes[track] = class_id
            if column is not None and scene.present[row, column]:
                self._in_zone_s[track] = scene.frame.stream_s
        if scene.frame.stream_s < self.deadline_s:
            return None
        people = {t for t in track_ids if self._classes.get(t) == FishwatchClass.PERSON}
        since = self.deadline_s - self.max_gap_s
        stayed = any(self._in_zone_s.get(t, -1e18) >= since for t in people or track_ids)
        self.outcome = WarningOutcome.STAYED if stayed else WarningOutcome.DISPERSED
        return self.outcome
