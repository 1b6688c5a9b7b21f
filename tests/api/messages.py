"""Uplink messages as an edge box writes them (docs/uplink.md), for the ingest tests."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

EVENT_ID = "6f1c2a9e-0d8b-4c47-9a53-3f0c1d2e4b5a"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + os.urandom(3000)
JPEG_CLEAN = b"\xff\xd8\xff\xe0\x00\x10JFIF" + os.urandom(2500)
MP4 = b"\x00\x00\x00\x18ftypmp42" + os.urandom(40_000)
TYPES = {".jpg": "image/jpeg", ".mp4": "video/mp4"}


def document(revision: int = 1, *, event_id: str = EVENT_ID, files: dict[str, bytes] | None
             = None, **fields: Any) -> dict[str, Any]:
    """An event document as the box writes it, with entries for ``files`` (name: bytes)."""
    closed = fields.get("status") == "closed"
    doc: dict[str, Any] = {
        "device_id": "box-1", "event_id": event_id, "revision": revision, "camera": "cam-n1",
        "type": "net_fishing", "severity": "critical", "zone": "bank",
        "status": "open", "start": "2026-05-01T08:00:00.000Z",
        "end": "2026-05-01T08:00:30.000Z" if closed else None, "start_s": 0.0,
        "end_s": 30.0 if closed else None, "confidence": 0.9, "track_ids": [1],
        "model": {"name": "fishwatch-yolo11n", "version": "1.0"}, "outcome": None,
        "evidence": [{"kind": name.split(".")[0], "filename": name,
                      "content_type": TYPES[Path(name).suffix], "size": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()}
                     for name, data in (files or {}).items()]}
    doc.update(fields)
    return doc


def snapshots() -> dict[str, bytes]:
    return {"snapshot.jpg": JPEG, "snapshot_clean.jpg": JPEG_CLEAN}


def parts_of(doc: dict[str, Any], files: dict[str, bytes]) -> list[tuple[str, Any]]:
    """The multipart parts the box sends: the document, then one file per entry."""
    return [("event", (None, json.dumps(doc).encode(), "application/json")),
            *[(name.split(".")[0], (name, data, TYPES[Path(name).suffix]))
              for name, data in files.items()]]


def send(client: TestClient | httpx.Client, token: str, doc: dict[str, Any],
         files: dict[str, bytes] | None = None, *, parts: list[tuple[str, Any]] | None = None,
         key: str | None = "auto", **headers: str) -> httpx.Response:
    if key == "auto":
        key = f"{doc['event_id']}:{doc['revision']}"
    sent = {"Authorization": f"Bearer {token}", **headers}
    if key is not None:
        sent["Idempotency-Key"] = key
    return client.post("/api/v1/ingest/events", headers=sent,
                       files=parts if parts is not None else parts_of(doc, files or {}))
