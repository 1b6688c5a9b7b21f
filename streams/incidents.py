"""One camera's incidents: detections and camera faults in, event messages with evidence out.

A :class:`CameraIncidents` is fed by the inference worker, one thread, in stream order: each
frame's detections go through the camera's :class:`~detector.pipeline.CameraAnalyzer`; every event
change and every camera fault becomes an :class:`~streams.records.EventMessage` (a JSON-ready
record, the same shape for both) that carries its evidence files with their sha256. Fault records
and loudspeaker results arrive from other threads and are queued until the worker's next
:meth:`CameraIncidents.pump`.

Evidence of an event: the annotated and the clean picture of its most confident frame (rewritten
when a better frame comes), and a clip from ``pre_capture_s`` before its start to
``post_capture_s`` after it, cut from the camera's packet ring once the camera has got that far.
Given a ``clip_executor``, clips are remuxed there, off the worker: many events may open in the
same second, and each clip costs tens of milliseconds that every camera's detection would wait
for; the clip joins the event at a later :meth:`CameraIncidents.pump`, or when it closes.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Collection
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from detector.annotate import EvidenceAnnotator
from detector.classes import CLASS_NAMES
from detector.departure import DepartureWatch
from detector.detections import Detections
from detector.events import Event, EventUpdate, FrameRef, UpdateKind
from detector.pipeline import CameraAnalyzer
from detector.settings import AnalysisSettings
from fishwatch.common.vocabulary import EventType, WarningOutcome
from streams.evidence import BestFrames, EvidenceFile, EvidenceWriter
from streams.health import CameraFault
from streams.rate import Rate
from streams.records import EventMessage, EventSink, FaultEvent, ModelInfo
from streams.ring import PacketSnapshot
from streams.source import SampledFrame
from streams.speaker import Speaker, WarningResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvidencePlan:
    """What evidence to cut around an event."""

    pre_capture_s: float = 10.0
    post_capture_s: float = 10.0


@dataclass
class _Evidence:
    snapshot: EvidenceFile | None = None
    frame: EvidenceFile | None = None
    clip: EvidenceFile | None = None
    pictured_s: float | None = None  # stream time of the frame in the pictures

    def files(self) -> dict[str, EvidenceFile | None]:
        return {"snapshot": self.snapshot, "frame": self.frame, "clip": self.clip}

    def to_dict(self) -> dict[str, Any]:
        return {name: None if f is None else f.to_dict() for name, f in self.files().items()}


@dataclass
class _Clip:
    incident: str
    start: float
    end: float


@dataclass
class _Warning:
    watch: DepartureWatch
    result: WarningResult | None = None
    outcome: WarningOutcome | None = None

    def to_dict(self) -> dict[str, Any]:
        result = self.result
        return {
            "action": None if result is None else result.action,
            "ok": None if result is None else result.ok,
            "error": None if result is None else result.error,
            "outcome": self.outcome,
        }


@dataclass
class _Fault:
    fault: CameraFault
    needs_picture: bool
    evidence: _Evidence = field(default_factory=_Evidence)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _wall(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


class CameraIncidents:
    """Events, faults, evidence and loudspeaker warnings of one camera.

    ``analysis`` None means the stream's own frame size with the whole frame as one zone where
    every rule applies; the analyzer is then built on the first frame. ``snapshot`` gives the
    camera's buffered packets for a span of stream seconds (``Camera.snapshot``). ``wall_clock``
    False places frames on the wall clock by their stream time from the first frame (files read
    faster than real time), True uses the time each frame was read (live cameras).

    Example:
        >>> incidents = CameraIncidents("pier-3", None, model, EvidenceWriter(folder),
        ...                             snapshot=camera.snapshot, emit=outbox.put)
        >>> incidents.on_frame(frame, detections)   # from the inference worker
        >>> incidents.finish()                      # camera ended: close what is open
    """

    def __init__(
        self,
        camera: str,
        analysis: AnalysisSettings | None,
        model: ModelInfo,
        writer: EvidenceWriter,
        *,
        snapshot: Callable[[float, float], PacketSnapshot | None],
        emit: EventSink,
        plan: EvidencePlan | None = None,
        speaker: Speaker | None = None,
        leave_within_s: float = 30.0,
        max_held_frames: int = 16,
        wall_clock: bool = True,
        annotator: EvidenceAnnotator | None = None,
        clip_executor: Executor | None = None,
    ) -> None:
        self.camera = camera
        self.model = model
        self.writer = writer
        self.plan = plan or EvidencePlan()
        self.speaker = speaker
        self.leave_within_s = leave_within_s
        self._analysis = analysis
        self._analyzer: CameraAnalyzer | None = None
        self._snapshot = snapshot
        self._emit = emit
        self._wall_clock = wall_clock
        self._annotator = annotator or EvidenceAnnotator()
        self._best = BestFrames(max_held_frames)
        self._evidence: dict[str, _Evidence] = {}
        self._events: dict[str, Event] = {}  # open events as last reported
        self._clips: list[_Clip] = []
        self._clip_executor = clip_executor
        self._cutting: dict[str, Future[EvidenceFile | None]] = {}  # incident -> clip being cut
        self._warnings: dict[str, _Warning] = {}
        self._faults: dict[str, _Fault] = {}
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._last: SampledFrame | None = None
        self._wall_origin: float | None = None
        self._rate = Rate()
        self.frames = 0

    # -- what the runner reads -----------------------------------------------------------------

    @property
    def detection_fps(self) -> float:
        return self._rate.per_second(time.monotonic())

    @property
    def open_count(self) -> int:
        return len(self._events) + sum(f.fault.is_open for f in self._faults.values())

    @property
    def last_frame_wall(self) -> float | None:
        """Unix time the latest analysed frame was read."""
        return None if self._last is None else self._last.wall

    @property
    def pending_clips(self) -> int:
        return len(self._clips) + len(self._cutting)

    # -- input from other threads --------------------------------------------------------------

    def on_fault(self, fault: CameraFault) -> None:
        """Camera thread: a fault opened or closed; handled at the next :meth:`pump`."""
        self._inbox.put(lambda: self._fault(fault))

    def pump(self) -> None:
        """Worker thread: handle the faults, speaker results and clips that have arrived."""
        self._apply_cut_clips()
        while True:
            try:
                job = self._inbox.get_nowait()
            except queue.Empty:
                return
            job()

    # -- frames --------------------------------------------------------------------------------

    def on_frame(self, frame: SampledFrame, detections: Detections) -> None:
        """One analysed frame, in stream order.

        Raises:
            detector.zones.FrameSizeError: the stream's frames are not the configured size.
        """
        self.pump()
        self.frames += 1
        self._rate.add(time.monotonic())
        height, width = frame.frame.shape[:2]
        analyzer = self._analyzer_for(width, height)
        ref = self._ref(frame)
        self._last = frame
        self._picture_faults(frame)
        updates = analyzer.update(ref, detections, frame_size=(width, height))
        for event in analyzer.open_events:
            held = self._best.get(str(event.id))
            if event.best_frame.stream_s == frame.pts and (held is None or held[0] != frame.pts):
                self._best.hold(str(event.id), frame.pts, frame.frame)
        for update in updates:
            self._update(update, frame)
        self._watch_warnings()
        self._write_due_clips(frame.pts)

    def finish(self) -> None:
        """The camera is done (ended, failed or stopped): close events and faults, cut clips."""
        self.pump()
        last = self._last
        if self._analyzer is not None and last is not None:
            for update in self._analyzer.close(self._ref(last)):
                self._update(update, last)
        for record in list(self._faults.values()):
            if record.fault.is_open:
                end = last.pts if last is not None else record.fault.start
                wall = last.wall if last is not None else time.time()
                self._fault(replace(record.fault, end=max(end, record.fault.start), ended_at=wall))
        for clip in list(self._clips):
            self._write_clip(clip, announce=False)
        self._apply_cut_clips(waiting_for=tuple(self._cutting))

    # -- events --------------------------------------------------------------------------------

    def _analyzer_for(self, width: int, height: int) -> CameraAnalyzer:
        if self._analyzer is None:
            settings = self._analysis or AnalysisSettings(frame_size=(width, height))
            self._analysis = settings
            self._analyzer = CameraAnalyzer(
                self.camera, settings, model_name=self.model.name, model_version=self.model.version
            )
        return self._analyzer

    def _ref(self, frame: SampledFrame) -> FrameRef:
        if self._wall_clock:
            return FrameRef(frame.index, frame.pts, _wall(frame.wall))
        if self._wall_origin is None:
            self._wall_origin = frame.wall - frame.pts
        return FrameRef(frame.index, frame.pts, _wall(self._wall_origin + frame.pts))

    def _update(self, update: EventUpdate, frame: SampledFrame) -> None:
        event = update.event
        key = str(event.id)
        evidence = self._evidence.setdefault(key, _Evidence())
        if update.kind is UpdateKind.OPENED:
            self._best.hold(key, frame.pts, frame.frame)
            self._clips.append(
                _Clip(
                    key,
                    event.start_s - self.plan.pre_capture_s,
                    event.start_s + self.plan.post_capture_s,
                )
            )
            if self.speaker is not None:
                self._warn(event, frame.pts)
        self._picture_event(event, evidence)
        if update.kind is UpdateKind.CLOSED:
            self._apply_cut_clips(waiting_for=(key,))
            for clip in [c for c in self._clips if c.incident == key]:
                self._write_clip(clip, announce=False)
            warning = self._warnings.get(key)
            if warning is not None and warning.outcome is None:
                warning.outcome = WarningOutcome.DISPERSED  # the incident ended: nobody does it
            self._best.release(key)
            self._events.pop(key, None)
        else:
            self._events[key] = event
        self._send_event(update.kind, event)
        if update.kind is UpdateKind.CLOSED:
            self._evidence.pop(key, None)
            self._warnings.pop(key, None)

    def _picture_event(self, event: Event, evidence: _Evidence) -> None:
        """(Re)write the pictures when a better frame than the pictured one is held."""
        key = str(event.id)
        held = self._best.get(key)
        if held is None or held[0] == evidence.pictured_s:
            return
        stream_s, image = held
        boxes = Detections(
            np.array([b.xyxy for b in event.evidence], np.float32).reshape(-1, 4),
            np.array([b.confidence for b in event.evidence], np.float32),
            np.array([b.class_id for b in event.evidence], np.int64),
            tracker_id=np.array([b.track_id for b in event.evidence], np.int64),
        )
        assert self._analysis is not None and self._analyzer is not None
        zones = [z for z in self._analyzer.zones if z.name in self._analysis.zones]
        caption = f"{event.type.value} {event.best_confidence:.2f} in {event.zone}"
        annotated = self._annotator.annotate(
            image,
            boxes,
            zones,
            camera=self.camera,
            time=self._local(event.best_frame.wall_time),
            caption=caption,
        )
        pictures = self._write_images(key, image, annotated)
        if pictures is not None:
            evidence.snapshot, evidence.frame = pictures
        evidence.pictured_s = stream_s

    def _write_images(
        self, key: str, clean: np.ndarray, annotated: np.ndarray
    ) -> tuple[EvidenceFile, EvidenceFile] | None:
        """Write the pictures; a full or read-only disk costs the pictures, not the event."""
        try:
            return self.writer.write_images(key, clean, annotated)
        except OSError as exc:
            log.error("camera %s: cannot write the pictures of %s: %s", self.camera, key, exc)
            return None

    def _local(self, moment: datetime) -> datetime:
        """The time in the zone the camera's ban calendars use: what officers read locally."""
        assert self._analysis is not None
        return moment.astimezone(ZoneInfo(self._analysis.rules.angling.calendar.timezone))

    def _send_event(self, kind: UpdateKind | str, event: Event) -> None:
        key = str(event.id)
        warning = self._warnings.get(key)
        evidence = self._evidence.get(key, _Evidence())
        self._send(
            {
                "kind": str(kind),
                "id": key,
                "type": event.type.value,
                "camera": self.camera,
                "zone": event.zone,
                "severity": event.severity.value,
                "start": _iso(event.start),
                "end": _iso(event.end),
                "start_s": round(event.start_s, 3),
                "end_s": None if event.end_s is None else round(event.end_s, 3),
                "confidence": round(event.best_confidence, 4),
                "track_ids": list(event.track_ids),
                "boxes": [
                    {
                        "track_id": b.track_id,
                        "class": CLASS_NAMES[b.class_id],
                        "xyxy": [round(v, 1) for v in b.xyxy],
                        "confidence": round(b.confidence, 4),
                    }
                    for b in event.evidence
                ],
                "best_frame": {
                    "stream_s": round(event.best_frame.stream_s, 3),
                    "wall_time": _iso(event.best_frame.wall_time),
                },
                "model": self.model.to_dict(),
                **evidence.to_dict(),
                "warning": None if warning is None else warning.to_dict(),
            },
            event,
            evidence,
            None if warning is None else warning.outcome,
        )

    def _send(
        self,
        document: dict[str, Any],
        event: Event | FaultEvent,
        evidence: _Evidence,
        outcome: WarningOutcome | None = None,
    ) -> None:
        try:
            self._emit(EventMessage(document, event, evidence.files(), outcome))
        except Exception:  # a broken sink must not stop detection; the message is logged
            log.exception(
                "camera %s: could not hand over event message %s (%s)",
                self.camera,
                document["id"],
                document["kind"],
            )

    # -- clips ---------------------------------------------------------------------------------

    def _write_due_clips(self, now: float) -> None:
        for clip in [c for c in self._clips if now >= c.end]:
            self._write_clip(clip)

    def _write_clip(self, clip: _Clip, *, announce: bool = True) -> None:
        """Cut the clip with what the ring holds; ``announce`` sends an update for open ones.

        An announced clip goes to the ``clip_executor`` when there is one; a clip that its
        closing incident needs now is written here.
        """
        self._clips.remove(clip)
        packets = self._snapshot(clip.start, clip.end)
        if announce and self._clip_executor is not None:
            self._cutting[clip.incident] = self._clip_executor.submit(
                self._cut, clip.incident, packets
            )
            return
        self._clip_written(clip.incident, self._cut(clip.incident, packets), announce=announce)

    def _cut(self, incident: str, packets: PacketSnapshot | None) -> EvidenceFile | None:
        """Write a clip (any thread); None when there is no video or it could not be written."""
        try:
            return self.writer.write_clip(incident, packets)
        except Exception:  # evidence is best effort: the event itself must still go out
            log.exception("camera %s: could not write the clip of %s", self.camera, incident)
            return None

    def _apply_cut_clips(self, *, waiting_for: Collection[str] = ()) -> None:
        """Attach the clips cut in the background: those done, and (waiting) those named."""
        for incident, future in list(self._cutting.items()):
            if incident in waiting_for or future.done():
                del self._cutting[incident]
                self._clip_written(incident, future.result(), announce=incident not in waiting_for)

    def _clip_written(self, incident: str, written: EvidenceFile | None, *, announce: bool) -> None:
        if written is None:
            return
        if incident in self._faults:
            record = self._faults[incident]
            record.evidence.clip = written
            if announce:
                self._send_fault(record, UpdateKind.UPDATED)
            return
        evidence = self._evidence.get(incident)
        if evidence is None:
            return
        evidence.clip = written
        event = self._events.get(incident)
        if announce and event is not None:
            self._send_event(UpdateKind.UPDATED, event)

    # -- loudspeaker ---------------------------------------------------------------------------

    def _warn(self, event: Event, now: float) -> None:
        assert self.speaker is not None and self._analysis is not None
        key = str(event.id)
        self._warnings[key] = _Warning(
            DepartureWatch(
                event.zone,
                deadline_s=now + self.leave_within_s,
                max_gap_s=self._analysis.rules.max_gap_s,
            )
        )
        fields = {"camera": self.camera, "type": event.type.value, "zone": event.zone, "id": key}
        self.speaker.warn(
            fields, on_done=lambda result: self._inbox.put(lambda: self._warned(key, result))
        )

    def _warned(self, key: str, result: WarningResult) -> None:
        warning = self._warnings.get(key)
        if warning is None:
            return  # closed before the call returned; the outcome is already out
        warning.result = result
        event = self._events.get(key)
        if event is not None:
            self._send_event(UpdateKind.UPDATED, event)

    def _watch_warnings(self) -> None:
        """Follow each warned event's tracks; at its deadline, send its outcome."""
        if not self._warnings:
            return
        assert self._analyzer is not None and self._analyzer.scene is not None
        scene = self._analyzer.scene
        current = {str(e.id): e for e in self._analyzer.open_events}
        for key, warning in self._warnings.items():
            event = current.get(key)
            if event is None or warning.outcome is not None:
                continue
            warning.outcome = warning.watch.observe(scene, event.track_ids)
            if warning.outcome is not None:
                self._send_event(UpdateKind.UPDATED, self._events[key])  # as last reported

    # -- camera faults -------------------------------------------------------------------------

    def _fault(self, fault: CameraFault) -> None:
        record = self._faults.get(fault.id)
        opened = record is None
        if record is None:
            record = self._faults[fault.id] = _Fault(fault, needs_picture=fault.kind != "offline")
            self._clips.append(
                _Clip(
                    fault.id,
                    fault.start - self.plan.pre_capture_s,
                    fault.start + self.plan.post_capture_s,
                )
            )
            last = self._last
            if last is not None and last.pts >= fault.start:
                self._picture_fault(record, last)
        record.fault = fault
        if not fault.is_open:
            self._apply_cut_clips(waiting_for=(fault.id,))
            for clip in [c for c in self._clips if c.incident == fault.id]:
                self._write_clip(clip, announce=False)
        kind = (
            UpdateKind.OPENED
            if opened
            else UpdateKind.CLOSED
            if not fault.is_open
            else UpdateKind.UPDATED
        )
        self._send_fault(record, kind)
        if not fault.is_open:
            del self._faults[fault.id]

    def _picture_faults(self, frame: SampledFrame) -> None:
        """Picture open faults with the first frame since they began.

        The camera thread runs a frame or two ahead of the worker, so a fault may arrive before
        the worker has seen any frame that shows it (offline faults have none to show).
        """
        for record in self._faults.values():
            if record.needs_picture and frame.pts >= record.fault.start:
                self._picture_fault(record, frame)
                self._send_fault(record, UpdateKind.UPDATED)

    def _picture_fault(self, record: _Fault, frame: SampledFrame) -> None:
        fault = record.fault
        annotated = self._annotator.annotate(
            frame.frame,
            Detections.empty(),
            camera=self.camera,
            time=self._local(self._ref(frame).wall_time) if self._analysis else _wall(frame.wall),
            caption=f"{EventType.CAMERA_FAULT} {fault.kind}: {fault.detail}",
        )
        pictures = self._write_images(fault.id, frame.frame, annotated)
        if pictures is not None:
            record.evidence.snapshot, record.evidence.frame = pictures
        record.evidence.pictured_s = frame.pts
        record.needs_picture = False

    def _send_fault(self, record: _Fault, kind: UpdateKind) -> None:
        fault = record.fault
        event = FaultEvent(fault, self.model.name, self.model.version)
        self._send(
            {
                "kind": str(kind),
                "id": fault.id,
                "type": event.type.value,
                "fault": str(fault.kind),
                "detail": fault.detail,
                "camera": self.camera,
                "zone": None,
                "severity": event.severity.value,
                "start": _iso(event.start),
                "end": _iso(event.end),
                "start_s": round(fault.start, 3),
                "end_s": None if fault.end is None else round(fault.end, 3),
                "confidence": 1.0,
                "track_ids": [],
                "boxes": [],
                "best_frame": None
                if record.evidence.pictured_s is None
                else {"stream_s": round(record.evidence.pictured_s, 3)},
                "model": self.model.to_dict(),
                **record.evidence.to_dict(),
                "warning": None,
            },
            event,
            record.evidence,
        )
