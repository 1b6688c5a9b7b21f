"""Reviewed alerts as a zip for the next training round, in YOLO's layout where it can be.

The edge sends no boxes, only pictures, so the export is honest about what it knows:

- ``false_positive/images/<event>.jpg`` with an *empty* ``false_positive/labels/<event>.txt``:
  a picture with no object of any class, which YOLO trainers take as it is (a background
  image, a hard negative: what the detector mistook for fishing);
- ``confirmed/images/<event>.jpg`` without labels: real fishing, still to be boxed in a
  labelling tool (classes ``person, fishing_rod, net, boat``, in that order) before training;
- ``manifest.csv``: one line per alert (event, order, box, camera, zone, type, verdict, reason,
  reviewer, time, picture, sha256, and why a picture is missing), and ``README.md``.

Pictures are the alerts' clean snapshots (the annotated ones have boxes drawn into them,
which a model must not learn from); an alert without one is listed, not pictured.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import IO

from api.evidence import CONTENT_TYPES, EvidenceMissing, EvidenceStore
from dispatch.reviews import ReviewedSample
from dispatch.schemas import AnalystVerdict

ROOT = "fishwatch-reviews"
MANIFEST_COLUMNS = ("event_id", "order_id", "device", "camera", "zone", "type", "verdict",
                    "reason", "reviewer", "reviewed_utc", "image", "sha256", "missing")

README = """# Reviewed fishwatch alerts

Exported {at} UTC: {pictured} pictures of {total} reviewed alerts ({negatives} false positives,
{positives} confirmed). `manifest.csv` lists every alert, pictured or not.

## Layout

- `false_positive/images/` + `false_positive/labels/` (empty .txt files): background images in
  YOLO format. Copy both folders' files into your dataset's `images/train` and `labels/train`
  as hard negatives: what the detector wrongly took for fishing.
- `confirmed/images/`: real fishing, **without labels**. The edge boxes send pictures, not
  boxes, so draw the boxes in a labelling tool that writes YOLO labels (classes `person,
  fishing_rod, net, boat`, in that order) before adding them to a training set. Do not train
  on them unlabelled: YOLO would learn them as pictures with nothing in them.

Pictures are the clean snapshots (without drawings). An alert without one, or whose file
is missing from the evidence store, is in the manifest with the reason in `missing`.
"""


def write_dataset(samples: Sequence[ReviewedSample], store: EvidenceStore, out: IO[bytes], *,
                  at: datetime) -> int:
    """Write the zip into ``out``; returns the number of pictures in it."""
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(MANIFEST_COLUMNS)
    pictured = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for sample in samples:
            folder = sample.verdict.value
            name, missing = "", ""
            if sample.image is None:
                missing = "the edge sent no clean snapshot"
            else:
                name = (f"{folder}/images/{sample.event_id}"
                        f"{CONTENT_TYPES.get(sample.image.content_type, '.jpg')}")
                try:
                    with store.open(sample.image.storage_key) as reader, \
                            archive.open(f"{ROOT}/{name}", "w", force_zip64=True) as target:
                        while chunk := reader.read(1 << 20):
                            target.write(chunk)
                except EvidenceMissing:
                    name, missing = "", "the picture is missing from the evidence store"
            if name:
                pictured += 1
                if sample.verdict is AnalystVerdict.FALSE_POSITIVE:
                    archive.writestr(f"{ROOT}/{folder}/labels/{sample.event_id}.txt", "")
            writer.writerow([sample.event_id, sample.order_id, sample.device, sample.camera,
                             sample.zone, sample.type.value, sample.verdict.value,
                             _no_formula(sample.reason), sample.reviewer,
                             sample.reviewed_at.isoformat(timespec="seconds"), name,
                             sample.image.sha256 if name and sample.image else "", missing])
        archive.writestr(f"{ROOT}/manifest.csv", manifest.getvalue())
        negatives = sum(s.verdict is AnalystVerdict.FALSE_POSITIVE for s in samples)
        archive.writestr(f"{ROOT}/README.md", README.format(
            at=at.strftime("%Y-%m-%d %H:%M"), pictured=pictured, total=len(samples),
            negatives=negatives, positives=len(samples) - negatives))
    return pictured


def _no_formula(text: str) -> str:
    """A free-text cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
