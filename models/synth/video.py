"""Animated clips from the still renderer: a fixed camera, actors moving on a timeline, H.264 out.

A :class:`Clip` is a camera view, fixed light, a list of actors (anything that can put drawing
steps on a :class:`Stage` for a time ``t``) and the events that happen in it. :func:`render_clip`
draws it frame by frame on a fresh :class:`Canvas`, so every frame's boxes follow exactly the
occlusion and size rules of the training labels, encodes it as an IP camera would (H.264, fixed
GOP, no B-frames) and returns the per-frame ground truth.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

import av
import cv2
import numpy as np

from detector.classes import CLASS_NAMES
from models.synth.background import render_background
from models.synth.camera import CameraView
from models.synth.canvas import Canvas, Point
from models.synth.conditions import Conditions, apply_conditions
from models.synth.people import Person

PERSON = CLASS_NAMES.index("person")
PERSON_HEIGHT_M = 1.7
EVENT_TYPES = ("angling", "net_fishing", "boat_intrusion", "loitering", "camera_fault")
FAULTS = ("blackout", "freeze")
BLACKOUT_LEVEL = 3  # a dead sensor or a cut cable still sends a near-black picture

Draw = Callable[[Canvas], None]


# --- drawing order ----------------------------------------------------------------------------
class Stage:
    """One frame's drawing steps with their depth (foot row): drawn far to near, ties in order."""

    def __init__(self) -> None:
        self._steps: list[tuple[float, int, Draw]] = []

    def add(self, depth: float, draw: Draw) -> None:
        self._steps.append((depth, len(self._steps), draw))

    def draw(self, canvas: Canvas) -> None:
        for _, _, step in sorted(self._steps, key=lambda s: (s[0], s[1])):
            step(canvas)


class Actor(Protocol):
    """Anything in the scene that changes (or not) over time."""

    def stage(self, t: float, stage: Stage) -> None:
        """Add the drawing steps that show this actor at time ``t`` (none when absent)."""


@dataclass(frozen=True)
class Prop:
    """Scenery or a still object, present from ``since`` until ``until``."""

    depth: float
    draw: Draw
    since: float = -math.inf
    until: float = math.inf

    def stage(self, t: float, stage: Stage) -> None:
        if self.since <= t < self.until:
            stage.add(self.depth, self.draw)


# --- motion -----------------------------------------------------------------------------------
def smoothstep(t: float, t0: float, t1: float) -> float:
    """0 before ``t0``, 1 after ``t1``, eased in between (no jerk at either end)."""
    if t1 <= t0:
        return float(t >= t1)
    u = min(max((t - t0) / (t1 - t0), 0.0), 1.0)
    return u * u * (3 - 2 * u)


def lerp(a: Point, b: Point, f: float) -> Point:
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


@dataclass(frozen=True)
class Trajectory:
    """Piecewise-linear ground track: positions at increasing times, held before and after."""

    times: tuple[float, ...]
    points: tuple[Point, ...]

    def at(self, t: float) -> Point:
        xs, ys = zip(*self.points, strict=True)
        return float(np.interp(t, self.times, xs)), float(np.interp(t, self.times, ys))

    def _segment(self, t: float) -> int:
        """Index of the segment running at ``t`` (``-1`` before the first point)."""
        return int(np.searchsorted(self.times, t, side="right")) - 1

    def velocity(self, t: float) -> Point:
        k = self._segment(t)
        if k < 0 or k >= len(self.times) - 1:
            return 0.0, 0.0
        dt = self.times[k + 1] - self.times[k]
        (x0, y0), (x1, y1) = self.points[k], self.points[k + 1]
        return (x1 - x0) / dt, (y1 - y0) / dt

    def heading(self, t: float) -> int:
        """Sideways direction of the latest move at or before ``t`` (else the first one)."""
        k = min(self._segment(t), len(self.points) - 2)
        order = [*range(k, -1, -1), *range(k + 1, len(self.points) - 1)]
        for i in order:
            dx = self.points[i + 1][0] - self.points[i][0]
            if abs(dx) > 1e-6:
                return 1 if dx > 0 else -1
        return 1


class Route:
    """Builds a :class:`Trajectory` as a script: walk there at a walking pace, wait, walk on."""

    def __init__(self, view: CameraView, t: float, at: Point) -> None:
        self.view = view
        self._times = [t]
        self._points = [at]

    @property
    def t(self) -> float:
        return self._times[-1]

    @property
    def at(self) -> Point:
        return self._points[-1]

    def walk_to(self, to: Point, speed_mps: float = 1.3) -> Route:
        (x0, y0), (x1, y1) = self.at, to
        # Metres from the upright scale at the mean row; rows count double (ground foreshortening).
        metres = math.hypot(x1 - x0, 2 * (y1 - y0)) / self.view.pixels_per_metre((y0 + y1) / 2)
        return self.arrive(to, self.t + max(metres / speed_mps, 0.05))

    def arrive(self, to: Point, t: float) -> Route:
        self._times.append(t)
        self._points.append(to)
        return self

    def wait(self, seconds: float) -> Route:
        return self.arrive(self.at, self.t + seconds)

    def trajectory(self) -> Trajectory:
        return Trajectory(tuple(self._times), tuple(self._points))


# --- people -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Posture:
    """How a person stands while not walking; ``facing=None`` keeps the last walking direction."""

    pose: str = "standing"
    arm: str = "down"
    facing: int | None = None


def posture_at(postures: Sequence[tuple[float, Posture]], t: float) -> Posture:
    """The posture of the latest ``(since, posture)`` entry that has begun by ``t``."""
    current = Posture()
    for since, posture in postures:
        if since <= t:
            current = posture
    return current


Extra = Callable[[Canvas, Person, float], None]  # something drawn with a person: stool, umbrella


@dataclass
class Figure:
    """A person on a route: walking while the route moves, in the scripted posture otherwise."""

    look: Person  # clothes, hat and build; foot, height, pose, arm and facing are set per frame
    route: Trajectory
    track_id: int
    view: CameraView
    postures: Sequence[tuple[float, Posture]] = ((0.0, Posture()),)  # from each time on
    under: Sequence[Extra] = ()  # drawn before the person (bicycle, stool)
    over: Sequence[Extra] = ()  # drawn after (umbrella, pole, bag)
    height_m: float = PERSON_HEIGHT_M
    cadence_hz: float = 0.9  # walking cycles (two steps) per second

    def person_at(self, t: float) -> Person:
        foot = self.route.at(t)
        height = self.view.pixels_per_metre(foot[1]) * self.height_m
        vx, vy = self.route.velocity(t)
        if vx or vy:
            facing = (1 if vx > 0 else -1) if abs(vx) > 0.3 * abs(vy) else 0
            return replace(
                self.look,
                foot=foot,
                height=height,
                pose="walking",
                facing=facing,
                walk_phase=2 * math.pi * self.cadence_hz * t,
                arm=posture_at(self.postures, t).arm,
            )
        posture = posture_at(self.postures, t)
        facing = self.route.heading(t) if posture.facing is None else posture.facing
        return replace(
            self.look, foot=foot, height=height, pose=posture.pose, facing=facing, arm=posture.arm
        )

    def on_stage(self, t: float) -> bool:
        """False before the route starts or after it ends if it starts or ends outside the frame."""
        times, points = self.route.times, self.route.points
        if times[0] <= t <= times[-1]:
            return True
        return 0 <= points[0 if t < times[0] else -1][0] <= self.view.width

    def stage(self, t: float, stage: Stage) -> None:
        if not self.on_stage(t):
            return
        person = self.person_at(t)

        def draw(canvas: Canvas) -> None:
            for extra in self.under:
                extra(canvas, person, t)
            person.draw(canvas, canvas.new_object(PERSON, track_id=self.track_id))
            for extra in self.over:
                extra(canvas, person, t)

        stage.add(person.foot[1], draw)


# --- water ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WaterGlints:
    """Short bright dashes that drift with the current and twinkle: a cheap, live water surface."""

    x: np.ndarray
    y: np.ndarray
    length: np.ndarray
    amplitude: np.ndarray
    phase: np.ndarray
    hz: np.ndarray
    drift: np.ndarray  # pixels per second along x
    rows: tuple[int, int]
    mask: np.ndarray  # float32 (rows, width, 1): the water within ``rows``

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        view: CameraView,
        water: np.ndarray,
        per_100px: float = 12.0,
        flow_mps: float = 0.5,
    ) -> WaterGlints:
        top = int(np.clip(view.far_shore_y, 0, view.height - 1))
        bottom = int(np.clip(np.max(view.shore_y(np.arange(view.width))), top + 1, view.height))
        n = int(per_100px * view.width / 100)
        y = rng.uniform(top, bottom, n)
        scale = np.array([view.pixels_per_metre(v) for v in y])
        return cls(
            x=rng.uniform(0, view.width, n),
            y=y,
            length=np.maximum(1, scale * rng.uniform(0.05, 0.3, n)),
            amplitude=rng.uniform(15, 60, n),
            phase=rng.uniform(0, 2 * np.pi, n),
            hz=rng.uniform(0.2, 0.8, n),
            drift=scale * flow_mps * rng.choice([-1, 1]),
            rows=(top, bottom),
            mask=water[top:bottom, :, None].astype(np.float32),
        )

    def apply(self, image: np.ndarray, t: float, width: int) -> None:
        """Add the glints at time ``t`` to ``image`` (float BGR), on the water only."""
        top, bottom = self.rows
        layer = np.zeros((bottom - top, width), np.float32)
        level = self.amplitude * np.maximum(np.sin(2 * np.pi * self.hz * t + self.phase), 0) ** 3
        xs = np.mod(self.x + self.drift * t, width)
        for x, y, length, v in zip(xs, self.y - top, self.length, level, strict=True):
            if v > 2:
                cv2.line(layer, (int(x), int(y)), (int(x + length), int(y)), float(v), 1)
        image[top:bottom] += layer[..., None] * self.mask


# --- clips, ground truth ------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """A violation (or camera fault) from ``start_s`` until ``end_s`` (``inf``: to the end)."""

    type: str
    start_s: float
    end_s: float
    note: str
    fault: str | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}; expected one of {EVENT_TYPES}")
        if (self.type == "camera_fault") != (self.fault in FAULTS):
            raise ValueError(f"camera_fault events (only) need a fault in {FAULTS}")


@dataclass
class Clip:
    """A scenario ready to render: camera, fixed light, actors and the events they make."""

    description: str
    duration_s: float  # its natural length; a render may cut it or hold its last state longer
    view: CameraView
    conditions: Conditions
    actors: list[Actor]
    events: list[Event]
    glints_per_100px: float = 12.0

    def fault_at(self, t: float) -> str | None:
        for event in self.events:
            if event.fault and event.start_s <= t < event.end_s:
                return event.fault
        return None


@dataclass(frozen=True)
class Box:
    """One visible, labelled object in one frame."""

    track_id: int
    cls: str
    xyxy: tuple[int, int, int, int]

    def to_json(self) -> dict[str, Any]:
        return {"track_id": self.track_id, "class": self.cls, "xyxy": list(self.xyxy)}


@dataclass
class GroundTruth:
    """What a clip shows: its events and, per frame, the visible boxes with stable track ids.

    Event times are frame times: ``start_s`` is the first frame showing the event, ``end_s`` the
    first frame without it (or ``duration_s``).
    """

    scenario: str
    seed: int
    width: int
    height: int
    fps: int
    frames: int
    duration_s: float
    description: str
    light: str
    zones: dict[str, list[list[int]]]
    events: list[Event]
    frames_boxes: list[list[Box]] = field(repr=False)

    def to_json(self) -> str:
        """One line per header field, per event and per frame: compact, readable, diffable."""

        def block(items: list[Any]) -> str:
            rows = ",\n".join(f"  {json.dumps(item, separators=(',', ':'))}" for item in items)
            return f"[\n{rows}\n ]" if items else "[]"

        lines = [
            f" {json.dumps(f.name)}: {json.dumps(getattr(self, f.name))}"
            for f in fields(self)
            if f.name not in ("events", "frames_boxes")
        ]
        events = [{k: v for k, v in asdict(e).items() if v is not None} for e in self.events]
        frames = [[b.to_json() for b in boxes] for boxes in self.frames_boxes]
        lines += [f' "events": {block(events)}', f' "frames_boxes": {block(frames)}']
        return "{\n" + ",\n".join(lines) + "\n}\n"

    @classmethod
    def from_json(cls, text: str) -> GroundTruth:
        data = json.loads(text)
        data["events"] = [Event(**e) for e in data["events"]]
        data["frames_boxes"] = [
            [Box(b["track_id"], b["class"], tuple(b["xyxy"])) for b in boxes]
            for boxes in data["frames_boxes"]
        ]
        return cls(**data)


def zones(view: CameraView, samples: int = 17) -> dict[str, list[list[int]]]:
    """The near bank and the water as pixel polygons, for writing a site config from a clip."""
    w, h = view.width, view.height
    xs = np.linspace(0, w, samples)
    shore = [[round(float(x)), int(np.clip(round(float(view.shore_y(x))), 0, h))] for x in xs]
    top = int(np.clip(round(view.far_shore_y), 0, h))
    return {"bank": [*shore, [w, h], [0, h]], "water": [[0, top], [w, top], *shore[::-1]]}


def _frame_time(t: float, fps: int) -> float:
    """The time of the first frame at or after ``t``."""
    return round(math.ceil(t * fps - 1e-6) / fps, 3)


def clip_events(events: Sequence[Event], duration_s: float, fps: int) -> list[Event]:
    """Events on the frame grid, cut to the clip; those that start after it are dropped."""
    out = []
    for e in events:
        start = _frame_time(e.start_s, fps)
        end = duration_s if e.end_s >= duration_s else _frame_time(e.end_s, fps)
        if start < end:
            out.append(replace(e, start_s=start, end_s=round(end, 3)))
    return out


# --- encoding ---------------------------------------------------------------------------------
class H264Writer:
    """MP4 with H.264 as IP cameras send it: yuv420p, fixed 2 s GOP, no B-frames."""

    def __init__(self, path: Path, width: int, height: int, fps: int, crf: int = 26) -> None:
        keyint = 2 * fps
        self._container = av.open(str(path), "w", options={"movflags": "+faststart"})
        params = f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=0:threads=1"
        options = {"crf": str(crf), "preset": "medium", "x264-params": params}
        self._stream = self._container.add_stream("libx264", rate=fps, options=options)
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
        self._stream.codec_context.gop_size = keyint

    def write(self, bgr: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render_clip(
    clip: Clip,
    out_path: Path,
    *,
    scenario: str,
    seed: int,
    fps: int = 25,
    duration_s: float | None = None,
) -> GroundTruth:
    """Render ``clip`` to ``out_path`` (MP4) and return its ground truth (not written)."""
    view, cond = clip.view, clip.conditions
    duration = clip.duration_s if duration_s is None else duration_s
    frames = round(duration * fps)
    if frames < 1:
        raise ValueError(f"duration_s={duration} gives no frames at {fps} fps")
    key = [seed, zlib.crc32(scenario.encode())]  # same seed, other scenario: another riverbank
    background = render_background(np.random.default_rng([*key, 0]), view, cond.mood)
    glints = WaterGlints.random(
        np.random.default_rng([*key, 1]), view, background.water, clip.glints_per_100px
    )
    margin = max(64, view.width // 8)  # whole boats entering from the side are measured whole
    black = np.full((view.height, view.width, 3), BLACKOUT_LEVEL, np.uint8)
    horizon = max(view.horizon_y, 0)
    frames_boxes: list[list[Box]] = []
    held: tuple[np.ndarray, list[Box]] | None = None
    with H264Writer(Path(out_path), view.width, view.height, fps) as writer:
        for i in range(frames):
            t = i / fps
            fault = clip.fault_at(t)
            if fault == "blackout":
                image, boxes = black, []
            elif fault == "freeze" and held is not None:
                image, boxes = held  # a stuck encoder repeats its last picture
            else:
                frame_bg = background.image.copy()
                glints.apply(frame_bg, t, view.width)
                canvas = Canvas(frame_bg, margin=margin)
                stage = Stage()
                for actor in clip.actors:
                    actor.stage(t, stage)
                stage.draw(canvas)
                image = apply_conditions(
                    canvas.image, cond, np.random.default_rng([*key, 2, i]), horizon_y=horizon
                )
                boxes = [
                    Box(lb.track_id, lb.class_name, tuple(round(v) for v in lb.xyxy))
                    for lb in canvas.labels()
                ]
                held = image, boxes
            writer.write(image)
            frames_boxes.append(boxes)
    return GroundTruth(
        scenario=scenario,
        seed=seed,
        width=view.width,
        height=view.height,
        fps=fps,
        frames=frames,
        duration_s=round(frames / fps, 3),
        description=clip.description,
        light=cond.light,
        zones=zones(view),
        events=clip_events(clip.events, frames / fps, fps),
        frames_boxes=frames_boxes,
    )
