"""The edge sections of the config: cameras, evidence, metrics, edge; mistakes name their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from fishwatch.config import ConfigError, load_config

SITE = """\
model:
  path: models/m.onnx
cameras:
  pier-3:
    source:
      url: rtsp://user:secret@10.0.0.5/stream1
      sample: {mode: fps, fps: 1}
    analysis:
      frame_size: [1280, 720]
      zones:
        bank: {coordinates: [[0, 400], [1280, 400], [1280, 720], [0, 720]], kinds: [no_fishing]}
      rules:
        loitering: {enabled: false}
    speaker:
      url: http://10.0.0.7/api/play
      body: {text: "{type} at {camera}"}
      leave_within_s: 45
  replay:
    source: {path: clips/replay.mp4, pace: fast}
evidence:
  folder: evidence
  pre_capture_s: 5
  post_capture_s: 15
metrics: {port: 9108}
edge: {max_batch: 2}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fishwatch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_site_config_loads_with_paths_beside_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SITE))
    pier, replay = config.cameras["pier-3"], config.cameras["replay"]
    assert pier.source.resolved_kind == "rtsp" and pier.analysis is not None
    assert pier.analysis.frame_size == (1280, 720)
    assert not pier.analysis.rules.loitering.enabled
    assert pier.speaker is not None and pier.speaker.leave_within_s == 45
    assert replay.analysis is None and replay.speaker is None
    assert replay.source.path == tmp_path / "clips" / "replay.mp4"
    assert config.evidence.folder == tmp_path / "evidence"
    assert (config.evidence.pre_capture_s, config.evidence.post_capture_s) == (5, 15)
    assert (config.metrics.port, config.edge.max_batch) == (9108, 2)


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (("pier-3:", "pier/3:"), r":5: cameras.pier/3: camera name 'pier/3'"),
        (
            ("[0, 400], [1280, 400]", "[0, 400], [1300, 400]"),
            r":9: cameras.pier-3.analysis: zone 'bank': corner \[1300, 400\] is outside the "
            r"1280x720 frame",
        ),
        (
            ("frame_size: [1280, 720]", "frame_sise: [1280, 720]"),
            r":9: cameras.pier-3.analysis.frame_sise: unknown setting",
        ),
        (("{type} at {camera}", "{kind}"), r":16: cameras.pier-3.speaker.body: unknown field"),
        (
            ("leave_within_s: 45", "leave_within_s: -1"),
            r":17: cameras.pier-3.speaker.leave_within_s: .*greater than 0",
        ),
        (
            ("{path: clips/replay.mp4, pace: fast}", "{pace: fast}"),
            r":19: cameras.replay.source: give exactly one of url, path or device",
        ),
        (
            ("url: rtsp://user:secret@10.0.0.5/stream1", "url: ftp://user:secret@10.0.0.5/s"),
            r"cameras.pier-3.source: cannot tell the kind of 'ftp://user:\*\*\*@10.0.0.5/s'",
        ),
        (
            ("post_capture_s: 15", "post_capture_s: 500"),
            r":23: evidence.post_capture_s: .*less than or equal to 120",
        ),
        (("port: 9108", "port: 70000"), r":24: metrics.port"),
        (("max_batch: 2", "max_batch: 8"), r":25: edge.max_batch: .*less than or equal to 4"),
    ],
)
def test_mistakes_name_their_line(tmp_path: Path, replace: tuple[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(write(tmp_path, SITE.replace(*replace)))
    assert "secret" not in str(caught.value)  # passwords never reach messages


def test_uplink_paths_are_beside_the_config_file(tmp_path: Path) -> None:
    text = SITE + (
        "uplink:\n  centre_url: https://centre.example\n  device_id: box-017\n"
        "  token_file: secrets/token\n  outbox_path: spool/outbox.db\n"
    )
    uplink = load_config(write(tmp_path, text)).uplink
    assert uplink is not None
    assert uplink.outbox_path == tmp_path / "spool" / "outbox.db"
    assert uplink.token_file == tmp_path / "secrets" / "token"
    assert uplink.evidence_path == tmp_path / "spool" / "evidence"
    with pytest.raises(ConfigError, match=r":27: uplink: give exactly one of token or token_file"):
        load_config(write(tmp_path, text.replace("  token_file: secrets/token\n", "")))
