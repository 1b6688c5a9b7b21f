"""Evidence files of one event: annotated and clean snapshot JPEGs and an MP4 clip, hashed.

Lives in ``streams`` because it is file and video I/O beside the packet ring and the clip writer;
``detector`` stays pure (the annotated picture is drawn there and handed in as an array). Every
file is written under a temporary name and renamed, so the uplink never sends half a file, and its
sha256 goes into the event, so the centre can show that the evidence was not altered on the way.

Frames are only kept while an event is open and may still change its best frame, and only so many
of them (:class:`BestFrames`): a 1080p frame is 6 MB, and a box has little memory.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from streams.clip import write_clip
from streams.ring import PacketSnapshot

SNAPSHOT_NAME = "snapshot.jpg"  # annotated
FRAME_NAME = "frame.jpg"  # clean
CLIP_NAME = "clip.mp4"
_UNSAFE = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class EvidenceFile:
    """A written evidence file: where, its sha256 and its size in bytes."""

    path: Path
    sha256: str
    bytes: int

    @classmethod
    def of(cls, path: Path) -> EvidenceFile:
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return cls(path, digest, path.stat().st_size)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "bytes": self.bytes}


def _write_atomic(path: Path, data: bytes) -> EvidenceFile:
    tmp = path.with_name(f".{path.name}.part")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # the event that names the hash must not outlive the bytes
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return EvidenceFile(path, hashlib.sha256(data).hexdigest(), len(data))


class EvidenceWriter:
    """Writes the evidence of one camera's events into ``folder/<event id>/``.

    Example:
        >>> writer = EvidenceWriter(Path("/var/lib/fishwatch/evidence/pier-3"))
        >>> snapshot, frame = writer.write_images(event_id, clean, annotated)
        >>> clip = writer.write_clip(event_id, camera.snapshot(start - 10, start + 10))
    """

    def __init__(self, folder: Path, *, jpeg_quality: int = 85) -> None:
        if not 1 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be within 1..100, got {jpeg_quality}")
        self.folder = Path(folder)
        self.jpeg_quality = jpeg_quality

    def event_folder(self, event_id: str) -> Path:
        folder = self.folder / _UNSAFE.sub("_", event_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write_images(
        self, event_id: str, clean: np.ndarray, annotated: np.ndarray
    ) -> tuple[EvidenceFile, EvidenceFile]:
        """(annotated snapshot, clean frame) as JPEGs, replacing earlier ones of the event."""
        folder = self.event_folder(event_id)
        return (
            _write_atomic(folder / SNAPSHOT_NAME, self._jpeg(annotated)),
            _write_atomic(folder / FRAME_NAME, self._jpeg(clean)),
        )

    def write_clip(self, event_id: str, snapshot: PacketSnapshot | None) -> EvidenceFile | None:
        """The buffered video as MP4 (remuxed, or encoded for MJPEG/raw); None without video."""
        if snapshot is None:
            return None
        info = write_clip(snapshot, self.event_folder(event_id) / CLIP_NAME)
        return EvidenceFile.of(info.path)

    def _jpeg(self, image: np.ndarray) -> bytes:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise ValueError(f"cannot encode a {image.dtype} {image.shape} image as JPEG")
        return encoded.tobytes()


class BestFrames:
    """The frame each open event would use as its snapshot, for at most ``limit`` events.

    When more events are open than that, the one held longest is let go: its evidence stays as
    last written. Used by one thread.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self._frames: OrderedDict[str, tuple[float, np.ndarray]] = OrderedDict()

    def hold(self, event_id: str, stream_s: float, frame: np.ndarray) -> None:
        self._frames[event_id] = (stream_s, frame)
        self._frames.move_to_end(event_id)
        while len(self._frames) > self.limit:
            self._frames.popitem(last=False)

    def get(self, event_id: str) -> tuple[float, np.ndarray] | None:
        """(stream seconds, frame) held for the event, or None."""
        return self._frames.get(event_id)

    def release(self, event_id: str) -> None:
        self._frames.pop(event_id, None)

    def __len__(self) -> int:
        return len(self._frames)
