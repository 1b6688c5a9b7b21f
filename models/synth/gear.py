"""Fishing gear: tapered rods with their lines, rod stands, cast nets, gill nets and cage traps."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from models.synth.canvas import Canvas, Color, Point

ROD_COLOURS: list[Color] = [
    (20, 20, 20),
    (40, 40, 45),
    (30, 50, 70),
    (60, 60, 60),
    (20, 30, 90),
    (150, 200, 220),
    (30, 30, 140),
    (200, 200, 200),
]
NET_COLOURS: list[Color] = [
    (200, 200, 200),
    (150, 170, 170),
    (60, 120, 60),
    (60, 60, 60),
    (120, 180, 200),
    (40, 90, 150),
]


@dataclass
class Rod:
    """A fishing rod from ``butt`` (the hand or the stand) out over the water.

    ``angle`` is in degrees from the horizontal (positive: upwards), ``direction`` +1 right or -1
    left; ``bend`` bows the tip downwards under the line's pull.
    """

    butt: Point
    length: float
    angle: float
    direction: int
    bend: float
    thickness: float
    colour: Color

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        butt: Point,
        person_height: float,
        direction: int,
        angle: float | None = None,
    ) -> Rod:
        return cls(
            butt=butt,
            length=person_height * rng.uniform(1.3, 3.2),
            angle=float(angle if angle is not None else rng.uniform(12, 60)),
            direction=direction,
            bend=float(rng.uniform(0.0, 0.18)),
            thickness=max(1.3, person_height * rng.uniform(0.018, 0.03)),
            colour=ROD_COLOURS[rng.integers(len(ROD_COLOURS))],
        )

    def points(self, n: int = 12) -> np.ndarray:
        t = np.linspace(0, 1, n)[:, None]
        a = np.radians(self.angle)
        d = np.array([self.direction * np.cos(a), -np.sin(a)])
        normal_down = np.array([0.0, 1.0])
        straight = np.asarray(self.butt) + t * self.length * d
        return straight + (t**2) * self.bend * self.length * normal_down

    def tip(self) -> Point:
        p = self.points()[-1]
        return float(p[0]), float(p[1])

    def draw(self, canvas: Canvas, owner: int, line_to: Point | None = None) -> None:
        """Draw the tapered pole (labelled) and, optionally, the line down to the water (not)."""
        pts = self.points()
        widths = np.linspace(self.thickness, max(1.0, self.thickness * 0.35), len(pts) - 1)
        for (p0, p1), w in zip(pairwise(pts), widths, strict=True):
            canvas.line(tuple(p0), tuple(p1), float(w), self.colour, owner)
        if line_to is not None:
            canvas.line(self.tip(), line_to, 0.6, (210, 210, 210), 0, alpha=0.5)


def draw_rod_stand(canvas: Canvas, base: Point, height: float) -> Point:
    """A forked stick pushed into the bank; returns where a rod rests on it."""
    top = (base[0], base[1] - height)
    colour = (40, 70, 90)
    canvas.line(base, top, max(1, height * 0.08), colour)
    canvas.line(top, (top[0] - height * 0.15, top[1] - height * 0.2), max(1, height * 0.06), colour)
    canvas.line(top, (top[0] + height * 0.15, top[1] - height * 0.2), max(1, height * 0.06), colour)
    return top


def _mesh(
    canvas: Canvas,
    owner: int,
    centre: Point,
    axes: tuple[float, float],
    colour: Color,
    cells: int,
    alpha: float,
) -> None:
    """A net's mesh: a grid clipped to an ellipse, drawn as thin translucent lines."""
    cx, cy = centre
    ax, ay = axes
    for i in range(1, cells):
        f = -1 + 2 * i / cells
        half = np.sqrt(max(0.0, 1 - f * f))
        canvas.line(
            (cx + f * ax, cy - half * ay), (cx + f * ax, cy + half * ay), 1, colour, owner, alpha
        )
        canvas.line(
            (cx - half * ax, cy + f * ay), (cx + half * ax, cy + f * ay), 1, colour, owner, alpha
        )


def draw_cast_net(
    canvas: Canvas, owner: int, rng: np.random.Generator, centre: Point, radius: float, in_air: bool
) -> None:
    """A cast net: a bell opening in the air, or a flattened circle lying on the water."""
    colour = NET_COLOURS[rng.integers(len(NET_COLOURS))]
    squash = rng.uniform(0.45, 0.8) if in_air else rng.uniform(0.18, 0.35)
    axes = (radius, radius * squash)
    canvas.ellipse(centre, axes, 0, colour, owner, alpha=0.55)
    _mesh(
        canvas,
        owner,
        centre,
        axes,
        tuple(int(c * 0.6) for c in colour),
        int(rng.integers(6, 12)),
        0.6,
    )
    # Lead weights on the rim.
    n = int(rng.integers(10, 24))
    for k in range(n):
        a = 2 * np.pi * k / n
        p = (centre[0] + axes[0] * np.cos(a), centre[1] + axes[1] * np.sin(a))
        canvas.circle(p, max(1.0, radius * 0.035), (60, 60, 60), owner)
    if not in_air:  # splash rings
        for s in (1.15, 1.35):
            canvas.ellipse(
                centre, (axes[0] * s, axes[1] * s), 0, (220, 220, 220), 0, alpha=0.25, thickness=1
            )


def draw_gill_net(
    canvas: Canvas, owner: int, rng: np.random.Generator, start: Point, end: Point, scale: float
) -> None:
    """A gill net: a row of floats on the surface with the mesh hanging below it."""
    colour = NET_COLOURS[rng.integers(len(NET_COLOURS))]
    depth = scale * rng.uniform(0.4, 1.0)
    quad = np.array([start, end, (end[0], end[1] + depth * 0.6), (start[0], start[1] + depth)])
    canvas.polygon(quad, colour, owner, alpha=0.35)
    n = max(3, int(np.hypot(end[0] - start[0], end[1] - start[1]) / max(scale * 0.5, 2)))
    for k in range(n + 1):
        t = k / n
        p = (start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
        canvas.line(p, (p[0], p[1] + depth * (1 - 0.4 * t)), 1, colour, owner, alpha=0.5)
    canvas.line(start, end, max(1.0, scale * 0.04), (200, 200, 200), owner)
    float_colour = [(0, 120, 240), (230, 230, 230), (30, 30, 200)][rng.integers(3)]
    for k in range(n + 1):
        t = k / n
        p = (start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
        canvas.ellipse(p, (max(1.5, scale * 0.09), max(1.0, scale * 0.06)), 0, float_colour, owner)


def draw_cage_trap(
    canvas: Canvas,
    owner: int,
    rng: np.random.Generator,
    start: Point,
    length: float,
    scale: float,
    water_colour: Color,
) -> None:
    """A 地笼 cage trap: a long chain of square mesh frames, half sunk in the water."""
    colour = [(30, 60, 30), (20, 20, 20), (40, 90, 50)][rng.integers(3)]
    sections = int(rng.integers(4, 10))
    seg = length / sections
    h = scale * rng.uniform(0.25, 0.45)
    x0, y0 = start
    for k in range(sections):
        x = x0 + k * seg
        box = np.array([(x, y0 - h), (x + seg, y0 - h), (x + seg, y0), (x, y0)])
        canvas.polygon(box, colour, owner, alpha=0.55)
        canvas.polyline(box[[0, 1, 2, 3, 0]], max(1, h * 0.06), colour, owner)
        canvas.line((x + seg / 2, y0 - h), (x + seg / 2, y0), 1, colour, owner)
    # The submerged half is seen through murky water.
    canvas.polygon(
        np.array(
            [(x0, y0 - h * 0.45), (x0 + length, y0 - h * 0.45), (x0 + length, y0 + 1), (x0, y0 + 1)]
        ),
        water_colour,
        0,
        alpha=0.4,
    )
