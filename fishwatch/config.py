"""The one configuration tree: a YAML file validated by pydantic, with errors that point at lines.

Each part of fishwatch owns a section; every model forbids unknown keys so that a typo is an
error rather than a silently ignored setting.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, field_validator

from api.settings import CentreConfig
from detector.classes import CLASS_NAMES
from detector.settings import AnalysisSettings
from dispatch.settings import DispatchConfig
from fishwatch.common.strict import StrictModel
from streams.settings import CameraSourceConfig
from streams.speaker import SpeakerConfig
from streams.uplink_settings import UplinkSettings

#: The model fishwatch ships; paths in a config are relative to the config file.
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "fishwatch-yolo11n.onnx"


class ConfigError(ValueError):
    """A config file that cannot be used; ``str()`` lists every problem, one per line."""


class ModelConfig(StrictModel):
    """Which detector to run and how to read its output."""

    path: Path = Field(DEFAULT_MODEL, description="ONNX (or .pt with the train extra) model file")
    class_map: Literal["identity", "coco"] | dict[str, str] = Field(
        "identity", description="model class names → fishwatch classes: identity, coco or a map"
    )
    output_format: Literal["ultralytics", "yolov5", "yolox"] | None = Field(
        None, description="output tensor layout; detected from the file when left out"
    )
    conf_threshold: Annotated[float, Field(ge=0, le=1)] = Field(
        0.25, description="detections scoring lower are dropped before tracking"
    )
    iou_threshold: Annotated[float, Field(gt=0, le=1)] = Field(
        0.45, description="non-maximum suppression: boxes overlapping a better one this much "
        "(intersection over union) are dropped"
    )
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


#: Camera names become folder names and metric labels: letters, digits, '_', '-' and '.'.
_CAMERA_NAME = re.compile(r"[^\W_][\w.-]{0,63}")


def verify_camera_name(name: str) -> str:
    """A camera name must be usable as a folder name and a metric label."""
    if not _CAMERA_NAME.fullmatch(name):
        raise ValueError(
            f"camera name {name!r}: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


CameraName = Annotated[str, AfterValidator(verify_camera_name)]


class CameraConfig(StrictModel):
    """One camera: where its video comes from, how it is analysed, what answers an event."""

    source: CameraSourceConfig = Field(description="stream, file or USB device; sampling; faults")
    analysis: AnalysisSettings | None = Field(
        None,
        description="zones, filters, tracker, rules, events; left out: the whole frame is "
        "one zone where every rule applies, at the stream's own frame size",
    )
    speaker: SpeakerConfig | None = Field(
        None, description="loudspeaker warning when an event opens; left out: none"
    )


class EvidenceConfig(StrictModel):
    """Where event evidence goes and what it holds."""

    folder: Path = Field(
        Path("/var/lib/fishwatch/evidence"),
        description="evidence root, one folder per camera "
        "and event below it; relative paths are "
        "relative to the config file",
    )
    pre_capture_s: Annotated[float, Field(ge=0, le=120)] = Field(
        10.0, description="clip seconds before the event's start"
    )
    post_capture_s: Annotated[float, Field(ge=0, le=120)] = Field(
        10.0, description="clip seconds after the event's start"
    )
    jpeg_quality: Annotated[int, Field(ge=1, le=100)] = Field(85, description="snapshot quality")
    max_held_frames: Annotated[int, Field(ge=1, le=256)] = Field(
        16, description="open events whose best frame is kept in memory (≈3 MB each at 720p)"
    )


class MetricsConfig(StrictModel):
    """Prometheus metrics over HTTP (``/metrics``)."""

    port: Annotated[int, Field(ge=0, le=65535)] | None = Field(
        None, description="TCP port to serve on (0: any free port); left out: no metrics"
    )
    address: str = Field("127.0.0.1", description="address to listen on; 0.0.0.0 for all")


class EdgeConfig(StrictModel):
    """How the edge box runs its cameras."""

    max_batch: Annotated[int, Field(ge=1, le=4)] = Field(
        1,
        description="frames per detector call; on 2 cores a batch is no faster than single "
        "frames, and single frames keep each camera's latency lowest",
    )
    status_interval_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        10.0, description="seconds between status lines on the console"
    )
    camera_nice: Annotated[int, Field(ge=0, le=19)] = Field(
        10,
        description="how much lower the CPU priority of camera (decoding) threads is than the "
        "detector's, so the detector never waits for cores (Linux nice); 0: the same",
    )


class FishwatchConfig(StrictModel):
    """The root of the config file."""

    model: ModelConfig = ModelConfig()
    cameras: dict[CameraName, CameraConfig] = Field(default_factory=dict, description="by name")
    evidence: EvidenceConfig = EvidenceConfig()
    metrics: MetricsConfig = MetricsConfig()
    edge: EdgeConfig = EdgeConfig()
    uplink: UplinkSettings | None = Field(
        None, description="delivery to the centre; left out: event messages go to stdout"
    )
    dispatch: DispatchConfig = Field(
        default_factory=DispatchConfig, description="the centre: orders, routing, deadlines"
    )
    centre: CentreConfig = Field(
        default_factory=CentreConfig, description="the centre's web server: API, ingest, pages"
    )

    def resolve_paths(self, base: Path) -> FishwatchConfig:
        """Make relative file paths relative to the config file's folder."""

        def under(path: Path) -> Path:
            return path if path.is_absolute() else base / path

        cameras = {
            name: camera
            if camera.source.path is None
            else camera.model_copy(
                update={
                    "source": camera.source.model_copy(update={"path": under(camera.source.path)})
                }
            )
            for name, camera in self.cameras.items()
        }
        uplink = self.uplink
        if uplink is not None:
            uplink = uplink.model_copy(
                update={
                    "outbox_path": under(uplink.outbox_path),
                    "evidence_dir": uplink.evidence_dir and under(uplink.evidence_dir),
                    "token_file": uplink.token_file and under(uplink.token_file),
                }
            )
        return self.model_copy(
            update={
                "model": self.model.model_copy(update={"path": under(self.model.path)}),
                "evidence": self.evidence.model_copy(
                    update={"folder": under(self.evidence.folder)}
                ),
                "cameras": cameras,
                "uplink": uplink,
                "centre": self.centre.model_copy(
                    update={"evidence": self.centre.evidence.model_copy(
                        update={"folder": under(self.centre.evidence.folder)})}
                ),
            }
        )


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
