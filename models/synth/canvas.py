"""A drawing surface that knows which object owns each pixel, so labels follow occlusion exactly."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detector.classes import CLASS_NAMES

Point = tuple[float, float]
Color = tuple[int, int, int]

#: Below these sizes an object is not labelled: a detector cannot be asked to find it.
MIN_BOX_SIDE_PX = 3.0
MIN_ROD_LENGTH_PX = 14.0
MIN_BOX_AREA_PX = 24.0
#: Objects with less than this share of their pixels visible (occluded or outside the frame)
#: are not labelled.
MIN_VISIBLE_FRACTION = 0.35

OWN_THRESHOLD = 64  # anti-aliased coverage (of 255) from which a pixel belongs to an object
SHIFT = 4  # cv2 sub-pixel drawing: coordinates are multiplied by 2**SHIFT
_ONE = 1 << SHIFT


@dataclass(frozen=True)
class Label:
    """One labelled object: class id, its visible box in frame pixels and its track id."""

    class_id: int
    xyxy: tuple[float, float, float, float]
    track_id: int = 0  # the caller's track id (videos), else the canvas object id

    @property
    def class_name(self) -> str:
        return CLASS_NAMES[self.class_id]

    def to_yolo(self, width: int, height: int) -> str:
        x0, y0, x1, y1 = self.xyxy
        cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
        w, h = (x1 - x0) / width, (y1 - y0) / height
        return f"{self.class_id} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points, dtype=np.float64) * _ONE).astype(np.int32)


class Canvas:
    """A BGR float image plus a per-pixel owner map.

    Every drawing call names an owner: ``0`` is scenery, a positive id is an object that may be
    labelled. Later calls paint over earlier ones in both the image and the owner map, so the
    visible part of each object is exactly the set of pixels it still owns at the end. Extents are
    tracked on a margin around the frame so that objects cut by the frame edge are measured whole.
    """

    def __init__(self, background: np.ndarray, margin: int = 64) -> None:
        self.height, self.width = background.shape[:2]
        self.margin = margin
        self.image = background.astype(np.float32, copy=True)
        self.owner = np.zeros((self.height, self.width), dtype=np.int32)
        self._classes: dict[int, int] = {}
        self._tracks: dict[int, int] = {}
        self._full_area: dict[int, int] = {}
        self._scratch = np.zeros((self.height + 2 * margin, self.width + 2 * margin), np.uint8)

    def new_object(self, class_id: int | None, track_id: int | None = None) -> int:
        """Register an object; ``class_id=None`` makes a distractor that is drawn but not labelled.

        ``track_id`` names the object across the frames of a video (default: its object id).
        """
        object_id = len(self._classes) + 1
        self._classes[object_id] = -1 if class_id is None else class_id
        self._tracks[object_id] = object_id if track_id is None else track_id
        self._full_area[object_id] = 0
        return object_id

    # --- primitives -------------------------------------------------------------------------
    def polygon(self, points: np.ndarray, color: Color, owner: int = 0, alpha: float = 1.0) -> None:
        self._paint(
            lambda m, off: cv2.fillPoly(m, [_fixed(points + off)], 255, cv2.LINE_AA, SHIFT),
            color,
            owner,
            alpha,
        )

    def line(
        self,
        p0: Point,
        p1: Point,
        thickness: float,
        color: Color,
        owner: int = 0,
        alpha: float = 1.0,
    ) -> None:
        t = max(1, round(thickness))

        def draw(m: np.ndarray, off: np.ndarray) -> None:
            a, b = _fixed(np.array(p0) + off), _fixed(np.array(p1) + off)
            cv2.line(m, tuple(map(int, a)), tuple(map(int, b)), 255, t, cv2.LINE_AA, SHIFT)

        self._paint(draw, color, owner, alpha if thickness >= 1 else alpha * thickness)

    def polyline(
        self, points: np.ndarray, thickness: float, color: Color, owner: int = 0, alpha: float = 1.0
    ) -> None:
        t = max(1, round(thickness))
        self._paint(
            lambda m, off: cv2.polylines(
                m, [_fixed(points + off)], False, 255, t, cv2.LINE_AA, SHIFT
            ),
            color,
            owner,
            alpha if thickness >= 1 else alpha * thickness,
        )

    def ellipse(
        self,
        center: Point,
        axes: tuple[float, float],
        angle: float,
        color: Color,
        owner: int = 0,
        alpha: float = 1.0,
        start: float = 0,
        end: float = 360,
        thickness: float = -1,
    ) -> None:
        t = -1 if thickness < 0 else max(1, round(thickness))

        def draw(m: np.ndarray, off: np.ndarray) -> None:
            c = _fixed(np.array(center) + off)
            ax = _fixed(np.maximum(np.array(axes), 0.5))
            cv2.ellipse(
                m,
                (int(c[0]), int(c[1])),
                (int(ax[0]), int(ax[1])),
                angle,
                start,
                end,
                255,
                t,
                cv2.LINE_AA,
                SHIFT,
            )

        self._paint(draw, color, owner, alpha)

    def circle(
        self, center: Point, radius: float, color: Color, owner: int = 0, alpha: float = 1.0
    ) -> None:
        self.ellipse(center, (radius, radius), 0, color, owner, alpha)

    # --- core -------------------------------------------------------------------------------
    def _paint(self, draw, color: Color, owner: int, alpha: float) -> None:
        m = self._scratch
        m.fill(0)
        off = np.array([self.margin, self.margin], dtype=np.float64)
        draw(m, off)
        x, y, w, h = cv2.boundingRect(m)
        if w == 0:
            return
        if owner:
            self._full_area[owner] += int(
                np.count_nonzero(m[y : y + h, x : x + w] >= OWN_THRESHOLD)
            )
        # Clip the touched rectangle to the frame.
        fx0, fy0 = max(x - self.margin, 0), max(y - self.margin, 0)
        fx1, fy1 = min(x + w - self.margin, self.width), min(y + h - self.margin, self.height)
        if fx0 >= fx1 or fy0 >= fy1:
            return
        sub = m[fy0 + self.margin : fy1 + self.margin, fx0 + self.margin : fx1 + self.margin]
        a = sub.astype(np.float32) * (alpha / 255.0)
        region = self.image[fy0:fy1, fx0:fx1]
        region += (np.asarray(color, np.float32) - region) * a[..., None]
        if alpha >= 0.5:
            self.owner[fy0:fy1, fx0:fx1][sub >= OWN_THRESHOLD] = owner

    def labels(self) -> list[Label]:
        """Visible boxes of the labelled objects that pass the size and visibility rules."""
        result = []
        for object_id, class_id in self._classes.items():
            if class_id < 0 or self._full_area[object_id] == 0:
                continue
            visible = self.owner == object_id
            count = int(np.count_nonzero(visible))
            if count == 0 or count < MIN_VISIBLE_FRACTION * self._full_area[object_id]:
                continue
            x, y, w, h = cv2.boundingRect(visible.astype(np.uint8))
            if w * h < MIN_BOX_AREA_PX:
                continue
            if CLASS_NAMES[class_id] == "fishing_rod":
                if np.hypot(w, h) < MIN_ROD_LENGTH_PX:
                    continue
            elif min(w, h) < MIN_BOX_SIDE_PX:
                continue
            result.append(
                Label(
                    class_id,
                    (float(x), float(y), float(x + w), float(y + h)),
                    self._tracks[object_id],
                )
            )
        return result

    def to_bgr(self) -> np.ndarray:
        return np.clip(self.image, 0, 255).astype(np.uint8)
