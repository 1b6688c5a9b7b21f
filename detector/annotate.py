"""Evidence pictures: boxes, zones, camera and time drawn on a copy of a frame.

An officer who opens an event sees at a glance what the detector saw and where the rule applied,
so the snapshot carries the boxes (class colour, track id, score), the zone polygons and a header
with the camera, the local time and what was found. Pure: array in, new array out; the input frame
(read-only, shared between threads) is never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import cv2
import numpy as np

from detector.classes import CLASS_NAMES, FishwatchClass
from detector.detections import Detections
from detector.zones import PolygonZone, ZoneKind

#: BGR colour of each class: people yellow, rods red, nets magenta, boats orange.
CLASS_COLOURS: dict[int, tuple[int, int, int]] = {
    FishwatchClass.PERSON: (0, 220, 255),
    FishwatchClass.FISHING_ROD: (40, 40, 255),
    FishwatchClass.NET: (255, 60, 220),
    FishwatchClass.BOAT: (0, 140, 255),
}
#: BGR colour of a zone by its first listed kind (no-fishing banks green, water blue).
ZONE_COLOURS: dict[ZoneKind, tuple[int, int, int]] = {
    ZoneKind.NO_FISHING: (60, 200, 60),
    ZoneKind.WATER: (230, 160, 40),
    ZoneKind.NO_BOAT: (200, 100, 20),
    ZoneKind.IGNORE: (128, 128, 128),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _ascii(text: str) -> str:
    """OpenCV's Hershey fonts draw ASCII only; other characters become '?'."""
    return text.encode("ascii", "replace").decode("ascii")


class EvidenceAnnotator:
    """Draws detections, zones and a caption on a copy of a BGR frame.

    Line widths and text scale with the frame height, so a 1080p and a 360p snapshot read alike.

    Example:
        >>> annotator = EvidenceAnnotator()
        >>> picture = annotator.annotate(frame, detections, zones, camera="pier-3",
        ...                              time=datetime.now(UTC), caption="angling 0.87")
    """

    def __init__(self, *, zone_opacity: float = 0.18, text_scale: float = 1.0) -> None:
        if not 0 <= zone_opacity <= 1 or text_scale <= 0:
            raise ValueError("need 0 <= zone_opacity <= 1 and text_scale > 0")
        self.zone_opacity = zone_opacity
        self.text_scale = text_scale

    def annotate(
        self,
        frame: np.ndarray,
        detections: Detections,
        zones: Sequence[PolygonZone] = (),
        *,
        camera: str,
        time: datetime,
        caption: str | None = None,
    ) -> np.ndarray:
        """A new image: ``frame`` with ``zones`` shaded, ``detections`` boxed, a header on top."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"expected a BGR uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}"
            )
        image = frame.copy()
        unit = max(1, round(image.shape[0] / 360))  # 1 px at 360p, 2 at 720p, 3 at 1080p
        scale = 0.45 * unit * self.text_scale
        self._zones(image, zones, unit, scale)
        self._boxes(image, detections, unit, scale)
        header = f"{camera}  {time.isoformat(sep=' ', timespec='seconds')}"
        self._label(
            image,
            header if caption is None else f"{header}  {caption}",
            (0, 0),
            (255, 255, 255),
            scale,
            unit,
            below=True,
        )
        return image

    def _zones(
        self, image: np.ndarray, zones: Sequence[PolygonZone], unit: int, scale: float
    ) -> None:
        if not zones:
            return
        shade = image.copy()
        outlines = []
        for zone in zones:
            kind = next((k for k in ZoneKind if k in zone.kinds), ZoneKind.IGNORE)
            colour = ZONE_COLOURS[kind]
            points = np.round(zone.polygon).astype(np.int32)
            cv2.fillPoly(shade, [points], colour)
            outlines.append((zone.name, points, colour))
        cv2.addWeighted(shade, self.zone_opacity, image, 1 - self.zone_opacity, 0, dst=image)
        for name, points, colour in outlines:
            cv2.polylines(image, [points], True, colour, unit, cv2.LINE_AA)
            x, y = points.min(axis=0)
            self._label(image, name, (int(x), int(y) + 20 * unit), colour, scale, unit)

    def _boxes(self, image: np.ndarray, detections: Detections, unit: int, scale: float) -> None:
        for i in range(len(detections)):
            class_id = int(detections.class_id[i])
            colour = CLASS_COLOURS.get(class_id, (255, 255, 255))
            x1, y1, x2, y2 = (round(float(v)) for v in detections.xyxy[i])
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2 * unit, cv2.LINE_AA)
            name = CLASS_NAMES[class_id] if 0 <= class_id < len(CLASS_NAMES) else str(class_id)
            track = "" if detections.tracker_id is None else f" #{int(detections.tracker_id[i])}"
            text = f"{name}{track} {float(detections.confidence[i]):.2f}"
            self._label(image, text, (x1, y1), colour, scale, unit)

    @staticmethod
    def _label(
        image: np.ndarray,
        text: str,
        corner: tuple[int, int],
        colour: tuple[int, int, int],
        scale: float,
        unit: int,
        *,
        below: bool = False,
    ) -> None:
        """Text on a dark band above ``corner`` (below it with ``below``), kept on the image."""
        text = _ascii(text)
        (width, height), baseline = cv2.getTextSize(text, _FONT, scale, unit)
        pad = 3 * unit
        x = min(max(corner[0], 0), max(image.shape[1] - width - 2 * pad, 0))
        top = corner[1] if below else corner[1] - height - baseline - 2 * pad
        top = min(max(top, 0), max(image.shape[0] - height - baseline - 2 * pad, 0))
        bottom = top + height + baseline + 2 * pad
        cv2.rectangle(image, (x, top), (x + width + 2 * pad, bottom), (0, 0, 0), cv2.FILLED)
        cv2.putText(
            image, text, (x + pad, bottom - pad - baseline), _FONT, scale, colour, unit, cv2.LINE_AA
        )
