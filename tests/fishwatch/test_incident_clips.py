"""Clips cut off the worker: they join the open event later, or the closing message waits."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from detector.classes import FishwatchClass
from detector.detections import Detections
from detector.settings import AnalysisSettings
from streams.evidence import EvidenceWriter
from streams.incidents import CameraIncidents, EvidencePlan
from streams.records import EventMessage, ModelInfo
from streams.ring import PacketRing
from streams.settings import CameraSourceConfig, SamplingConfig
from streams.source import SampledFrame, Source

PERSON = Detections([[120, 70, 160, 190]], [0.9], [FishwatchClass.PERSON])


class GatedExecutor(ThreadPoolExecutor):
    """A real thread pool whose jobs start only once ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.gate = threading.Event()
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1

        def gated() -> Any:
            self.gate.wait()
            return fn(*args, **kwargs)

        return super().submit(gated)


def _frames_and_ring(video: Path) -> tuple[list[SampledFrame], PacketRing]:
    ring = PacketRing(60, 64 * 2**20)
    config = CameraSourceConfig(path=video, pace="fast", sample=SamplingConfig(mode="keyframes"))
    with Source(config, camera="pier", on_packet=ring.append) as source:
        frames = list(source.frames())
    return frames, ring


def _incidents(
    tmp_path: Path, ring: PacketRing, executor: GatedExecutor
) -> tuple[CameraIncidents, list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []

    def emit(message: EventMessage) -> None:
        messages.append(message.document)

    incidents = CameraIncidents(
        "pier",
        AnalysisSettings(frame_size=(320, 240), rules={"loitering": {"min_dwell_s": 2}}),
        ModelInfo("test", "1", "0" * 64),
        EvidenceWriter(tmp_path),
        snapshot=ring.snapshot,
        emit=emit,
        plan=EvidencePlan(pre_capture_s=1, post_capture_s=1),
        wall_clock=False,
        clip_executor=executor,
    )
    return incidents, messages


def _clip_ok(message: dict[str, Any]) -> bool:
    clip = message["clip"]
    return clip is not None and hashlib.sha256(Path(clip["path"]).read_bytes()).hexdigest() == (
        clip["sha256"]
    )


def test_a_clip_cut_in_the_background_joins_the_open_event(
    tmp_path: Path, scene20s: Path
) -> None:
    frames, ring = _frames_and_ring(scene20s)
    executor = GatedExecutor()
    executor.gate.set()
    incidents, messages = _incidents(tmp_path, ring, executor)
    with executor:
        for frame in frames[:10]:
            incidents.on_frame(frame, PERSON)
            if executor.submitted:
                break
        assert executor.submitted == 1 and not any(m["clip"] for m in messages)
        while incidents.pending_clips:  # the worker goes on; the clip arrives at a later pump
            incidents.pump()
        for frame in frames[10:]:
            incidents.on_frame(frame, Detections.empty())
        incidents.finish()
    updated = [m for m in messages if m["kind"] == "updated" and m["clip"]]
    closed = [m for m in messages if m["kind"] == "closed"]
    assert len(updated) == 1 and _clip_ok(updated[0])
    assert len(closed) == 1 and closed[0]["clip"] == updated[0]["clip"]


def test_an_event_closing_while_its_clip_is_cut_waits_for_it(
    tmp_path: Path, scene20s: Path
) -> None:
    frames, ring = _frames_and_ring(scene20s)
    executor = GatedExecutor()
    incidents, messages = _incidents(tmp_path, ring, executor)
    with executor:
        for frame in frames[:4]:
            incidents.on_frame(frame, PERSON)
        assert executor.submitted == 1 and incidents.pending_clips == 1
        threading.Timer(0.3, executor.gate.set).start()  # the cut finishes while closing waits
        for frame in frames[4:]:
            incidents.on_frame(frame, Detections.empty())
        incidents.finish()
    assert not any(m["clip"] for m in messages if m["kind"] != "closed")
    (closed,) = [m for m in messages if m["kind"] == "closed"]
    assert _clip_ok(closed) and incidents.pending_clips == 0
