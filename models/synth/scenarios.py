"""Scripted riverbank scenarios rendered as videos with ground truth, to test the whole pipeline.

Each scenario is a function of a random generator: the seed picks the camera framing, the bank,
the water, the light, people's looks and the exact timings, while the script stays the same, so
every seed tells the same story. :func:`render_scenario` is the entry point.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import count
from pathlib import Path

import numpy as np

from detector.classes import CLASS_NAMES
from models.synth import props
from models.synth.boats import BOAT_KINDS, Boat
from models.synth.camera import CameraView
from models.synth.canvas import Canvas, Point
from models.synth.conditions import Conditions
from models.synth.gear import Rod, draw_cast_net, draw_rod_stand
from models.synth.people import Person, draw_stool
from models.synth.video import (
    PERSON,
    PERSON_HEIGHT_M,
    Clip,
    Event,
    Figure,
    GroundTruth,
    Posture,
    Prop,
    Route,
    Stage,
    lerp,
    posture_at,
    render_clip,
    smoothstep,
)

ROD, NET, BOAT = (CLASS_NAMES.index(n) for n in ("fishing_rod", "net", "boat"))
RAISE_S = 1.0  # a rod goes from lying on the bank to its fishing angle (or back) in this time
MAX_PASS_S = 11.0  # passers-by cross the frame faster than this


# --- framing and light ------------------------------------------------------------------------
def _view(
    rng: np.random.Generator, width: int, height: int, shore: tuple[float, float] = (0.52, 0.62)
) -> CameraView:
    """A legible checkpoint framing: sky and far bank on top, the river, the near bank below.

    People at the waterline are about 0.16 of the frame tall, about 0.3 near the bottom.
    """
    horizon = rng.uniform(0.04, 0.14) * height
    slope = rng.uniform(-0.06, 0.06) * height / width
    mid = rng.uniform(*shore) * height
    return CameraView(
        width=width,
        height=height,
        horizon_y=horizon,
        height_m=float(rng.uniform(4.0, 5.5)),
        far_shore_y=horizon + rng.uniform(0.07, 0.13) * height,
        shore_a=mid - slope * width / 2,
        shore_b=slope,
        shore_c=rng.uniform(0, 0.015) * height,
        shore_phase=rng.uniform(0, 2 * np.pi),
    )


def _conditions(rng: np.random.Generator, light: str) -> Conditions:
    """Fixed for a clip; little sensor noise by day (noise is what H.264 spends its bits on)."""
    return Conditions(
        light=light,
        fog=0.0,
        rain=0.0,
        blur=float(rng.uniform(0.4, 0.8)),
        noise=2.5 if light in ("night", "infrared") else 1.0,
        jpeg_quality=0,
        gain=0.8 if light == "night" else float(rng.uniform(0.95, 1.05)),
        grey_weights=tuple(float(w) for w in rng.dirichlet([4, 4, 4])),
    )


def _daylight(rng: np.random.Generator) -> Conditions:
    return _conditions(rng, str(rng.choice(["day", "day", "overcast"])))


def _bank(view: CameraView, x: float, below: float) -> Point:
    """A ground point ``below`` (fraction of the frame height) under the waterline at ``x``."""
    return x, float(view.shore_y(x)) + below * view.height


def _outside(view: CameraView, side: int) -> float:
    """An x outside the frame on ``side`` (-1 left, +1 right), far enough that nothing a person
    carries pokes in, close enough to stay within the canvas margin (measured whole)."""
    return -0.1 * view.width if side < 0 else 1.1 * view.width


def _look(rng: np.random.Generator) -> Person:
    return Person.random(rng, (0.0, 0.0), 1.0)


def _crossing_speed(view: CameraView, y: float, speed_mps: float) -> float:
    """At least ``speed_mps``, fast enough to cross the frame at row ``y`` within MAX_PASS_S."""
    return max(speed_mps, 1.2 * view.width / view.pixels_per_metre(y) / MAX_PASS_S)


# --- gear on a timeline -------------------------------------------------------------------------
@dataclass(frozen=True)
class StandRod:
    """A rod on a forked stand: planted, laid down, raised, fished (tip bobbing), taken in."""

    rod: Rod  # its fishing pose
    base: Point  # where the stand is pushed into the bank
    stand_height: float
    track_id: int
    planted_s: float
    raise_s: float  # lies on the bank a moment before, then rises over RAISE_S
    line_end: Point
    lower_s: float = math.inf  # lowered over RAISE_S, then packed away with its stand
    glow: bool = False  # a night float's light at the tip
    bob_phase: float = 0.0

    def _lying(self) -> Point:
        return (
            self.base[0] - self.rod.direction * 0.25 * self.rod.length,
            self.base[1] + 0.3 * self.stand_height,
        )

    def rod_at(self, t: float) -> Rod | None:
        if not self.raise_s - 0.4 <= t < self.lower_s + RAISE_S + 0.4:
            return None
        lift = smoothstep(t, self.raise_s, self.raise_s + RAISE_S) - smoothstep(
            t, self.lower_s, self.lower_s + RAISE_S
        )
        bob = 0.0
        if lift >= 1:
            bob = 0.7 * math.sin(2 * math.pi * 0.25 * t + self.bob_phase) + 0.3 * math.sin(
                2 * math.pi * 0.9 * t + 2 * self.bob_phase
            )
        return replace(
            self.rod,
            butt=lerp(self._lying(), self.rod.butt, lift),
            angle=self.rod.angle * lift + bob,
            bend=self.rod.bend * lift,
        )

    def fishing(self, t: float) -> bool:
        return self.raise_s + RAISE_S <= t < self.lower_s

    def stage(self, t: float, stage: Stage) -> None:
        if not self.planted_s <= t < self.lower_s + RAISE_S + 0.4:
            return
        rod = self.rod_at(t)

        def draw(canvas: Canvas) -> None:
            draw_rod_stand(canvas, self.base, self.stand_height)
            if rod is None:
                return
            fishing = self.fishing(t)
            rod.draw(
                canvas,
                canvas.new_object(ROD, track_id=self.track_id),
                self.line_end if fishing else None,
            )
            if self.glow and fishing:
                canvas.circle(rod.tip(), max(1.5, rod.thickness), (150, 255, 190))

        stage.add(self.base[1], draw)


def _stand_rod(
    rng: np.random.Generator,
    view: CameraView,
    base: Point,
    direction: int,
    angle: float,
    track_id: int,
    planted_s: float,
    raise_s: float,
    lower_s: float = math.inf,
    glow: bool = False,
) -> StandRod:
    """A rod of a realistic length resting on a stand at ``base``, its line in the water."""
    person_h = view.pixels_per_metre(base[1]) * PERSON_HEIGHT_M
    stand_h = 0.3 * person_h * rng.uniform(0.8, 1.2)
    length = person_h * rng.uniform(1.8, 2.6)
    a = math.radians(angle)
    rest = (base[0], base[1] - stand_h)
    butt = (
        rest[0] - 0.15 * length * direction * math.cos(a),
        rest[1] + 0.15 * length * math.sin(a),
    )
    rod = replace(Rod.random(rng, butt, person_h, direction, angle), length=length)
    tip = rod.tip()
    x = tip[0] + direction * 0.08 * length
    line_end = (x, min(tip[1] + 0.6 * length, float(view.shore_y(x)) - 2))
    return StandRod(
        rod,
        base,
        stand_h,
        track_id,
        planted_s,
        raise_s,
        line_end,
        lower_s,
        glow,
        float(rng.uniform(0, 2 * np.pi)),
    )


@dataclass(frozen=True)
class Throw:
    """One cast: wind-up at ``start_s``, then flight, the net lying on the water, the pull-in."""

    start_s: float
    landing: Point
    WIND_UP = 0.6
    FLIGHT = 1.0
    ON_WATER = 4.0
    PULL = 2.5

    @property
    def release_s(self) -> float:
        return self.start_s + self.WIND_UP

    @property
    def landed_s(self) -> float:
        return self.release_s + self.FLIGHT

    @property
    def pull_s(self) -> float:
        return self.landed_s + self.ON_WATER

    @property
    def end_s(self) -> float:
        return self.pull_s + self.PULL


@dataclass(frozen=True)
class CastNet:
    """A cast net thrown by ``thrower``; between throws, a bundle in the hand (not labelled)."""

    thrower: Figure
    throws: Sequence[Throw]
    radius: float  # spread on the water
    track_id: int
    look_seed: int  # fixes the net's colour, mesh and weights from frame to frame
    shore_offset: float  # the pull-in ends this far above the waterline

    def stage(self, t: float, stage: Stage) -> None:
        person = self.thrower.person_at(t)
        hand = person.hand()
        for throw in self.throws:
            if throw.release_s <= t < throw.end_s:
                self._stage_cast(t, throw, person.foot[1], hand, person.height, stage)
                return
        if 0 < hand[0] < self.thrower.view.width:
            stage.add(
                person.foot[1] + 0.2,
                lambda c: c.ellipse(
                    hand, (0.07 * person.height, 0.05 * person.height), 0, (90, 100, 100)
                ),
            )

    def _stage_cast(
        self, t: float, throw: Throw, foot_y: float, hand: Point, height: float, stage: Stage
    ) -> None:
        rng = np.random.default_rng(self.look_seed)
        if t < throw.landed_s:  # opening in the air along an arc
            f = (t - throw.release_s) / throw.FLIGHT
            x, y = lerp(hand, throw.landing, f)
            centre = (x, y - 4 * f * (1 - f) * 0.7 * height)
            radius = self.radius * (0.3 + 0.7 * smoothstep(f, 0, 1))
            in_air, depth = True, foot_y - 0.5
        else:
            f = smoothstep(t, throw.pull_s, throw.end_s)
            x = lerp(throw.landing, hand, f)[0]
            shore = float(self.thrower.view.shore_y(x)) - self.shore_offset
            centre = lerp(throw.landing, (x, shore), f)
            radius, in_air, depth = self.radius * (1 - 0.7 * f), False, centre[1]
            stage.add(foot_y + 0.1, lambda c: c.line(hand, centre, 0.8, (200, 200, 200), 0, 0.6))
        stage.add(
            depth,
            lambda c: draw_cast_net(
                c, c.new_object(NET, track_id=self.track_id), rng, centre, radius, in_air
            ),
        )


@dataclass(frozen=True)
class DriftingBoat:
    """A boat that comes in from the side, slows to a stop and drifts, one person on board."""

    boat: Boat
    crew: Person
    enter_s: float
    stop_s: float
    start_x: float
    stop_x: float
    track_ids: tuple[int, int]
    crew_postures: Sequence[tuple[float, Posture]]
    metre_px: float

    def position(self, t: float) -> Point:
        u = min(max((t - self.enter_s) / (self.stop_s - self.enter_s), 0.0), 1.0)
        x = self.start_x + (self.stop_x - self.start_x) * (1 - (1 - u) ** 2)  # ease out
        drift = smoothstep(t, self.stop_s - 2, self.stop_s + 2)
        x += drift * 0.3 * self.metre_px * math.sin(2 * math.pi * (t - self.stop_s) / 11)
        y = self.boat.waterline[1] + 0.04 * self.metre_px * math.sin(2 * math.pi * t / 3.1)
        return x, y

    def speed(self, t: float) -> float:
        """Pixels per second along x while under way (for the wake)."""
        u = (t - self.enter_s) / (self.stop_s - self.enter_s)
        return (
            0.0
            if not 0 <= u < 1
            else 2 * abs(self.stop_x - self.start_x) * (1 - u) / (self.stop_s - self.enter_s)
        )

    def hull_span(self, t: float) -> tuple[float, float]:
        half = self.boat.length / 2 * self.boat.foreshortening
        x = self.position(t)[0]
        return x - half, x + half

    def stage(self, t: float, stage: Stage) -> None:
        boat = replace(self.boat, waterline=self.position(t))
        posture = posture_at(self.crew_postures, t)
        crew = replace(
            self.crew,
            foot=boat.deck_points(1)[0],
            pose=posture.pose,
            arm=posture.arm,
            facing=boat.heading if posture.facing is None else posture.facing,
        )
        speed = self.speed(t)
        y = boat.waterline[1]

        def wake(canvas: Canvas) -> None:
            stern = boat.waterline[0] - boat.heading * boat.length / 2 * boat.foreshortening
            back = stern - boat.heading * min(speed * 1.5, boat.length)
            for dy in (-0.04, 0.06):
                canvas.line(
                    (stern, y),
                    (back, y + dy * boat.length),
                    max(1, 0.02 * boat.length),
                    (225, 225, 225),
                    0,
                    alpha=min(0.5, speed / self.metre_px / 4),
                )

        if speed > 0.2 * self.metre_px:
            stage.add(y - 0.1, wake)
        stage.add(y, lambda c: boat.draw(c, c.new_object(BOAT, track_id=self.track_ids[0])))
        stage.add(y + 0.1, lambda c: crew.draw(c, c.new_object(PERSON, track_id=self.track_ids[1])))


@dataclass(frozen=True)
class Bird:
    """A bird flapping across the frame from ``start`` to ``end`` (scenery, never labelled)."""

    start: Point
    end: Point
    since: float
    until: float
    size: float
    colour: tuple[int, int, int]

    def stage(self, t: float, stage: Stage) -> None:
        if not self.since <= t < self.until:
            return
        f = (t - self.since) / (self.until - self.since)
        x, y = lerp(self.start, self.end, f)
        y += 0.3 * self.size * math.sin(2 * math.pi * 0.4 * t)
        tip = -0.5 * self.size * math.sin(2 * math.pi * 3.0 * t)
        width = max(1.0, 0.2 * self.size)

        def draw(c: Canvas) -> None:
            c.line((x - self.size, y + tip), (x, y), width, self.colour)
            c.line((x, y), (x + self.size, y + tip), width, self.colour)

        stage.add(0.0, draw)


# --- extras drawn with people -------------------------------------------------------------------
def _stool(canvas: Canvas, person: Person, t: float) -> None:
    if person.pose == "sitting":
        draw_stool(canvas, person)


def _bicycle(canvas: Canvas, person: Person, t: float) -> None:
    # draw_bicycle picks its colour from int(|x|) % 3: snap x to one residue so it does not flicker.
    x = person.foot[0]
    snapped = math.copysign(3 * math.floor(abs(x) / 3), x)
    props.draw_bicycle(canvas, replace(person, foot=(snapped, person.foot[1])))


def _umbrella(seed: int) -> Callable[[Canvas, Person, float], None]:
    def draw(canvas: Canvas, person: Person, t: float) -> None:
        props.draw_umbrella(canvas, np.random.default_rng(seed), person.hand(), person.height)

    return draw


def _hand_pole(seed: int) -> Callable[[Canvas, Person, float], None]:
    def draw(canvas: Canvas, person: Person, t: float) -> None:
        props.draw_hand_pole(canvas, np.random.default_rng(seed), person)

    return draw


def _pole_seed(rng: np.random.Generator, kinds: Sequence[str]) -> int:
    """A seed for which ``props.draw_hand_pole`` draws one of ``kinds`` (its first draw)."""
    while True:
        seed = int(rng.integers(1 << 31))
        kind = np.random.default_rng(seed).choice(["stick", "broom", "carrying_pole", "spade"])
        if kind in kinds:
            return seed


def _rod_bag(until: float) -> Callable[[Canvas, Person, float], None]:
    """A rod bag slung across the back, until it is put down."""

    def draw(canvas: Canvas, person: Person, t: float) -> None:
        if t < until:
            x, y = person.foot
            h, d = person.height, person.facing or 1
            canvas.line(
                (x - d * 0.12 * h, y - 0.82 * h),
                (x + d * 0.1 * h, y - 0.3 * h),
                max(1, 0.06 * h),
                (35, 45, 40),
            )

    return draw


def _lying_bag(view: CameraView, at: Point, since: float) -> Prop:
    h = view.pixels_per_metre(at[1]) * PERSON_HEIGHT_M
    return Prop(
        at[1],
        lambda c: c.line(at, (at[0] + 0.6 * h, at[1] - 0.03 * h), max(1, 0.06 * h), (35, 45, 40)),
        since=since,
    )


# --- scenarios ----------------------------------------------------------------------------------
def angler_arrives(rng: np.random.Generator, width: int, height: int) -> Clip:
    """Empty bank; an angler walks in, sets up 2-4 rods on stands one by one, sits and fishes."""
    view, cond, ids = _view(rng, width, height), _daylight(rng), count(1)
    d, side = int(rng.choice([-1, 1])), int(rng.choice([-1, 1]))  # rods point d; enters from side
    n_rods = int(rng.integers(2, 5))
    x0 = width * (0.5 - d * rng.uniform(0.14, 0.22))
    metre = view.pixels_per_metre(_bank(view, x0, 0.03)[1])
    spacing = metre * rng.uniform(0.6, 0.9)
    angles = np.sort(rng.uniform(22, 55, n_rods))[::-1]
    route = Route(
        view,
        float(rng.uniform(0.5, 2.0)),
        (_outside(view, side), _bank(view, x0, rng.uniform(0.12, 0.2))[1]),
    )
    postures: list[tuple[float, Posture]] = [(0.0, Posture("standing", "carry"))]
    rods: list[StandRod] = []
    for k in range(n_rods):
        base = _bank(view, x0 + d * k * spacing, 0.03)
        m = view.pixels_per_metre(base[1])
        route.walk_to((base[0] - d * 0.45 * m, base[1] + 0.25 * m))
        t = route.t
        postures.append((t, Posture("crouching", "forward", d)))
        rods.append(
            _stand_rod(
                rng, view, base, d, float(angles[k]), next(ids), planted_s=t + 0.4, raise_s=t + 1.2
            )
        )
        route.wait(1.2 + RAISE_S + 0.4)
    first_down = rods[0].planted_s - 0.4
    bag_at = _bank(view, x0 - d * 1.8 * metre, 0.07)
    stool = _bank(view, x0 - d * 0.9 * metre, 0.09)
    route.walk_to(stool)
    t_sit = route.t
    postures.append((t_sit, Posture("sitting", "down", d)))
    angler = Figure(
        _look(rng),
        route.trajectory(),
        next(ids),
        view,
        postures,
        under=(_stool,),
        over=(_rod_bag(first_down),),
    )
    start = rods[0].raise_s + RAISE_S
    return Clip(
        description=f"An angler walks in, sets up {n_rods} rods on stands one by one and fishes "
        f"sitting on a stool from {t_sit:.1f} s.",
        duration_s=40.0,
        view=view,
        conditions=cond,
        actors=[angler, *rods, _lying_bag(view, bag_at, first_down)],
        events=[
            Event(
                "angling",
                start,
                math.inf,
                f"first of {n_rods} rods raised on its stand with the angler beside it",
            )
        ],
    )


def net_cast(rng: np.random.Generator, width: int, height: int) -> Clip:
    """A person walks to the shore and throws a cast net twice, pulling it in after each throw."""
    view, cond, ids = _view(rng, width, height), _daylight(rng), count(1)
    d, side = int(rng.choice([-1, 1])), int(rng.choice([-1, 1]))
    spot = _bank(view, width * (0.5 - d * rng.uniform(0.1, 0.2)), 0.025)
    h = view.pixels_per_metre(spot[1]) * PERSON_HEIGHT_M
    route = Route(
        view, float(rng.uniform(0.5, 1.5)), (_outside(view, side), spot[1] + 0.1 * height)
    )
    route.walk_to(spot)
    far = view.far_shore_y
    throws = []
    start = route.t + 1.0
    for _ in range(2):
        x = spot[0] + d * rng.uniform(0.5, 0.9) * h
        shore = float(view.shore_y(x))
        throws.append(Throw(start, (x, shore - rng.uniform(0.4, 0.55) * (shore - far))))
        start = throws[-1].end_s + float(rng.uniform(2.5, 4.0))
    postures = [(0.0, Posture("standing", "carry"))]
    for throw in throws:
        postures += [
            (throw.start_s, Posture("standing", "up", d)),
            (throw.landed_s, Posture("standing", "forward", d)),
            (throw.end_s, Posture("standing", "carry", d)),
        ]
    route.wait(throws[-1].end_s + 1.5 - route.t)
    route.walk_to((_outside(view, -side), spot[1] + 0.15 * height))
    thrower = Figure(_look(rng), route.trajectory(), next(ids), view, postures)
    radius = view.pixels_per_metre(throws[0].landing[1]) * rng.uniform(1.4, 2.0)
    net = CastNet(
        thrower, throws, radius, next(ids), int(rng.integers(1 << 31)), shore_offset=0.01 * height
    )
    times = ", ".join(f"{t.release_s:.1f}-{t.end_s:.1f} s" for t in throws)
    return Clip(
        description="A person walks to the shore and throws a cast net twice; each time it opens "
        "in the air, lies on the water and is pulled back to the bank.",
        duration_s=38.0,
        view=view,
        conditions=cond,
        actors=[thrower, net],
        events=[
            Event(
                "net_fishing",
                throws[0].release_s,
                throws[-1].end_s,
                f"two throws ({times}), gap under 8 s so one event",
            )
        ],
    )


def boat_intrusion(rng: np.random.Generator, width: int, height: int) -> Clip:
    """A boat with a person on board comes in from the side, stops mid-river and drifts."""
    view = _view(rng, width, height, shore=(0.62, 0.7))
    cond, ids = _daylight(rng), count(1)
    d = int(rng.choice([-1, 1]))
    mid_shore = float(view.shore_y(width / 2))
    y = view.far_shore_y + rng.uniform(0.55, 0.7) * (mid_shore - view.far_shore_y)
    metre = view.pixels_per_metre(y)
    kind = str(rng.choice(BOAT_KINDS))
    boat = replace(
        Boat.random(rng, (0.0, y), metre, kind),
        heading=d,
        length=metre * rng.uniform(5.0, 7.5),
        foreshortening=float(rng.uniform(0.85, 1.0)),
    )
    half = boat.length / 2 * boat.foreshortening
    start_x = width / 2 - d * (width / 2 + half + 4)
    stop_x = width * (0.5 + d * rng.uniform(-0.08, 0.12))
    enter = float(rng.uniform(0.5, 2.0))
    stop = enter + 2 * abs(stop_x - start_x) / (metre * rng.uniform(2.5, 3.5))
    crew = replace(_look(rng), height=metre * PERSON_HEIGHT_M)
    postures = [
        (0.0, Posture("standing", "down", None)),
        (stop + 4, Posture("crouching", "forward", d)),
        (stop + 12, Posture("standing", "forward", 0)),
        (stop + 17, Posture("standing", "down", -d)),
    ]
    actor = DriftingBoat(
        boat, crew, enter, stop, start_x, stop_x, (next(ids), next(ids)), postures, metre
    )
    inside = next(
        t
        for t in np.arange(enter, stop, 0.02)
        if 0 <= actor.hull_span(t)[0] and actor.hull_span(t)[1] <= width
    )
    return Clip(
        description=f"A {kind.replace('_', ' ')} with one person on board comes in from the "
        f"{'left' if d > 0 else 'right'}, stops mid-river at {stop:.1f} s and drifts.",
        duration_s=40.0,
        view=view,
        conditions=cond,
        actors=[actor],
        events=[
            Event(
                "boat_intrusion",
                float(inside),
                math.inf,
                "boat wholly in view on the water; it stays to the end",
            )
        ],
    )


def _walker(
    rng: np.random.Generator,
    view: CameraView,
    track_id: int,
    since: float,
    row: float,
    side: int,
    speed_mps: float = 1.4,
    arm: str = "down",
    under: Sequence = (),
    over: Sequence = (),
) -> Figure:
    """A person crossing the bank along row ``row`` from ``side`` to the other side."""
    route = Route(view, since, (_outside(view, side), row))
    route.walk_to((_outside(view, -side), row), _crossing_speed(view, row, speed_mps))
    return Figure(
        _look(rng),
        route.trajectory(),
        track_id,
        view,
        ((0.0, Posture("walking", arm)),),
        under=under,
        over=over,
    )


def _walkway_rows(rng: np.random.Generator, view: CameraView, n: int) -> list[float]:
    shore = float(view.shore_y(view.width / 2))
    return [shore + (view.height - shore) * float(rng.uniform(0.25, 0.75)) for _ in range(n)]


def _street_props(rng: np.random.Generator, view: CameraView) -> list[Prop]:
    """A railing along the shore and a lamp post behind the walkway."""
    xs = np.linspace(0, view.width, 16)
    shore = np.stack([xs, view.shore_y(xs)], axis=1)
    rail_seed, lamp_seed = (int(s) for s in rng.integers(1 << 31, size=2))
    lamp = _bank(view, view.width * rng.uniform(0.15, 0.85), 0.04)
    return [
        Prop(
            float(np.mean(shore[:, 1])) + 0.04 * view.height,
            lambda c: props.draw_railing(
                c, np.random.default_rng(rail_seed), shore, view.pixels_per_metre
            ),
        ),
        Prop(
            lamp[1],
            lambda c: props.draw_lamp_post(
                c, np.random.default_rng(lamp_seed), lamp, view.pixels_per_metre(lamp[1])
            ),
        ),
    ]


def passers_by(rng: np.random.Generator, width: int, height: int) -> Clip:
    """Walkers, a cyclist, an umbrella, a stick or carrying pole and birds: nothing to report."""
    view = _view(rng, width, height, shore=(0.44, 0.5))
    cond, ids = _daylight(rng), count(1)
    rows = _walkway_rows(rng, view, 7)
    sides = [int(s) for s in rng.choice([-1, 1], 7)]
    pole = _pole_seed(rng, ("stick", "carrying_pole"))
    actors: list = [
        *_street_props(rng, view),
        _walker(rng, view, next(ids), 0.5, rows[0], sides[0]),
        _walker(rng, view, next(ids), 5.0, rows[1], sides[1], speed_mps=4.0, under=(_bicycle,)),
        _walker(
            rng,
            view,
            next(ids),
            10.0,
            rows[2],
            sides[2],
            arm="up",
            over=(_umbrella(int(rng.integers(1 << 31))),),
        ),
        _walker(
            rng,
            view,
            next(ids),
            16.0,
            rows[3],
            sides[3],
            speed_mps=1.2,
            arm="carry",
            over=(_hand_pole(pole),),
        ),
        _walker(rng, view, next(ids), 22.5, rows[4], sides[4]),
        _walker(rng, view, next(ids), 23.0, rows[4] + 0.03 * height, sides[4]),
        _walker(rng, view, next(ids), 29.0, rows[5], sides[5], speed_mps=1.5, arm="carry"),
    ]
    top = max(view.far_shore_y, 0)
    for k in range(3):
        d = int(rng.choice([-1, 1]))
        y0 = rng.uniform(0.2, 1.0) * top if top > 20 else rng.uniform(0.2, 0.4) * height
        since = 3 + 11 * k + float(rng.uniform(0, 4))
        end = (_outside(view, d), y0 + rng.normal(0, 0.03 * height))
        actors.append(
            Bird(
                (_outside(view, -d), y0),
                end,
                since,
                since + float(rng.uniform(5, 9)),
                0.02 * height * rng.uniform(0.8, 1.2),
                (40, 40, 45),
            )
        )
    return Clip(
        description="People pass along the embankment and leave: walkers, a cyclist, a person "
        "with an umbrella, one with a walking stick or carrying pole; birds fly over; "
        "a lamp post and a railing. No violation.",
        duration_s=40.0,
        view=view,
        conditions=cond,
        actors=actors,
        events=[],
    )


def night_angler(rng: np.random.Generator, width: int, height: int) -> Clip:
    """Night or infrared: an angler fishing with two rods on stands packs up and leaves."""
    view, ids = _view(rng, width, height), count(1)
    cond = _conditions(rng, str(rng.choice(["night", "infrared"])))
    d = int(rng.choice([-1, 1]))
    x0 = width * (0.5 - d * rng.uniform(0.14, 0.22))
    metre = view.pixels_per_metre(_bank(view, x0, 0.03)[1])
    stool = _bank(view, x0 - d * 0.9 * metre, 0.09)
    leave = float(rng.uniform(22, 25))
    route = Route(view, 0.0, stool).wait(leave)
    postures: list[tuple[float, Posture]] = [(0.0, Posture("sitting", "down", d))]
    rods = []
    for k, angle in enumerate(np.sort(rng.uniform(25, 50, 2))[::-1]):
        base = _bank(view, x0 + d * k * metre * rng.uniform(0.7, 0.9), 0.03)
        m = view.pixels_per_metre(base[1])
        route.walk_to((base[0] - d * 0.45 * m, base[1] + 0.25 * m))
        postures.append((route.t, Posture("crouching", "forward", d)))
        rods.append(
            _stand_rod(
                rng,
                view,
                base,
                d,
                float(angle),
                next(ids),
                -10,
                -10,
                lower_s=route.t + 0.4,
                glow=cond.light == "night",
            )
        )
        route.wait(0.4 + RAISE_S + 0.6)
    postures.append((route.t, Posture("standing", "carry", -d)))
    route.walk_to((_outside(view, -d), stool[1] + 0.12 * height))
    angler = Figure(_look(rng), route.trajectory(), next(ids), view, postures, under=(_stool,))
    end = rods[-1].lower_s + RAISE_S
    return Clip(
        description=f"{'Night' if cond.light == 'night' else 'Infrared'}: an angler sits fishing "
        f"with two rods on stands, takes them in from {leave:.1f} s and leaves.",
        duration_s=38.0,
        view=view,
        conditions=cond,
        actors=[angler, *rods],
        events=[
            Event(
                "angling",
                0.0,
                end,
                "fishing from the start until the last rod is laid down on the bank",
            )
        ],
        glints_per_100px=5.0,
    )


def camera_fault(rng: np.random.Generator, width: int, height: int) -> Clip:
    """A quiet daylight bank with passers-by; the feed goes black for ~8 s, later freezes ~8 s."""
    view = _view(rng, width, height, shore=(0.46, 0.54))
    cond, ids = _daylight(rng), count(1)
    rows = _walkway_rows(rng, view, 3)
    blackout = float(rng.uniform(7.0, 9.0))
    blackout_end = blackout + float(rng.uniform(7.5, 8.5))
    freeze = blackout_end + float(rng.uniform(7.0, 8.0))
    freeze_end = freeze + float(rng.uniform(7.5, 8.5))
    sides = [int(s) for s in rng.choice([-1, 1], 3)]
    actors: list = [
        *_street_props(rng, view),
        _walker(rng, view, next(ids), 0.5, rows[0], sides[0]),
        _walker(rng, view, next(ids), freeze - 4.0, rows[1], sides[1], speed_mps=1.2),
        _walker(
            rng,
            view,
            next(ids),
            freeze_end + 1.0,
            rows[2],
            sides[2],
            speed_mps=4.0,
            under=(_bicycle,),
        ),
    ]
    return Clip(
        description="A daylight embankment with passers-by; the picture goes black, comes back, "
        "then freezes (a person stuck mid-stride) and comes back.",
        duration_s=40.0,
        view=view,
        conditions=cond,
        actors=actors,
        events=[
            Event("camera_fault", blackout, blackout_end, "near-black frames", "blackout"),
            Event("camera_fault", freeze, freeze_end, "the last good frame repeated", "freeze"),
        ],
    )


def loiterer(rng: np.random.Generator, width: int, height: int) -> Clip:
    """A person without gear walks to the shore, lingers ~25 s (stands, crouches), then leaves."""
    view, cond, ids = _view(rng, width, height), _daylight(rng), count(1)
    side = int(rng.choice([-1, 1]))
    spot = _bank(view, width * rng.uniform(0.35, 0.65), 0.025)
    m = view.pixels_per_metre(spot[1])
    route = Route(
        view, float(rng.uniform(0.5, 1.5)), (_outside(view, side), spot[1] + 0.15 * height)
    )
    route.walk_to(spot)
    arrive = route.t
    d = int(rng.choice([-1, 1]))
    route.wait(11.0).walk_to(
        (spot[0] + d * 1.5 * m, float(view.shore_y(spot[0] + d * 1.5 * m)) + 0.025 * height), 0.8
    )
    leave = arrive + float(rng.uniform(24, 26))
    route.wait(leave - route.t).walk_to((_outside(view, -side), spot[1] + 0.2 * height))
    postures = [
        (0.0, Posture()),
        (arrive, Posture("standing", "down", d)),
        (arrive + 4.0, Posture("crouching", "forward", d)),
        (arrive + 12.5, Posture("standing", "down", d)),
        (arrive + 18.0, Posture("standing", "forward", -d)),
    ]
    person = Figure(_look(rng), route.trajectory(), next(ids), view, postures)
    return Clip(
        description="A person without any gear walks to the water's edge, stands, crouches and "
        "looks at the water for about 25 s, then walks away.",
        duration_s=40.0,
        view=view,
        conditions=cond,
        actors=[person],
        events=[Event("loitering", arrive, leave, "from arriving at the shore until walking off")],
    )


# --- registry ---------------------------------------------------------------------------------
Builder = Callable[[np.random.Generator, int, int], Clip]
_BUILDERS: dict[str, Builder] = {
    f.__name__: f
    for f in (
        angler_arrives,
        net_cast,
        boat_intrusion,
        passers_by,
        night_angler,
        camera_fault,
        loiterer,
    )
}
#: Scenario name -> what it shows.
SCENARIOS: dict[str, str] = {name: (f.__doc__ or "").strip() for name, f in _BUILDERS.items()}


def build_clip(name: str, seed: int, width: int = 1280, height: int = 720) -> Clip:
    """The scripted clip for ``name`` and ``seed`` (nothing rendered yet)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown scenario {name!r}; expected one of {', '.join(_BUILDERS)}")
    if width % 2 or height % 2 or width < 64 or height < 64:
        raise ValueError(f"frame size must be even and at least 64x64, got {width}x{height}")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return _BUILDERS[name](rng, width, height)


def render_scenario(
    name: str,
    out_path: Path,
    seed: int,
    *,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    duration_s: float | None = None,
) -> GroundTruth:
    """Render scenario ``name`` to ``out_path`` (MP4) and its ground truth beside it (``.json``).

    ``duration_s`` cuts the scenario short or holds its final state longer; it never re-times it.
    """
    clip = build_clip(name, seed, width, height)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    truth = render_clip(clip, out_path, scenario=name, seed=seed, fps=fps, duration_s=duration_s)
    out_path.with_suffix(".json").write_text(truth.to_json())
    return truth
