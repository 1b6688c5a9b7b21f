"""Random still scenes for training: anglers, nets, boats and distractors on a random riverbank."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from detector.classes import CLASS_NAMES
from models.synth import props
from models.synth.background import render_background
from models.synth.boats import Boat
from models.synth.camera import CameraView
from models.synth.canvas import Canvas, Label
from models.synth.conditions import Conditions, apply_conditions
from models.synth.gear import Rod, draw_cage_trap, draw_cast_net, draw_gill_net, draw_rod_stand
from models.synth.people import Person, draw_stool

PERSON, ROD, NET, BOAT = (CLASS_NAMES.index(n) for n in ("person", "fishing_rod", "net", "boat"))
PERSON_HEIGHT_M = 1.7

Draw = Callable[[Canvas], None]


@dataclass(frozen=True)
class SceneMix:
    """What a still is populated with: the choices each subject count is drawn from.

    ``STANDARD`` is the distribution the held-out set (``fishwatch eval --synthetic``) is
    rendered with and must stay as it is; a training set may lean towards the classes a model
    finds hardest without moving that yardstick.
    """

    angler_chance: float = 0.78
    anglers: tuple[int, ...] = (1, 1, 2, 2, 3)
    nets: tuple[int, ...] = (0, 0, 1, 1, 2)
    boats: tuple[int, ...] = (0, 1, 1, 2)


STANDARD_MIX = SceneMix()
#: By name, for ``fishwatch synth dataset --mix``.
SCENE_MIXES = {
    "standard": STANDARD_MIX,
    # Nets and boats are the weakest classes and the rarest: about twice as many of each.
    "nets-boats": SceneMix(nets=(1, 1, 2, 2, 3), boats=(1, 1, 2, 2, 3)),
}


@dataclass
class RenderedImage:
    image: np.ndarray  # uint8 BGR
    labels: list[Label]
    conditions: Conditions


class _Layout:
    """Collects drawing steps with their depth (foot row), then draws far to near."""

    def __init__(self) -> None:
        self.steps: list[tuple[float, int, Draw]] = []

    def add(self, depth: float, step: Draw) -> None:
        self.steps.append((depth, len(self.steps), step))

    def draw(self, canvas: Canvas) -> None:
        for _, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            step(canvas)


def _person_height(view: CameraView, foot_y: float, rng: np.random.Generator) -> float:
    return view.pixels_per_metre(foot_y) * PERSON_HEIGHT_M * float(rng.uniform(0.88, 1.1))


def _line_end(
    view: CameraView, tip: tuple[float, float], rng: np.random.Generator, length: float
) -> tuple[float, float]:
    x = tip[0] + rng.normal(0, 0.05) * length
    y = tip[1] + rng.uniform(0.2, 0.7) * length
    return x, min(y, float(view.shore_y(x)) - 2)


def _add_angler(layout: _Layout, view: CameraView, rng: np.random.Generator) -> tuple[float, float]:
    foot = view.random_bank_point(rng, depth=(0.0, 0.3))
    h = _person_height(view, foot[1], rng)
    style = rng.choice(
        ["holding", "stands", "stands_sitting", "crouch_holding"], p=[0.35, 0.2, 0.3, 0.15]
    )
    pose = {
        "holding": "standing",
        "stands": "standing",
        "stands_sitting": "sitting",
        "crouch_holding": "crouching",
    }[style]
    arm = (
        "forward" if style in ("holding", "crouch_holding") else str(rng.choice(["down", "carry"]))
    )
    person = Person.random(rng, foot, h, pose=pose, arm=arm)
    direction = person.facing or int(rng.choice([-1, 1]))

    def draw_person(c: Canvas) -> None:
        if pose == "sitting":
            draw_stool(c, person)
        person.draw(c, c.new_object(PERSON))

    layout.add(foot[1], draw_person)
    if style in ("holding", "crouch_holding"):
        rod = Rod.random(rng, person.hand(), h, direction)
        # The rod is in front of the body when the angler faces the camera side, behind otherwise.
        layout.add(
            foot[1] + (0.01 if rng.random() < 0.6 else -0.01),
            lambda c: rod.draw(c, c.new_object(ROD), _line_end(view, rod.tip(), rng, rod.length)),
        )
    else:
        count = int(rng.integers(1, 5))
        base_x = foot[0] + direction * rng.uniform(0.1, 0.5) * h
        base_y = min(foot[1] - rng.uniform(0.0, 0.1) * h, foot[1])
        base_y = max(base_y, float(view.shore_y(base_x)) + 1)
        angles = np.sort(rng.uniform(15, 75, count))
        for k in range(count):
            bx = base_x + direction * k * rng.uniform(0.15, 0.5) * h
            by = max(base_y, float(view.shore_y(bx)) + 1)
            stand_h = 0.3 * h * rng.uniform(0.7, 1.3)
            rod_dir = direction * (1 if rng.random() < 0.85 else -1)
            rod = Rod.random(
                rng,
                (bx - rod_dir * 0.1 * h, by - stand_h * 0.6),
                h,
                rod_dir,
                angle=float(angles[k]),
            )

            def draw_on_stand(
                c: Canvas, rod: Rod = rod, bx: float = bx, by: float = by, stand_h: float = stand_h
            ) -> None:
                draw_rod_stand(c, (bx, by), stand_h)
                rod.draw(c, c.new_object(ROD), _line_end(view, rod.tip(), rng, rod.length))

            layout.add(by, draw_on_stand)
    return foot


def _add_net(
    layout: _Layout,
    view: CameraView,
    rng: np.random.Generator,
    water_colour,
    near: tuple[float, float] | None,
) -> None:
    kind = rng.choice(["cast_air", "cast_water", "gill", "cage"], p=[0.3, 0.25, 0.25, 0.2])
    if kind == "cast_air" and near is not None:
        h = _person_height(view, near[1], rng)
        thrower = Person.random(rng, near, h, pose="standing", arm="up")
        layout.add(near[1], lambda c: thrower.draw(c, c.new_object(PERSON)))
        d = thrower.facing or 1
        centre = (near[0] + d * rng.uniform(0.5, 1.3) * h, near[1] - rng.uniform(0.6, 1.3) * h)
        radius = h * rng.uniform(0.35, 0.75)
        layout.add(
            near[1] - 0.5, lambda c: draw_cast_net(c, c.new_object(NET), rng, centre, radius, True)
        )
        return
    at = view.random_water_point(rng, band=(0.25, 0.95))
    scale = view.pixels_per_metre(at[1])
    if kind in ("cast_air", "cast_water"):
        radius = scale * rng.uniform(1.0, 2.5)
        layout.add(at[1], lambda c: draw_cast_net(c, c.new_object(NET), rng, at, radius, False))
    elif kind == "gill":
        length = scale * rng.uniform(6, 25)
        end = (at[0] + length * rng.choice([-1, 1]), at[1] + rng.normal(0, 0.05) * length)
        layout.add(at[1], lambda c: draw_gill_net(c, c.new_object(NET), rng, at, end, scale))
    else:
        x = at[0]
        y = float(view.shore_y(x)) - rng.uniform(0.01, 0.06) * view.height
        s = view.pixels_per_metre(y)
        length = s * rng.uniform(3, 10)
        layout.add(
            y, lambda c: draw_cage_trap(c, c.new_object(NET), rng, (x, y), length, s, water_colour)
        )


def _add_boat(layout: _Layout, view: CameraView, rng: np.random.Generator) -> None:
    at = view.random_water_point(rng, band=(0.05, 0.9))
    boat = Boat.random(rng, at, view.pixels_per_metre(at[1]))
    layout.add(at[1], lambda c: boat.draw(c, c.new_object(BOAT)))
    if rng.random() < 0.45:
        for foot in boat.deck_points(int(rng.integers(1, 3))):
            h = _person_height(view, at[1], rng)
            pose = "sitting" if rng.random() < 0.4 else "standing"
            person = Person.random(
                rng, foot, h, pose=pose, arm=str(rng.choice(["down", "forward"]))
            )
            layout.add(at[1] + 0.1, lambda c, p=person: p.draw(c, c.new_object(PERSON)))
            if person.arm == "forward" and rng.random() < 0.5:
                rod = Rod.random(rng, person.hand(), h, person.facing or 1)
                layout.add(
                    at[1] + 0.2,
                    lambda c, r=rod: r.draw(
                        c, c.new_object(ROD), _line_end(view, r.tip(), rng, r.length)
                    ),
                )


def _add_passer_by(layout: _Layout, view: CameraView, rng: np.random.Generator) -> None:
    foot = view.random_bank_point(rng, depth=(0.0, 0.9), x_range=(-0.05, 1.05))
    h = _person_height(view, foot[1], rng)
    kind = rng.choice(
        ["walker", "cyclist", "umbrella", "pole", "sitter"], p=[0.35, 0.2, 0.15, 0.2, 0.1]
    )
    arm = {"umbrella": "up", "pole": "carry"}.get(kind, "down")
    pose = {
        "walker": "walking",
        "cyclist": "walking",
        "sitter": str(rng.choice(["sitting", "crouching"])),
    }
    person = Person.random(rng, foot, h, pose=pose.get(kind, "walking"), arm=arm)
    if person.facing == 0 and kind == "cyclist":
        person.facing = 1

    def draw(c: Canvas) -> None:
        if kind == "cyclist":
            props.draw_bicycle(c, person)
        if kind == "sitter" and person.pose == "sitting":
            draw_stool(c, person)
        person.draw(c, c.new_object(PERSON))
        if kind == "umbrella":
            props.draw_umbrella(c, rng, person.hand(), h)
        elif kind == "pole":
            props.draw_hand_pole(c, rng, person)

    layout.add(foot[1], draw)


def _add_clutter(layout: _Layout, view: CameraView, rng: np.random.Generator) -> None:
    kind = rng.choice(["bird", "buoy", "debris", "lamp", "tree"], p=[0.25, 0.2, 0.3, 0.15, 0.1])
    if kind in ("buoy", "debris") or (kind == "bird" and rng.random() < 0.5):
        at = view.random_water_point(rng)
    else:
        at = view.random_bank_point(rng, depth=(0.0, 0.6))
    m = view.pixels_per_metre(at[1])
    if kind == "bird":
        y = at[1] - rng.uniform(0, 0.4) * view.height
        layout.add(at[1], lambda c: props.draw_bird(c, rng, (at[0], y), max(2, m * 0.35)))
    elif kind == "buoy":
        layout.add(at[1], lambda c: props.draw_buoy(c, rng, at, max(2, m * 0.3)))
    elif kind == "debris":
        layout.add(at[1], lambda c: props.draw_debris(c, rng, at, max(2, m * 0.3)))
    elif kind == "lamp":
        layout.add(at[1], lambda c: props.draw_lamp_post(c, rng, at, m))
    else:
        layout.add(at[1], lambda c: props.draw_tree(c, rng, at, m))


def render_still(
    rng: np.random.Generator, width: int = 640, height: int = 360, mix: SceneMix = STANDARD_MIX
) -> RenderedImage:
    """One labelled training image of a random checkpoint view."""
    view = CameraView.random(rng, width, height)
    cond = Conditions.random(rng)
    bg = render_background(rng, view, cond.mood)
    layout = _Layout()
    anglers = []
    if rng.random() < mix.angler_chance:
        for _ in range(int(rng.choice(mix.anglers))):
            anglers.append(_add_angler(layout, view, rng))
    for _ in range(int(rng.choice(mix.nets))):
        near = view.random_bank_point(rng, depth=(0.0, 0.15))
        _add_net(layout, view, rng, bg.water_colour, near)
    for _ in range(int(rng.choice(mix.boats))):
        _add_boat(layout, view, rng)
    for _ in range(int(rng.integers(0, 5))):
        _add_passer_by(layout, view, rng)
    for _ in range(int(rng.integers(0, 6))):
        _add_clutter(layout, view, rng)
    if rng.random() < 0.25:
        xs = np.linspace(0, width, 16)
        shore = np.stack([xs, view.shore_y(xs)], axis=1)
        layout.add(
            float(np.mean(shore[:, 1])) + 0.04 * height,
            lambda c: props.draw_railing(c, rng, shore, view.pixels_per_metre),
        )
    canvas = Canvas(bg.image)
    layout.draw(canvas)
    image = apply_conditions(canvas.image, cond, rng, horizon_y=max(view.horizon_y, 0))
    return RenderedImage(image=image, labels=canvas.labels(), conditions=cond)
