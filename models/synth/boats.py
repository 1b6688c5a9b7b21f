"""Boats on the water: wooden sampans, small fishing boats with a cabin, speedboats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.synth.canvas import Canvas, Color, Point

BOAT_KINDS = ("sampan", "fishing_boat", "speedboat")
_HULL_COLOURS = {
    "sampan": [(40, 60, 80), (30, 45, 60), (60, 80, 100), (50, 50, 50)],
    "fishing_boat": [(180, 180, 180), (150, 90, 40), (40, 40, 140), (60, 110, 60), (200, 200, 200)],
    "speedboat": [(235, 235, 235), (220, 220, 225), (30, 30, 160), (160, 80, 20)],
}


@dataclass
class Boat:
    """A boat seen from the side; ``waterline`` is the middle of its waterline in pixels and
    ``length`` its length in pixels. ``heading`` +1 points the bow right."""

    kind: str
    waterline: Point
    length: float
    heading: int
    hull: Color
    canopy: bool
    foreshortening: float  # 1: broadside, smaller: seen more end-on

    @classmethod
    def random(
        cls, rng: np.random.Generator, waterline: Point, metres_px: float, kind: str | None = None
    ) -> Boat:
        kind = kind or str(rng.choice(BOAT_KINDS))
        length_m = {"sampan": (4, 8), "fishing_boat": (6, 12), "speedboat": (4, 7)}[kind]
        return cls(
            kind=kind,
            waterline=waterline,
            length=metres_px * rng.uniform(*length_m) * rng.uniform(0.45, 1.0),
            heading=int(rng.choice([-1, 1])),
            hull=_HULL_COLOURS[kind][rng.integers(len(_HULL_COLOURS[kind]))],
            canopy=bool(rng.random() < 0.5),
            foreshortening=float(rng.uniform(0.4, 1.0)),
        )

    @property
    def deck_height(self) -> float:
        return self.length * {"sampan": 0.09, "fishing_boat": 0.13, "speedboat": 0.12}[self.kind]

    def deck_points(self, count: int) -> list[Point]:
        """Where people on board stand (their feet)."""
        x, y = self.waterline
        half = self.length / 2
        return [
            (x + half * f, y - self.deck_height * 0.7)
            for f in np.linspace(-0.4, 0.3, count) * self.heading
        ]

    def draw(self, canvas: Canvas, owner: int) -> None:
        x, y = self.waterline
        half, d, hd = self.length / 2, self.deck_height, self.heading
        squash = self.foreshortening
        if self.kind == "speedboat":
            hull = [
                (x - half * hd, y - d),
                (x + half * hd, y - d * 1.2),
                (x + half * 0.75 * hd, y),
                (x - half * hd, y),
            ]
        elif self.kind == "sampan":
            hull = [
                (x - half * hd, y - d * 1.6),
                (x - half * 0.7 * hd, y - d * 0.9),
                (x + half * 0.7 * hd, y - d * 0.9),
                (x + half * hd, y - d * 1.6),
                (x + half * 0.8 * hd, y),
                (x - half * 0.8 * hd, y),
            ]
        else:
            hull = [
                (x - half * hd, y - d),
                (x + half * hd, y - d * 1.3),
                (x + half * 0.85 * hd, y),
                (x - half * 0.9 * hd, y),
            ]
        pts = np.array(hull, dtype=np.float64)
        pts[:, 0] = x + (pts[:, 0] - x) * squash
        # Reflection first (scenery): a darker mirrored hull under the waterline.
        refl = pts.copy()
        refl[:, 1] = 2 * y - refl[:, 1]
        canvas.polygon(refl, tuple(int(c * 0.5) for c in self.hull), 0, alpha=0.3)
        canvas.polygon(pts, self.hull, owner)
        canvas.line(
            (pts[0][0], pts[0][1]),
            (pts[1][0], pts[1][1]),
            max(1, d * 0.15),
            tuple(int(c * 0.7) for c in self.hull),
            owner,
        )
        if self.kind == "fishing_boat":
            cab_w, cab_h = self.length * 0.25 * squash, d * 1.6
            cx = x - self.length * 0.12 * hd * squash
            canvas.polygon(
                np.array(
                    [
                        (cx - cab_w / 2, y - d),
                        (cx + cab_w / 2, y - d),
                        (cx + cab_w / 2, y - d - cab_h),
                        (cx - cab_w / 2, y - d - cab_h),
                    ]
                ),
                (210, 210, 210),
                owner,
            )
            canvas.line(
                (cx - cab_w / 3, y - d - cab_h * 0.55),
                (cx + cab_w / 3, y - d - cab_h * 0.55),
                max(1, cab_h * 0.25),
                (90, 70, 50),
                owner,
            )
            canvas.line(
                (cx, y - d - cab_h), (cx, y - d - cab_h * 2.4), max(1, d * 0.1), (80, 80, 80), owner
            )
        elif self.kind == "speedboat":
            wx = x + self.length * 0.1 * hd * squash
            canvas.polygon(
                np.array(
                    [
                        (wx, y - d * 1.05),
                        (wx + self.length * 0.08 * hd * squash, y - d * 1.05),
                        (wx, y - d * 1.7),
                    ]
                ),
                (120, 90, 60),
                owner,
                alpha=0.8,
            )
        elif self.canopy:  # arched bamboo canopy of a sampan
            canvas.ellipse(
                (x, y - d * 0.9),
                (self.length * 0.18 * squash, d * 1.4),
                0,
                (50, 80, 100),
                owner,
                start=180,
                end=360,
            )
        # Wake / waterline foam.
        canvas.line(
            (pts[:, 0].min(), y),
            (pts[:, 0].max(), y),
            max(1, d * 0.12),
            (215, 215, 215),
            0,
            alpha=0.35,
        )
