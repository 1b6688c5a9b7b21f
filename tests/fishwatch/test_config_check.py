"""``fishwatch config check``: real broken files, every problem reported with its line and hint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fishwatch.cli import app
from fishwatch.config_check import CheckReport, check_config

REPO = Path(__file__).resolve().parents[2]
VIDEO = REPO / "sample_videos" / "angler_arrives.mp4"  # 1280x720


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(report: CheckReport) -> dict[str, tuple[int | None, str, str | None]]:
    """path → (line, message, hint) of every problem that is not a warning."""
    return {p.path: (p.line, p.message, p.hint) for p in report.problems if not p.warning}


def site(model: Path, *, camera: str = "", extra: str = "") -> str:
    return (f"model:\n  path: {model}\ncameras:\n  pier:\n    source: {{path: {VIDEO}}}\n"
            f"{camera}{extra}")


ZONES = """\
    analysis:
      frame_size: [1280, 720]
      zones:
        bank: {coordinates: [[0, 400], [1280, 400], [1280, 720]], kinds: [no_fishing]}
        river: {coordinates: [[0, 0], [1280, 0], [1280, 400]], kinds: [water, no_boat]}
"""


def test_a_sound_site_passes_with_a_summary(tmp_path: Path, blank_model: Path) -> None:
    path = write(tmp_path, site(blank_model, camera=ZONES))
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "ok: 1 camera, 2 zones, model blank (person, fishing_rod, net, boat)")


def test_every_schema_problem_is_listed_with_line_and_hint(tmp_path: Path) -> None:
    path = write(tmp_path, """\
model:
  class_map: cocoo
  treshold: 0.3
cameras:
  pier:
    source: {path: clip.mp4, pase: fast}
    analysis:
      frame_size: [640, 360]
      zones:
        bank: {coordinates: [[0, 0], [10, 0], [10, 10]], kinds: [no_fishng]}
""")
    found = problems(check_config(path))
    assert found["model.class_map"] == (
        2, "Input should be 'identity' or 'coco'",
        "did you mean 'coco'? (allowed values: identity, coco)")
    assert found["model.treshold"] == (
        3, "unknown setting (check the spelling)",
        "did you mean 'iou_threshold' or 'conf_threshold'?")
    assert found["cameras.pier.source.pase"][0] == 6
    assert found["cameras.pier.source.pase"][2] == "did you mean 'pace'?"
    line, message, hint = found["cameras.pier.analysis.zones.bank.kinds.0"]
    assert line == 10 and "no_fishing" in message
    assert hint is not None and hint.startswith("did you mean 'no_fishing'?")
    assert len(found) == 4  # class_map's other branch ("a valid dictionary") is noise


def test_a_missing_field_says_what_it_is_for(tmp_path: Path) -> None:
    path = write(tmp_path, "cameras:\n  pier:\n    source: {path: x.mp4}\n    analysis: {}\n")
    line, message, hint = problems(check_config(path))["cameras.pier.analysis.frame_size"]
    assert (line, message) == (4, "Field required")
    assert hint is not None and "[width, height] of the analysed frames" in hint


def test_the_cli_prints_file_line_path_message_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  conf_threshold: 2\n  threads: 0\n")
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == f"{path}:2: model.conf_threshold: Input should be less than or equal to 1"
    assert lines[1] == f"{path}:3: model.threads: Input should be greater than or equal to 1"
    assert lines[-1] == f"2 problems in {path}"


def test_missing_model_and_video_name_where_relative_paths_point(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  path: weights/m.onnx\ncameras:\n"
                           "  pier:\n    source: {path: clips/pier.mp4}\n")
    found = problems(check_config(path))
    assert found["model.path"] == (
        2, f"no such file: {tmp_path / 'weights' / 'm.onnx'}",
        f"'weights/m.onnx' is taken relative to the config file's folder ({tmp_path}), "
        "not the working folder")
    line, message, hint = found["cameras.pier.source.path"]
    assert (line, message) == (5, f"no such file: {tmp_path / 'clips' / 'pier.mp4'}")
    assert hint is not None and "'clips/pier.mp4' is taken relative" in hint


def test_a_model_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_text("not a model")
    found = problems(check_config(write(tmp_path, site(tmp_path / "m.onnx"))))
    line, message, _ = found["model.path"]
    assert line == 2 and "not a readable ONNX model" in message


def test_a_class_map_must_fit_the_models_classes(tmp_path: Path, blank_model: Path) -> None:
    path = write(tmp_path, site(blank_model).replace(
        "cameras:", "  class_map: {cat: person}\ncameras:", 1))
    line, message, _ = problems(check_config(path))["model.class_map"]
    assert line == 3 and "'cat': the model has no such class" in message


def test_the_video_frame_size_must_match_the_analysis(tmp_path: Path, blank_model: Path) -> None:
    camera = "    analysis:\n      frame_size: [640, 360]\n"
    path = write(tmp_path, site(blank_model, camera=camera))
    line, message, hint = problems(check_config(path))["cameras.pier.analysis.frame_size"]
    assert (line, message) == (7, "is 640x360 but the video's frames are 1280x720")
    assert hint is not None and hint.startswith("set frame_size to [1280, 720]")


def test_a_file_that_is_not_a_video(tmp_path: Path, blank_model: Path) -> None:
    (tmp_path / "notes.mp4").write_text("hello")
    path = write(tmp_path, site(blank_model).replace(str(VIDEO), "notes.mp4"))
    line, message, _ = problems(check_config(path))["cameras.pier.source.path"]
    assert line == 5 and message.startswith(f"cannot open {tmp_path / 'notes.mp4'} as a video")


def test_a_zone_outside_the_frame_points_at_its_coordinates(tmp_path: Path) -> None:
    path = write(tmp_path, """\
cameras:
  pier:
    source: {url: rtsp://cam/1}
    analysis:
      frame_size: [640, 360]
      zones:
        bank:
          kinds: [no_fishing]
          coordinates: [[0, 0], [700, 0], [640, 360]]
""")
    found = problems(check_config(path))
    assert found["cameras.pier.analysis.zones.bank.coordinates"] == (
        9, "zone 'bank': corner [700, 0] is outside the 640x360 frame",
        "zones are in pixels of analysis.frame_size; redraw them: fishwatch zones draw")


def test_rules_without_their_zone_kind_are_warnings(tmp_path: Path, blank_model: Path) -> None:
    camera = ZONES.replace("kinds: [water, no_boat]", "kinds: [water]")
    path = write(tmp_path, site(blank_model, camera=camera))
    report = check_config(path)
    assert report.ok
    (warning,) = report.problems
    assert warning.warning and warning.path == "cameras.pier.analysis.zones"
    assert warning.message == "no zone is no_boat, so the boat_intrusion rule can never fire"
    assert f"{path}:9: cameras.pier.analysis.zones: warning: no zone" in report.render()
    off = camera + "      rules: {boat_intrusion: {enabled: false}}\n"
    assert check_config(write(tmp_path, site(blank_model, camera=off))).problems == []


def test_routing_to_an_unknown_department_points_at_the_rule(tmp_path: Path) -> None:
    path = write(tmp_path, """\
dispatch:
  departments:
    - {code: centre, name: Centre}
    - {code: police, name: River police}
  routing:
    rules:
      - {department: police, types: [angling]}
      - {department: polise, types: [net_fishing]}
""")
    report = check_config(path)
    assert problems(report) == {"dispatch.routing.rules.1.department": (
        8, "no department 'polise' (known: centre, police)", "did you mean 'police'?")}


def test_uplink_token_file_must_exist_and_hold_a_token(tmp_path: Path) -> None:
    text = ("uplink:\n  centre_url: http://centre.local\n  device_id: box-1\n"
            "  token_file: secrets/token\n  outbox_path: outbox/outbox.db\n")
    path = write(tmp_path, text)
    line, message, hint = problems(check_config(path))["uplink.token_file"]
    assert line == 4 and "cannot read token_file" in message and "No such file" in message
    assert hint is not None and "'secrets/token' is taken relative" in hint
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("\n")
    assert "is empty" in problems(check_config(path))["uplink.token_file"][1]
    (tmp_path / "secrets" / "token").write_text("fw_device_token\n")
    report = check_config(path)
    assert report.ok
    assert report.summary == "0 cameras, 0 zones, uplink to http://centre.local/ as box-1"


def test_evidence_folders_must_be_creatable(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("a file where a folder should be")
    path = write(tmp_path, "centre:\n  evidence:\n    folder: store/evidence\n")
    line, message, _ = problems(check_config(path))["centre.evidence.folder"]
    assert line == 3
    assert message == f"cannot create {tmp_path / 'store' / 'evidence'}: " \
                      f"{tmp_path / 'store'} is a file, not a folder"


def test_keys_given_twice_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  threads: 2\n  threads: 4\nmetrics: {}\n")
    assert problems(check_config(path)) == {
        "model.threads": (3, "given twice; only the last one counts", None)}


def test_broken_sections_do_not_hide_problems_elsewhere(tmp_path: Path) -> None:
    path = write(tmp_path, """\
cameras:
  pier:
    source: {path: gone.mp4}
    analysis: {frame_size: [640, 360], zonez: {}}
  quay:
    source: {path: also-gone.mp4, lop: true}
metrics: {port: -1}
""")
    found = problems(check_config(path))
    assert sorted(found) == [
        "cameras.pier.analysis.zonez",  # schema error in pier's analysis...
        "cameras.pier.source.path",  # ...does not skip checking pier's source
        "cameras.quay.source.lop",  # quay's source is broken: its file is not looked for
        "metrics.port",
    ]
    assert [p.line for p in check_config(path).problems] == [3, 4, 6, 7]  # in file order


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model: [1, 2\n", r"site.yaml:\d+: \(file\): not valid YAML"),
        ("- a list\n", r"site.yaml:1: \(root\): the config must be a mapping of sections"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, expected: str) -> None:
    report = check_config(write(tmp_path, text))
    assert not report.ok and re.search(expected, report.render())


def test_a_missing_file(tmp_path: Path) -> None:
    report = check_config(tmp_path / "absent.yaml")
    assert report.render().splitlines()[0] == (
        f"{tmp_path / 'absent.yaml'}: (file): cannot read config: No such file or directory")
