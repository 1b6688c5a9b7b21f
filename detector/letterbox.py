"""Letterboxing: fit a frame into the model input without distorting it, and map boxes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

PAD_VALUE = 114  # the grey both Ultralytics and YOLOX train with; other values cost accuracy


class Placement(StrEnum):
    """Where the resized image sits; must match training or boxes shift."""

    CENTER = "center"  # Ultralytics / YOLOv5
    TOP_LEFT = "top_left"  # YOLOX


@dataclass(frozen=True)
class LetterboxSpec:
    """What a model expects as input: size, placement and pixel encoding."""

    input_hw: tuple[int, int]
    placement: Placement = Placement.CENTER
    rgb: bool = True  # Ultralytics/YOLOv5 take RGB, YOLOX takes BGR
    unit_range: bool = True  # pixels scaled to 0..1 (Ultralytics/YOLOv5) or left 0..255 (YOLOX)
    pad_value: int = PAD_VALUE


@dataclass(frozen=True)
class Letterbox:
    """How one frame was letterboxed: per-axis scale and the padding before the image."""

    frame_hw: tuple[int, int]
    scale_x: float
    scale_y: float
    pad_left: int
    pad_top: int

    def to_frame(self, xyxy: np.ndarray) -> np.ndarray:
        """Map (N, 4) boxes from letterboxed input pixels to frame pixels, clipped to the frame."""
        h, w = self.frame_hw
        out = np.empty((len(xyxy), 4), np.float32)
        out[:, 0::2] = np.clip((xyxy[:, 0::2] - self.pad_left) / self.scale_x, 0, w)
        out[:, 1::2] = np.clip((xyxy[:, 1::2] - self.pad_top) / self.scale_y, 0, h)
        return out


def letterbox(frame: np.ndarray, spec: LetterboxSpec) -> tuple[np.ndarray, Letterbox]:
    """Resize ``frame`` (H, W, 3 uint8) keeping aspect ratio and pad it to ``spec.input_hw``."""
    in_h, in_w = spec.input_hw
    h, w = frame.shape[:2]
    ratio = min(in_h / h, in_w / w)
    # Each convention's own rounding, so the model sees exactly what it saw in validation.
    if spec.placement is Placement.CENTER:
        new_w, new_h = max(1, round(w * ratio)), max(1, round(h * ratio))
        left, top = round((in_w - new_w) / 2 - 0.1), round((in_h - new_h) / 2 - 0.1)
    else:
        new_w, new_h = max(1, int(w * ratio)), max(1, int(h * ratio))
        left, top = 0, 0
    resized = (
        frame
        if (new_h, new_w) == (h, w)
        else cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    )
    out = np.full((in_h, in_w, 3), spec.pad_value, np.uint8)
    out[top : top + new_h, left : left + new_w] = resized
    return out, Letterbox((h, w), new_w / w, new_h / h, left, top)


def preprocess(
    frames: Sequence[np.ndarray], spec: LetterboxSpec
) -> tuple[np.ndarray, list[Letterbox]]:
    """Letterbox BGR frames into one NCHW float32 tensor encoded the way the model wants."""
    in_h, in_w = spec.input_hw
    batch = np.empty((len(frames), 3, in_h, in_w), np.float32)
    boxes = []
    for i, frame in enumerate(frames):
        image, box = letterbox(frame, spec)
        channels = image[..., ::-1] if spec.rgb else image
        batch[i] = channels.transpose(2, 0, 1)
        boxes.append(box)
    if spec.unit_range:
        batch *= np.float32(1 / 255)
    return batch, boxes
