"""The model card: the JSON file beside a model that says what it is, how it was made, how good.

Training writes it (``models.training``); the run time reads it to name the model in events and to
find class names for exports that carry none.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


def sha256_of(path: Path) -> str:
    with Path(path).open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class ModelCard(BaseModel):
    """Every field is optional so that a hand-written card with just ``classes`` is valid."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    version: str | None = None
    file: str | None = None
    sha256: str | None = None
    classes: list[str] | None = None
    input_height: int | None = None
    input_width: int | None = None
    output_format: str | None = None
    architecture: str | None = None
    training: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    limitations: str | None = None

    @classmethod
    def beside(cls, model_path: Path) -> ModelCard:
        """The card ``<model>.json`` next to ``model_path``; an empty card when there is none.

        Raises ValueError with a one-line message when the file exists but is not a valid card.
        """
        path = Path(model_path).with_suffix(".json")
        if not path.is_file():
            return cls()
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"model card {path} is not JSON: {exc}") from None
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "card"
            raise ValueError(f"model card {path}: {where}: {error['msg']}") from None

    def write(self, model_path: Path) -> Path:
        path = Path(model_path).with_suffix(".json")
        path.write_text(json.dumps(self.model_dump(exclude_none=True), indent=2,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
        return path
