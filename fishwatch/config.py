"""The one configuration tree: a YAML file validated by pydantic, with errors that point at lines.

Each part of fishwatch owns a section; every model forbids unknown keys so that a typo is an
error rather than a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from detector.classes import CLASS_NAMES

#: The model fishwatch ships; paths in a config are relative to the config file.
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "fishwatch-yolo11n.onnx"


class ConfigError(ValueError):
    """A config file that cannot be used; ``str()`` lists every problem, one per line."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(StrictModel):
    """Which detector to run and how to read its output."""

    path: Path = Field(DEFAULT_MODEL, description="ONNX (or .pt with the train extra) model file")
    class_map: Literal["identity", "coco"] | dict[str, str] = Field(
        "identity", description="model class names → fishwatch classes: identity, coco or a map"
    )
    output_format: Literal["ultralytics", "yolov5", "yolox"] | None = Field(
        None, description="output tensor layout; detected from the file when left out"
    )
    conf_threshold: Annotated[float, Field(ge=0, le=1)] = 0.25
    iou_threshold: Annotated[float, Field(gt=0, le=1)] = 0.45
    threads: Annotated[int, Field(ge=1, le=64, description="ONNX Runtime intra-op threads")] = 2

    @field_validator("class_map")
    @classmethod
    def _known_targets(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for source, target in value.items():
                if target not in CLASS_NAMES:
                    raise ValueError(
                        f"{source!r} maps to {target!r}, which is not a fishwatch "
                        f"class ({', '.join(CLASS_NAMES)})"
                    )
        return value


class FishwatchConfig(StrictModel):
    """The root of the config file."""

    model: ModelConfig = ModelConfig()

    def resolve_paths(self, base: Path) -> FishwatchConfig:
        """Make relative file paths relative to the config file's folder."""
        path = self.model.path if self.model.path.is_absolute() else base / self.model.path
        return self.model_copy(update={"model": self.model.model_copy(update={"path": path})})


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Line (1-based) of the YAML node at ``loc``, or of the deepest ancestor that exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def load_config(path: Path) -> FishwatchConfig:
    """Read and validate ``path``; raises :class:`ConfigError` naming the file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(
            f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the config must be a mapping of sections, not {type(data).__name__}"
        )
    try:
        config = FishwatchConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
            field = ".".join(str(p) for p in loc) or "(root)"
            line = _line_of(root, loc)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown setting (check the spelling)"
            lines.append(f"{path}:{line}: {field}: {message}")
        raise ConfigError("\n".join(lines)) from None
    return config.resolve_paths(path.resolve().parent)
