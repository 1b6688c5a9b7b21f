"""The model card: the JSON file beside each shipped model that says what it is and how good."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ModelCard(BaseModel):
    """What an edge box and a reader need to know about a model file."""

    model_config = ConfigDict(extra="allow")

    name: str
    file: str
    sha256: str
    classes: list[str]
    input_height: int
    input_width: int
    output_format: str
    architecture: str
    training: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    limitations: str = ""


def load_model_card(onnx_path: Path) -> ModelCard | None:
    """The card beside ``onnx_path`` (same stem, ``.json``), or None when there is none."""
    path = Path(onnx_path).with_suffix(".json")
    if not path.exists():
        return None
    try:
        return ModelCard.model_validate(json.loads(path.read_text()))
    except (json.JSONDecodeError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"{path}: not a valid model card: {first}") from exc
