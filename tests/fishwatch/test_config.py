"""The config file: valid files load, every kind of mistake names its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from fishwatch.config import DEFAULT_MODEL, ConfigError, FishwatchConfig, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fishwatch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config == FishwatchConfig()
    assert config.model.path == DEFAULT_MODEL


def test_relative_model_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "model:\n  path: weights/m.onnx\n  class_map: coco\n"))
    assert config.model.path == tmp_path / "weights" / "m.onnx"
    assert config.model.class_map == "coco"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "model:\n  conf_threshold: 1.5\n",
            r"fishwatch.yaml:2: model.conf_threshold: .*less than or equal to 1",
        ),
        ("model:\n  treshold: 0.3\n", r"fishwatch.yaml:2: model.treshold: unknown setting"),
        ("modle: {}\n", r"fishwatch.yaml:1: modle: unknown setting"),
        (
            "model:\n  class_map: {cat: fish}\n",
            r"fishwatch.yaml:2: model.class_map.*'cat' maps to 'fish'",
        ),
        ("model:\n  output_format: yolov9\n", r"fishwatch.yaml:2: model.output_format"),
        ("model: [1, 2\n", r"fishwatch.yaml:\d+: not valid YAML"),
        ("- just\n- a list\n", r"must be a mapping"),
    ],
)
def test_mistakes_are_reported_with_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


def test_every_problem_is_listed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "model:\n  conf_threshold: -1\n  threads: 0\n"))
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["model.conf_threshold", "model.threads"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml")
