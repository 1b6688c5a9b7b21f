"""Scenery behind the objects: sky, far bank, water in perspective, and the near bank."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.synth.camera import CameraView

WATER_COLOURS = [  # BGR: Yangtze browns, greens and greys
    (70, 105, 120),
    (60, 95, 100),
    (80, 110, 105),
    (95, 120, 125),
    (60, 80, 75),
    (90, 115, 140),
    (110, 120, 115),
    (55, 85, 95),
    (100, 130, 130),
    (75, 90, 110),
]
BANK_KINDS = ("grass", "mud", "stone", "concrete", "steps", "sand")


def fractal_noise(
    rng: np.random.Generator, height: int, width: int, base: int = 4, octaves: int = 4
) -> np.ndarray:
    """Smooth value noise in [-1, 1], summed over octaves (cheap: small grids, cubic upsampling)."""
    out = np.zeros((height, width), np.float32)
    amp, total = 1.0, 0.0
    for i in range(octaves):
        gh, gw = base * 2**i + 1, max(2, int(base * 2**i * width / max(height, 1))) + 1
        grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
        out += amp * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    return out / total


def _perspective_texture(
    rng: np.random.Generator, view: CameraView, top: float, stretch: float, detail: float
) -> np.ndarray:
    """Ground-plane noise seen in perspective: features shrink and flatten towards the horizon."""
    tex = fractal_noise(rng, 256, 256, base=4, octaves=5)
    ys, xs = np.mgrid[0 : view.height, 0 : view.width].astype(np.float32)
    depth = np.maximum(ys - view.horizon_y, 2.0)
    u = (xs - view.width / 2) / depth * detail * 40 + 128
    v = (1.0 / depth) * detail * 40 * 256 / stretch + (top % 7)
    return cv2.remap(
        tex,
        np.mod(u, 255).astype(np.float32),
        np.mod(v, 255).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_WRAP,
    )


@dataclass
class Background:
    """The rendered scenery and what each region is, for placing objects."""

    image: np.ndarray  # float32 BGR
    water: np.ndarray  # bool mask
    bank_kind: str
    water_colour: tuple[int, int, int]


def _sky(rng: np.random.Generator, h: int, w: int, mood: str) -> np.ndarray:
    top, bottom = {
        "clear": ((200, 150, 90), (235, 215, 190)),
        "overcast": ((175, 172, 168), (205, 205, 200)),
        "dusk": ((130, 90, 90), (120, 170, 235)),
    }[mood]
    t = np.linspace(0, 1, max(h, 1), dtype=np.float32)[:, None, None]
    sky = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    sky = np.repeat(sky, w, axis=1)
    clouds = fractal_noise(rng, max(h, 1), w, base=2, octaves=4)[..., None]
    return sky + np.clip(clouds, 0, 1) * rng.uniform(20, 60)


def _far_bank(img: np.ndarray, rng: np.random.Generator, view: CameraView) -> None:
    """Hills, a tree line and sometimes buildings, sitting on the far shore."""
    w = view.width
    base_y = view.far_shore_y
    xs = np.arange(w)
    if rng.random() < 0.5:  # distant hills in haze
        hill = base_y - (0.05 + 0.12 * rng.random()) * view.height * (
            0.6 + 0.4 * fractal_noise(rng, 1, w, base=2, octaves=3)[0]
        )
        colour = np.array(
            rng.choice([(150, 150, 140), (140, 150, 150), (160, 160, 150)]), np.float32
        )
        for x in range(w):
            y0 = int(max(hill[x], 0))
            if y0 < base_y:
                img[y0 : int(base_y), x] = img[y0 : int(base_y), x] * 0.35 + colour * 0.65
    tree_h = (0.015 + 0.06 * rng.random()) * view.height
    trees = base_y - tree_h * (
        0.5 + 0.5 * np.abs(fractal_noise(rng, 1, w, base=8, octaves=4)[0]) * 2
    )
    green = np.array(
        rng.choice([(50, 80, 45), (60, 90, 70), (70, 95, 80), (55, 70, 60)]), np.float32
    )
    for x in xs:
        y0 = int(max(trees[x], 0))
        if y0 < base_y:
            img[y0 : int(base_y) + 1, x] = green * rng.uniform(0.85, 1.1)
    if rng.random() < 0.4:  # buildings
        for _ in range(rng.integers(2, 9)):
            bw = rng.uniform(0.02, 0.08) * w
            bh = rng.uniform(0.02, 0.12) * view.height
            x0 = rng.uniform(0, w - bw)
            colour = rng.uniform(120, 220, 3)
            y0, y1 = int(max(base_y - bh, 0)), int(max(base_y, 0))
            img[y0:y1, int(x0) : int(x0 + bw)] = colour
            for wy in range(y0 + 2, y1 - 1, 4):
                img[wy, int(x0) + 1 : int(x0 + bw) - 1 : 3] = colour * 0.6


def _water(rng: np.random.Generator, view: CameraView, img: np.ndarray) -> tuple[np.ndarray, tuple]:
    colour = WATER_COLOURS[rng.integers(len(WATER_COLOURS))]
    colour = tuple(int(np.clip(c + rng.normal(0, 10), 0, 255)) for c in colour)
    h, w = view.height, view.width
    ys = np.arange(h, dtype=np.float32)[:, None]
    depth = np.clip((ys - view.far_shore_y) / max(h - view.far_shore_y, 1), 0, 1)
    water = np.asarray(colour, np.float32) * (0.85 + 0.3 * depth[..., None])
    water = np.broadcast_to(water, (h, w, 3)).copy()
    ripples = _perspective_texture(
        rng, view, rng.uniform(0, 100), stretch=8.0, detail=rng.uniform(0.5, 2.0)
    )
    water += ripples[..., None] * rng.uniform(8, 28)
    # Reflection of the far bank: mirrored about the far shoreline, blurred and faded.
    fs = int(view.far_shore_y)
    if fs > 2:
        span = min(fs, int(0.2 * h))
        refl = img[fs - span : fs][::-1].astype(np.float32)
        refl = cv2.GaussianBlur(refl, (0, 0), 2.0)
        fade = np.linspace(0.6, 0.0, span, dtype=np.float32)[:, None, None]
        seg = water[fs : fs + span]
        seg += (refl[: seg.shape[0]] * 0.8 - seg) * fade[: seg.shape[0]]
    # Specular glints: short bright dashes, more where the sun is.
    glints = int(rng.uniform(0, 400) * w / 640)
    for _ in range(glints):
        y = rng.uniform(max(view.far_shore_y, 0), h)
        x = rng.uniform(0, w)
        length = max(1, int(view.pixels_per_metre(y) * rng.uniform(0.05, 0.4)))
        v = rng.uniform(20, 80)
        cv2.line(water, (int(x), int(y)), (int(x + length), int(y)), (v, v, v), 1)
    return water, colour


_BANK_COLOURS = {
    "grass": [(60, 120, 80), (50, 110, 100), (70, 130, 110), (60, 100, 90)],
    "mud": [(70, 95, 115), (60, 80, 100), (80, 100, 120)],
    "stone": [(120, 125, 125), (110, 115, 120), (135, 135, 130)],
    "concrete": [(150, 155, 155), (135, 140, 140), (170, 170, 165)],
    "steps": [(150, 150, 150), (130, 135, 140)],
    "sand": [(130, 160, 180), (120, 150, 170)],
}


def _near_bank(rng: np.random.Generator, view: CameraView, kind: str) -> np.ndarray:
    h, w = view.height, view.width
    colour = np.asarray(_BANK_COLOURS[kind][rng.integers(len(_BANK_COLOURS[kind]))], np.float32)
    bank = np.broadcast_to(colour, (h, w, 3)).copy()
    tex = _perspective_texture(
        rng, view, rng.uniform(0, 100), stretch=1.5, detail=rng.uniform(1, 4)
    )
    strength = {"grass": 35, "mud": 18, "stone": 40, "concrete": 10, "steps": 8, "sand": 12}[kind]
    bank += tex[..., None] * strength
    ys = np.arange(h)[:, None]
    shore = view.shore_y(np.arange(w))[None, :]
    if kind in ("concrete", "steps"):  # joints parallel to the shore, closer together far away
        step = rng.uniform(0.3, 1.2)
        dist = (ys - shore) / np.maximum(ys - view.horizon_y, 1) * view.height_m / step
        joints = np.abs(np.mod(dist, 1.0) - 0.5) > (0.47 if kind == "concrete" else 0.4)
        bank[joints] *= 0.7 if kind == "concrete" else 0.8
    if kind == "stone":
        for _ in range(int(60 * w / 640)):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            r = max(1, view.pixels_per_metre(y) * rng.uniform(0.05, 0.25))
            cv2.ellipse(
                bank,
                (int(x), int(y)),
                (int(r), int(r * 0.6)),
                0,
                0,
                360,
                tuple(float(c) for c in colour * rng.uniform(0.7, 1.2)),
                -1,
            )
    # Wet strip along the waterline.
    near = np.clip(1 - (ys - shore) / (0.04 * h + 1), 0, 1)[..., None]
    bank *= 1 - 0.3 * near
    return bank


def render_background(rng: np.random.Generator, view: CameraView, mood: str) -> Background:
    """Sky, far bank, water and near bank for one camera view."""
    h, w = view.height, view.width
    horizon = int(np.clip(view.far_shore_y, 0, h))
    img = np.zeros((h, w, 3), np.float32)
    if horizon > 0:
        img[:horizon] = _sky(rng, horizon, w, mood)
        _far_bank(img, rng, view)
    water, colour = _water(rng, view, img)
    water_mask = view.water_mask()
    img[water_mask] = water[water_mask]
    kind = BANK_KINDS[rng.integers(len(BANK_KINDS))]
    bank_mask = view.bank_mask()
    img[bank_mask] = _near_bank(rng, view, kind)[bank_mask]
    # Soften the shoreline so it is not a perfect edge.
    edge = cv2.dilate(bank_mask.astype(np.uint8), np.ones((3, 3), np.uint8)) != cv2.erode(
        bank_mask.astype(np.uint8), np.ones((3, 3), np.uint8)
    )
    img[edge] = cv2.GaussianBlur(img, (5, 5), 0)[edge]
    return Background(img, water_mask, kind, colour)
