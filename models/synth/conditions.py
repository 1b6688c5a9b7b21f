"""Light, weather and sensor effects applied to a finished frame (labels are unaffected)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LIGHTS = ("day", "overcast", "dusk", "night", "infrared")


@dataclass(frozen=True)
class Conditions:
    """Everything about how the camera sees the scene, drawn once per scene (or per video)."""

    light: str
    fog: float  # 0..1
    rain: float  # 0..1
    blur: float  # Gaussian sigma in pixels
    noise: float  # sensor noise sigma (0..255 scale)
    jpeg_quality: int  # 0 = no recompression
    gain: float  # exposure
    grey_weights: tuple[float, float, float]

    @classmethod
    def random(cls, rng: np.random.Generator, light: str | None = None) -> Conditions:
        light = light or str(rng.choice(LIGHTS, p=[0.38, 0.2, 0.14, 0.14, 0.14]))
        night = light in ("night", "infrared")
        return cls(
            light=light,
            fog=float(rng.uniform(0.1, 0.6)) if rng.random() < 0.2 else 0.0,
            rain=float(rng.uniform(0.2, 1.0)) if rng.random() < 0.12 else 0.0,
            blur=float(rng.uniform(0, 1.2)) if rng.random() < 0.5 else 0.0,
            noise=float(rng.uniform(3, 10) if night else rng.uniform(0, 6)),
            jpeg_quality=int(rng.integers(30, 95)) if rng.random() < 0.6 else 0,
            gain=float(rng.uniform(0.8, 1.2)),
            grey_weights=tuple(float(w) for w in rng.dirichlet([4, 4, 4])),
        )

    @property
    def mood(self) -> str:
        """The sky to paint for this light."""
        return {"day": "clear", "overcast": "overcast", "dusk": "dusk"}.get(self.light, "overcast")


def apply_conditions(
    image: np.ndarray, cond: Conditions, rng: np.random.Generator, horizon_y: float = 0.0
) -> np.ndarray:
    """Return the uint8 BGR frame as the camera would deliver it."""
    img = image.astype(np.float32)
    h, w = img.shape[:2]
    if cond.fog > 0:  # stronger towards the horizon
        ys = np.arange(h, dtype=np.float32)[:, None, None]
        depth = np.clip(1 - (ys - horizon_y) / max(h - horizon_y, 1), 0, 1)
        k = cond.fog * (0.3 + 0.7 * depth)
        img = img * (1 - k) + 200 * k
    if cond.light == "overcast":
        grey = img.mean(axis=2, keepdims=True)
        img = 0.5 * img + 0.5 * grey
        img = (img - 128) * 0.8 + 120
    elif cond.light == "dusk":
        img = img * np.array([0.55, 0.7, 0.95], np.float32) * 0.75
    elif cond.light == "night":
        img = img * np.array([0.55, 0.48, 0.45], np.float32)
    elif cond.light == "infrared":
        grey = img @ np.asarray(cond.grey_weights, np.float32)
        grey = np.clip((grey - grey.mean()) * 1.3 + 110, 0, 255)
        img = np.repeat(grey[..., None], 3, axis=2)
    img *= cond.gain
    if cond.rain > 0:
        streaks = np.zeros((h, w), np.float32)
        n = int(cond.rain * 600 * w / 640)
        xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
        length = rng.uniform(4, 14, n) * h / 360
        for x, y, L in zip(xs, ys, length, strict=True):
            cv2.line(streaks, (int(x), int(y)), (int(x + L * 0.25), int(y + L)), 1.0, 1)
        img += streaks[..., None] * 60 * cond.rain
    if cond.blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), cond.blur)
    if cond.noise > 0:
        img += rng.normal(0, cond.noise, img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if cond.jpeg_quality:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, cond.jpeg_quality])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out
