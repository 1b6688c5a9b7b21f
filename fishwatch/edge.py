"""The edge box: cameras, one detector and each camera's incidents, wired from the config.

N camera threads leave their freshest frame in their slots; ONE inference worker (the thread
that calls :meth:`EdgeRunner.run`) takes ready frames round-robin, runs the one shared ONNX
session on them and hands each camera's detections to its :class:`CameraIncidents`. Frames the
worker had no time for are replaced in the slots and counted as skipped; nothing queues up.
Camera threads run at a lower CPU priority (``edge.camera_nice``): the worker is the serial stage,
a camera has a whole keyframe interval to decode its next frame. Clips are remuxed on one
evidence thread at that priority too, so events opening together do not stall detection.
``fishwatch detect`` runs the same runner over one file camera read as fast as the worker goes.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from detector.detections import Detections
from detector.settings import RulesSettings
from detector.zones import FrameSizeError
from fishwatch.common.vocabulary import EvidenceKind
from fishwatch.config import CameraConfig, ConfigError, EvidenceConfig, FishwatchConfig
from fishwatch.metrics import CameraFigures, EdgeMetrics, RunnerFigures
from streams.batching import FrameBatcher
from streams.camera import Camera, CameraState
from streams.evidence import EvidenceWriter
from streams.health import CameraFault
from streams.incidents import CameraIncidents, EvidencePlan
from streams.outbox import Attachment, Outbox
from streams.priority import lower_thread_priority
from streams.records import EventMessage, EventSink, ModelInfo
from streams.settings import CameraSourceConfig, SamplingConfig
from streams.source import SampledFrame
from streams.speaker import Speaker
from streams.uplink import CameraReport, Heartbeat, Uplink

log = logging.getLogger(__name__)

_DONE = frozenset({CameraState.ENDED, CameraState.FAILED, CameraState.STOPPED})
#: A clip is cut once the camera is this far past its end; keyframes may lag by one GOP.
_GOP_MARGIN_S = 4.0
_INFERENCE_WINDOW = 50
#: How often the worker looks for cameras that have ended or failed, even while others send.
_CHECK_INTERVAL_S = 0.25


class FrameDetector(Protocol):
    """What the runner needs of a detector (:class:`detector.model.Detector` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def sha256(self) -> str: ...

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]: ...


@dataclass(frozen=True)
class CameraResult:
    """How a camera ended up when the runner stopped."""

    name: str
    state: CameraState
    error: str | None
    frames: int  # frames analysed


def ring_seconds(camera: CameraConfig, evidence: EvidenceConfig) -> float:
    """Seconds of video the camera's ring must hold to cut an event's whole clip.

    An event starts when its situation began but opens only after the rule's dwell (or a
    fault's hold time); its clip reaches ``pre_capture_s`` before that start and is cut at
    ``post_capture_s`` after it, or at opening if that is later.
    """
    rules = camera.analysis.rules if camera.analysis is not None else RulesSettings()
    faults = camera.source.faults
    waits = [
        rule.min_dwell_s
        for rule in (rules.angling, rules.net_fishing, rules.boat_intrusion, rules.loitering)
        if rule.enabled
    ]
    waits += [
        s
        for s in (faults.black_s, faults.freeze_s, faults.covered_s, faults.offline_s)
        if s is not None
    ]
    needed = evidence.pre_capture_s + max([evidence.post_capture_s, *waits]) + _GOP_MARGIN_S
    return min(max(camera.source.pre_capture_s, needed), 600.0)


class _Unit:
    """One camera and its incidents."""

    def __init__(self, camera: Camera, incidents: CameraIncidents, speaker: Speaker | None) -> None:
        self.camera = camera
        self.incidents = incidents
        self.speaker = speaker
        self.error: str | None = None
        self.finished = False

    @property
    def name(self) -> str:
        return self.camera.name


class EdgeRunner:
    """Runs cameras through one detector until they are all done or ``stop`` is set.

    ``folders`` overrides a camera's evidence folder (``evidence.folder/<camera>`` otherwise);
    ``wall_clock`` False dates frames by their stream time (files read faster than real time).

    Example:
        >>> runner = EdgeRunner(config.cameras, detector, config.evidence, sink=outbox.put)
        >>> stop = threading.Event()               # set it from a signal handler
        >>> results = runner.run(stop)
    """

    def __init__(
        self,
        cameras: Mapping[str, CameraConfig],
        detector: FrameDetector,
        evidence: EvidenceConfig,
        *,
        sink: EventSink,
        folders: Mapping[str, Path] | None = None,
        wall_clock: bool = True,
        max_batch: int = 1,
        report: Callable[[str], None] | None = None,
        status_interval_s: float = 10.0,
        outbox_size: Callable[[], int] | None = None,
        camera_nice: int = 0,
    ) -> None:
        self._detector = detector
        self._sink = sink
        self._report = report
        self._status_interval_s = status_interval_s
        self._outbox_size = outbox_size
        self._inference_ms: deque[float] = deque(maxlen=_INFERENCE_WINDOW)
        self.metrics = EdgeMetrics(self.figures)
        self._clip_executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="evidence",
            initializer=lower_thread_priority,
            initargs=(camera_nice,),
        )
        model = ModelInfo(detector.name, detector.version, detector.sha256)
        plan = EvidencePlan(evidence.pre_capture_s, evidence.post_capture_s)
        self._units: dict[str, _Unit] = {}
        for name, config in cameras.items():
            source = config.source.model_copy(
                update={"pre_capture_s": ring_seconds(config, evidence)}
            )
            camera = Camera(name, source, on_fault=functools.partial(self._on_fault, name),
                            nice=camera_nice)
            speaker = Speaker(config.speaker, name=name) if config.speaker is not None else None
            incidents = CameraIncidents(
                name,
                config.analysis,
                model,
                EvidenceWriter(
                    (folders or {}).get(name, evidence.folder / name),
                    jpeg_quality=evidence.jpeg_quality,
                ),
                snapshot=camera.snapshot,
                emit=self._emit,
                plan=plan,
                speaker=speaker,
                leave_within_s=config.speaker.leave_within_s if config.speaker else 0.0,
                max_held_frames=evidence.max_held_frames,
                wall_clock=wall_clock,
                clip_executor=self._clip_executor,
            )
            self._units[name] = _Unit(camera, incidents, speaker)
        self._batcher = FrameBatcher([u.camera for u in self._units.values()], max_batch=max_batch)

    def _on_fault(self, name: str, fault: CameraFault) -> None:
        self._units[name].incidents.on_fault(fault)

    def _emit(self, message: EventMessage) -> None:
        document = message.document
        self.metrics.events.labels(document["camera"], document["type"], document["kind"]).inc()
        self._sink(message)

    # -- figures -------------------------------------------------------------------------------

    def heartbeat(self) -> Heartbeat:
        """What the uplink tells the centre about this box every minute."""
        reports = []
        for unit in self._units.values():
            status = unit.camera.status()
            last = unit.incidents.last_frame_wall
            reports.append(
                CameraReport(
                    unit.name,
                    status.state.value,
                    status.input_fps if status.online else None,
                    None if last is None else datetime.fromtimestamp(last, UTC),
                )
            )
        return Heartbeat(self._detector.name, self._detector.version, tuple(reports))

    def figures(self) -> RunnerFigures:
        """A consistent-enough snapshot for metrics and the console (read from any thread)."""
        cameras = []
        for unit in self._units.values():
            status = unit.camera.status()
            cameras.append(
                CameraFigures(
                    unit.name,
                    status.online,
                    status.input_fps,
                    status.sampled_fps,
                    unit.incidents.detection_fps,
                    status.frames_dropped,
                )
            )
        return RunnerFigures(
            cameras,
            self._batcher.last_batch,
            sum(u.incidents.pending_clips for u in self._units.values()),
            self._outbox_size() if self._outbox_size is not None else None,
        )

    # -- running -------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> list[CameraResult]:
        """Start the cameras and detect until every camera is done or ``stop`` is set."""
        for unit in self._units.values():
            unit.camera.start()
        next_status = time.monotonic() + self._status_interval_s
        next_check = 0.0
        try:
            while not stop.is_set() and any(not u.finished for u in self._units.values()):
                frames = self._batcher.next_batch(stop, timeout=_CHECK_INTERVAL_S)
                if frames:
                    self._detect(frames)
                for unit in self._units.values():
                    if not unit.finished:
                        unit.incidents.pump()
                if not frames or time.monotonic() >= next_check:
                    next_check = time.monotonic() + _CHECK_INTERVAL_S
                    self._retire_done()
                if self._report is not None and time.monotonic() >= next_status:
                    next_status = time.monotonic() + self._status_interval_s
                    self._print_status()
        finally:
            self._shutdown()
        if self._report is not None:
            self._print_status()
        return [
            CameraResult(u.name, u.camera.status().state, u.error, u.incidents.frames)
            for u in self._units.values()
        ]

    def _detect(self, frames: list[SampledFrame]) -> None:
        start = time.perf_counter()
        found = self._detector.detect([f.frame for f in frames])
        elapsed = time.perf_counter() - start
        self.metrics.inference.observe(elapsed)
        self._inference_ms.append(1000 * elapsed / len(frames))
        for frame, detections in zip(frames, found, strict=True):
            unit = self._units[frame.camera]
            if unit.finished:
                continue
            try:
                unit.incidents.on_frame(frame, detections)
            except FrameSizeError as exc:
                self._fail(unit, str(exc))
            except Exception as exc:  # one camera's bug must not stop the others
                log.exception("camera %s: analysis failed", unit.name)
                self._fail(unit, f"analysis failed: {type(exc).__name__}: {exc}")

    def _fail(self, unit: _Unit, error: str) -> None:
        log.error("camera %s: %s", unit.name, error)
        unit.error = error
        unit.camera.stop(timeout=0)
        self._finish(unit)

    def _retire_done(self) -> None:
        """Finish cameras that have ended or failed and have no frame left in their slot."""
        for unit in self._units.values():
            if unit.finished or unit.camera.status().state not in _DONE:
                continue
            while (frame := unit.camera.next_frame(timeout=0)) is not None:
                self._detect([frame])
            status = unit.camera.status()
            if status.state is CameraState.FAILED:
                unit.error = status.last_error
            self._finish(unit)

    def _finish(self, unit: _Unit) -> None:
        if unit.finished:
            return
        unit.finished = True
        if unit.camera in self._batcher.sources:
            self._batcher.remove(unit.camera)
        try:
            unit.incidents.finish()
        finally:
            if unit.speaker is not None:
                unit.speaker.close()

    def _shutdown(self) -> None:
        """Stop every camera (all at once, then wait), close what is open."""
        for unit in self._units.values():
            unit.camera.stop(timeout=0)
        deadline = time.monotonic() + 5.0
        for unit in self._units.values():
            if not unit.camera.stop(timeout=max(0.0, deadline - time.monotonic())):
                log.warning("camera %s: reader thread still blocked at shutdown", unit.name)
        for unit in self._units.values():
            self._finish(unit)
        self._clip_executor.shutdown()
        self.metrics.close()

    def _print_status(self) -> None:
        assert self._report is not None
        ms = statistics.median(self._inference_ms) if self._inference_ms else 0.0
        figures = {c.name: c for c in self.figures().cameras}
        self._report(f"inference {ms:.0f} ms/frame, queue {self._batcher.last_batch}")
        for unit in self._units.values():
            status, figure = unit.camera.status(), figures[unit.name]
            line = (
                f"  {unit.name}: {status.state} {figure.input_fps:.1f} fps, decoded "
                f"{figure.decoded_fps:.1f}, detected {figure.detection_fps:.1f}, skipped "
                f"{figure.frames_skipped}, frames {unit.incidents.frames}, open "
                f"{unit.incidents.open_count}"
            )
            error = unit.error or status.last_error
            self._report(line + (f", last error: {error}" if error else ""))


def file_source(
    path: Path, base: CameraSourceConfig | None, sample: SamplingConfig
) -> CameraSourceConfig:
    """A config reading ``path`` as fast as the worker takes frames, nothing dropped."""
    update: dict[str, object] = {
        "url": None,
        "device": None,
        "kind": None,
        "path": path,
        "pace": "fast",
        "loop": False,
        "sample": sample,
    }
    config = base or CameraSourceConfig(path=path)
    return CameraSourceConfig.model_validate({**config.model_dump(), **update})


#: Evidence roles of an :class:`EventMessage` and their kinds in the uplink contract.
_OUTBOX_KINDS: dict[str, EvidenceKind] = {
    "snapshot": EvidenceKind.SNAPSHOT,
    "frame": EvidenceKind.SNAPSHOT_CLEAN,
    "clip": EvidenceKind.CLIP,
}


class OutboxSink:
    """Queues event messages, rule events and camera faults alike, in the uplink's outbox,
    each evidence file with one revision only.

    A revision carries the files that are new or changed since the event's previous one (the
    contract keeps the latest of each kind); the outbox takes them over, so the box holds one
    copy, deleted with the delivered messages.
    """

    def __init__(self, outbox: Outbox, notify: Callable[[], None] = lambda: None) -> None:
        self.outbox = outbox
        self.notify = notify
        self._sent: dict[str, dict[str, str]] = {}  # event id -> role -> sha256 queued

    def __call__(self, message: EventMessage) -> None:
        document = message.document
        sent = self._sent.setdefault(document["id"], {})
        fresh = {
            role: file
            for role, file in message.evidence.items()
            if file is not None and sent.get(role) != file.sha256
        }
        attachments = [Attachment(_OUTBOX_KINDS[role], file.path) for role, file in fresh.items()]
        self.outbox.add(message.event, attachments, outcome=message.outcome, move=True)
        sent.update({role: file.sha256 for role, file in fresh.items()})
        if message.kind == "closed":
            del self._sent[document["id"]]
            for folder in {file.path.parent for file in message.evidence.values() if file}:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # emptied by the outbox taking the files over
        self.notify()


def run_site(
    config: FishwatchConfig,
    detector: FrameDetector,
    stop: threading.Event,
    *,
    report: Callable[[str], None],
    sink: EventSink,
    drain_s: float = 0.0,
) -> list[CameraResult]:
    """Run the configured cameras until ``stop``: to the centre through the outbox when an
    uplink is configured (``sink`` otherwise), with metrics when a port is configured.

    ``drain_s``: once every camera has ended (files), wait up to this long for the outbox to
    deliver what is waiting before returning — for runs over recordings that should reach the
    centre before the process exits. Undelivered messages stay in the outbox either way.
    """
    try:
        config.evidence.folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"evidence.folder {config.evidence.folder}: cannot create it: {exc.strerror or exc}"
        ) from None
    outbox = uplink = None
    if config.uplink is not None:
        outbox = Outbox(config.uplink.outbox_path, config.uplink.evidence_path)
        if interrupted := outbox.close_interrupted():
            report(f"closed {len(interrupted)} event(s) left open when the box last stopped")
        sink = OutboxSink(outbox)
    runner = EdgeRunner(
        config.cameras,
        detector,
        config.evidence,
        sink=sink,
        max_batch=config.edge.max_batch,
        camera_nice=config.edge.camera_nice,
        report=report,
        status_interval_s=config.edge.status_interval_s,
        outbox_size=None if outbox is None else lambda: outbox.stats().pending,
    )
    try:
        if config.uplink is not None and outbox is not None:
            uplink = Uplink(config.uplink, outbox, heartbeat=runner.heartbeat)
            uplink.start()
            assert isinstance(sink, OutboxSink)
            sink.notify = uplink.notify
            report(f"sending events to {config.uplink.centre_url} as {config.uplink.device_id}")
        if config.metrics.port is not None:
            port = runner.metrics.serve(config.metrics.port, config.metrics.address)
            report(f"metrics on http://{config.metrics.address}:{port}/metrics")
        report(
            f"watching {len(config.cameras)} camera(s) with {detector.name} {detector.version}; "
            "Ctrl-C stops"
        )
        results = runner.run(stop)
        if outbox is not None and drain_s > 0:
            _drain(outbox, stop, drain_s, report)
        return results
    finally:
        if uplink is not None:
            uplink.stop(timeout=5.0)
        if outbox is not None:
            outbox.close()


def _drain(outbox: Outbox, stop: threading.Event, timeout_s: float,
           report: Callable[[str], None]) -> None:
    deadline = time.monotonic() + timeout_s
    while (pending := outbox.stats().pending) and not stop.is_set():
        if time.monotonic() > deadline:
            report(f"{pending} message(s) still waiting in the outbox; they are sent on the "
                   "next start")
            return
        stop.wait(0.2)
