"""The fixed checkpoint camera: where the horizon and the shore fall, and how big things are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraView:
    """A pinhole camera over a flat river plain.

    For a camera ``height_m`` above the ground, an upright object of ``size_m`` whose foot is on
    image row ``y`` appears ``(y - horizon_y) * size_m / height_m`` pixels tall: things far away
    (close to the horizon) are small.

    The shore is a gently curved line ``shore_y(x)``; below it lies the near bank (where people
    stand), between it and ``far_shore_y`` the water, above that the far bank and the sky.
    """

    width: int
    height: int
    horizon_y: float
    height_m: float
    far_shore_y: float
    shore_a: float
    shore_b: float
    shore_c: float
    shore_phase: float

    @classmethod
    def random(cls, rng: np.random.Generator, width: int, height: int) -> CameraView:
        horizon = rng.uniform(-0.12, 0.34) * height
        far_shore = max(horizon, 0) + rng.uniform(0.02, 0.12) * height
        if horizon < 0:
            far_shore = rng.uniform(-0.05, 0.08) * height  # camera tilted down: mostly water
        shore_mid = rng.uniform(max(far_shore / height + 0.25, 0.5), 0.86) * height
        slope = rng.uniform(-0.35, 0.35) * height / width
        return cls(
            width=width,
            height=height,
            horizon_y=horizon,
            height_m=float(rng.uniform(2.5, 9.0)),
            far_shore_y=far_shore,
            shore_a=shore_mid - slope * width / 2,
            shore_b=slope,
            shore_c=rng.uniform(0, 0.03) * height,
            shore_phase=rng.uniform(0, 2 * np.pi),
        )

    def shore_y(self, x: np.ndarray | float) -> np.ndarray | float:
        x = np.asarray(x, dtype=np.float64)
        wave = self.shore_c * np.sin(x / self.width * 2 * np.pi + self.shore_phase)
        return self.shore_a + self.shore_b * x + wave

    def pixels_per_metre(self, y: float) -> float:
        """Image scale of the ground plane at row ``y`` (pixels for one metre, upright)."""
        return max(y - self.horizon_y, 1.0) / self.height_m

    def water_mask(self) -> np.ndarray:
        ys = np.arange(self.height)[:, None]
        shore = self.shore_y(np.arange(self.width))[None, :]
        return (ys >= self.far_shore_y) & (ys < shore)

    def bank_mask(self) -> np.ndarray:
        ys = np.arange(self.height)[:, None]
        return ys >= self.shore_y(np.arange(self.width))[None, :]

    def random_bank_point(
        self,
        rng: np.random.Generator,
        depth: tuple[float, float] = (0.02, 0.3),
        x_range: tuple[float, float] = (0.05, 0.95),
    ) -> tuple[float, float]:
        """A ground point on the near bank, ``depth`` (fraction of the frame) below the shore."""
        x = rng.uniform(*x_range) * self.width
        shore = float(self.shore_y(x))
        y = shore + rng.uniform(*depth) * (self.height - shore + 0.1 * self.height)
        return x, y

    def random_water_point(
        self, rng: np.random.Generator, band: tuple[float, float] = (0.1, 0.95)
    ) -> tuple[float, float]:
        """A point on the water surface; ``band`` runs from the far shore (0) to the near (1)."""
        x = rng.uniform(0.02, 0.98) * self.width
        top = max(self.far_shore_y, 0.0)
        bottom = float(self.shore_y(x))
        return x, top + rng.uniform(*band) * max(bottom - top, 1.0)
