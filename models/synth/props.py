"""Things that are not fishing but look a bit like it: the detector must learn to ignore them."""

from __future__ import annotations

import numpy as np

from models.synth.canvas import Canvas, Color, Point
from models.synth.people import Person


def draw_bicycle(canvas: Canvas, person: Person) -> None:
    """A bicycle under a walking-pose person (the person is labelled, the bicycle is not)."""
    h = person.height
    x, y = person.foot
    r = 0.17 * h
    d = person.facing or 1
    back, front = (x - 0.28 * h * d, y - r), (x + 0.3 * h * d, y - r)
    colour = [(30, 30, 30), (40, 40, 160), (160, 160, 160)][int(abs(x)) % 3]
    for c in (back, front):
        canvas.ellipse(c, (r, r), 0, colour, thickness=max(1, 0.015 * h))
    seat = (x - 0.05 * h * d, y - 0.5 * h)
    bar = (x + 0.22 * h * d, y - 0.55 * h)
    for a, b in (
        (back, seat),
        (seat, (x, y - r)),
        ((x, y - r), back),
        ((x, y - r), bar),
        (bar, front),
        (seat, bar),
    ):
        canvas.line(a, b, max(1, 0.02 * h), colour)


def draw_umbrella(canvas: Canvas, rng: np.random.Generator, hand: Point, height: float) -> None:
    colour = [(40, 40, 200), (200, 80, 20), (30, 30, 30), (180, 180, 60), (150, 60, 160)][
        rng.integers(5)
    ]
    top = (hand[0], hand[1] - 0.35 * height)
    canvas.line(hand, top, max(1, 0.015 * height), (60, 60, 60))
    r = 0.38 * height
    canvas.ellipse((top[0], top[1] + 0.05 * height), (r, r * 0.45), 0, colour, start=180, end=360)


def draw_hand_pole(canvas: Canvas, rng: np.random.Generator, person: Person) -> None:
    """Walking stick, broom or carrying pole: pole-like, but held down or level, never cast out."""
    h = person.height
    hand = person.hand()
    kind = rng.choice(["stick", "broom", "carrying_pole", "spade"])
    colour = [(40, 70, 100), (60, 60, 60), (90, 140, 170), (20, 20, 20)][rng.integers(4)]
    if kind == "carrying_pole":  # 扁担 across the shoulder, loads hanging from both ends
        sh = (person.foot[0], person.foot[1] - 0.80 * h)
        a, b = (sh[0] - 0.55 * h, sh[1] + 0.02 * h), (sh[0] + 0.55 * h, sh[1] - 0.02 * h)
        canvas.line(a, b, max(1, 0.025 * h), colour)
        for end in (a, b):
            canvas.line(end, (end[0], end[1] + 0.3 * h), 1, (50, 50, 50))
            canvas.circle((end[0], end[1] + 0.38 * h), 0.09 * h, (60, 110, 150))
        return
    foot = (hand[0] + rng.uniform(0.05, 0.3) * h * (person.facing or 1), person.foot[1])
    top = (hand[0] - (foot[0] - hand[0]) * 0.3, hand[1] - 0.1 * h)
    canvas.line(top, foot, max(1, 0.02 * h), colour)
    if kind == "broom":
        canvas.polygon(
            np.array(
                [
                    (foot[0] - 0.08 * h, foot[1]),
                    (foot[0] + 0.08 * h, foot[1]),
                    (foot[0] + 0.02 * h, foot[1] - 0.15 * h),
                    (foot[0] - 0.02 * h, foot[1] - 0.15 * h),
                ]
            ),
            (60, 130, 170),
        )
    elif kind == "spade":
        canvas.ellipse(foot, (0.04 * h, 0.07 * h), 0, (120, 120, 120))


def draw_bird(canvas: Canvas, rng: np.random.Generator, at: Point, size: float) -> None:
    colour: Color = [(30, 30, 30), (230, 230, 230), (90, 90, 100)][rng.integers(3)]
    if rng.random() < 0.5:  # flying: a shallow V
        canvas.line((at[0] - size, at[1] - size * 0.3), at, max(1, size * 0.2), colour)
        canvas.line(at, (at[0] + size, at[1] - size * 0.3), max(1, size * 0.2), colour)
    else:  # resting on the water or bank
        canvas.ellipse(at, (size * 0.6, size * 0.3), 0, colour)
        canvas.circle((at[0] + size * 0.5, at[1] - size * 0.3), size * 0.18, colour)


def draw_buoy(canvas: Canvas, rng: np.random.Generator, at: Point, size: float) -> None:
    colour = [(0, 80, 230), (0, 0, 200), (230, 230, 230), (0, 200, 240)][rng.integers(4)]
    canvas.ellipse(at, (size, size * 0.8), 0, colour)
    if rng.random() < 0.5:
        canvas.line(at, (at[0], at[1] - size * 2.5), max(1, size * 0.2), (60, 60, 60))


def draw_debris(canvas: Canvas, rng: np.random.Generator, at: Point, size: float) -> None:
    """Floating rubbish or a drifting branch (a thin dark line lying on the water)."""
    if rng.random() < 0.4:
        angle = rng.uniform(-0.3, 0.3)
        length = size * rng.uniform(2, 6)
        end = (at[0] + np.cos(angle) * length, at[1] + np.sin(angle) * length * 0.3)
        canvas.line(at, end, max(1, size * 0.15), (30, 50, 60))
        return
    n = int(rng.integers(5, 9))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = size * rng.uniform(0.5, 1.0, n)
    pts = np.stack([at[0] + radii * np.cos(angles), at[1] + radii * np.sin(angles) * 0.4], axis=1)
    canvas.polygon(
        pts, [(200, 200, 200), (40, 80, 140), (30, 30, 30), (120, 170, 200)][rng.integers(4)]
    )


def draw_railing(canvas: Canvas, rng: np.random.Generator, shore: np.ndarray, metres_px) -> None:
    """Posts and rails along the embankment, following the shore line ``shore`` (x, y pairs)."""
    colour = [(200, 200, 200), (60, 60, 60), (40, 90, 40), (30, 30, 120)][rng.integers(4)]
    offset = rng.uniform(0.02, 0.06)
    spacing = rng.uniform(1.5, 3.0)
    posts = []
    x = float(shore[0, 0])
    while x < shore[-1, 0]:
        y = float(np.interp(x, shore[:, 0], shore[:, 1])) + offset * canvas.height
        m = metres_px(y)
        posts.append((x, y, m))
        x += max(spacing * m, 4)
    for x, y, m in posts:
        canvas.line((x, y), (x, y - 1.1 * m), max(1, 0.06 * m), colour)
    for level in (1.1, 0.55):
        pts = np.array([(x, y - level * m) for x, y, m in posts])
        if len(pts) > 1:
            canvas.polyline(pts, max(1, 0.04 * posts[0][2]), colour)


def draw_lamp_post(canvas: Canvas, rng: np.random.Generator, base: Point, metres_px: float) -> None:
    """A tall thin pole with an arm: the classic false 'rod' on an embankment."""
    h = metres_px * rng.uniform(4, 7)
    colour = [(60, 60, 60), (180, 180, 180), (40, 70, 40)][rng.integers(3)]
    top = (base[0], base[1] - h)
    canvas.line(base, top, max(1, 0.03 * h), colour)
    d = rng.choice([-1, 1])
    arm_end = (top[0] + d * 0.15 * h, top[1] + 0.02 * h)
    canvas.line(top, arm_end, max(1, 0.02 * h), colour)
    canvas.ellipse((arm_end[0], arm_end[1] + 0.02 * h), (0.04 * h, 0.02 * h), 0, (200, 230, 240))


def draw_tree(canvas: Canvas, rng: np.random.Generator, base: Point, metres_px: float) -> None:
    h = metres_px * rng.uniform(3, 8)
    canvas.line(base, (base[0], base[1] - h * 0.6), max(1, 0.05 * h), (40, 60, 80))
    green = [(40, 90, 40), (50, 110, 70), (30, 70, 50)][rng.integers(3)]
    for _ in range(5):
        c = (base[0] + rng.normal(0, 0.12) * h, base[1] - h * rng.uniform(0.6, 0.9))
        canvas.ellipse(c, (h * rng.uniform(0.12, 0.25), h * rng.uniform(0.1, 0.2)), 0, green)
