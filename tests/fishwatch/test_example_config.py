"""docs/fishwatch.example.yaml: the documented deployment loads, checks, and does what its
comments say."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from detector.zones import ZoneKind
from dispatch.routing import Router
from dispatch.schemas import EventType, Severity
from fishwatch.cli import app
from fishwatch.config import FishwatchConfig, load_config
from fishwatch.config_check import RULE_ZONE_KINDS, check_config

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "fishwatch.example.yaml"
EDGE_SECTIONS = ("model", "cameras", "evidence", "metrics", "edge", "uplink")
CENTRE_SECTIONS = ("dispatch", "centre")
#: What `config check` may legitimately find on a machine that is not the deployment's box:
#: the box's token file, and its folders under /var/lib where they cannot be created.
MACHINE_SPECIFIC = {"uplink.token_file", "evidence.folder", "uplink.outbox_path",
                    "uplink.evidence_dir"}


@pytest.fixture(scope="module")
def config() -> FishwatchConfig:
    return load_config(EXAMPLE)


def test_it_is_a_whole_deployment(config: FishwatchConfig) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert list(data) == [*EDGE_SECTIONS, *CENTRE_SECTIONS]
    assert list(config.cameras) == ["pier-3", "sluice-gate", "ferry-reach"]
    assert {c.source.resolved_kind for c in config.cameras.values()} == {"rtsp"}
    assert [c.source.sample.mode for c in config.cameras.values()] == [
        "keyframes", "fps", "every_n"]
    assert [c.speaker is not None for c in config.cameras.values()] == [True, False, False]
    assert config.uplink is not None and config.uplink.token_file is not None
    assert config.centre.evidence.backend == "s3"


def test_zones_are_pixels_of_a_1080p_picture_and_cover_every_kind(
        config: FishwatchConfig) -> None:
    kinds = set()
    for camera in config.cameras.values():
        assert camera.analysis is not None
        assert camera.analysis.frame_size == (1920, 1080)
        for zone in camera.analysis.zones.values():
            kinds.update(zone.kinds)
            assert all(0 <= x <= 1920 and 0 <= y <= 1080 for x, y in zone.coordinates)
    assert kinds == set(ZoneKind)


def test_every_enabled_rule_has_a_zone_it_can_fire_in(config: FishwatchConfig) -> None:
    for name, camera in config.cameras.items():
        assert camera.analysis is not None
        kinds = {k for zone in camera.analysis.zones.values() for k in zone.kinds}
        for rule, kind in RULE_ZONE_KINDS.items():
            if getattr(camera.analysis.rules, rule).enabled:
                assert kind in kinds, (name, rule)


def test_calendars_read_as_written(config: FishwatchConfig) -> None:
    sluice = config.cameras["sluice-gate"].analysis
    assert sluice is not None
    [night] = sluice.rules.loitering.calendar.hours
    assert (night.start.isoformat(), night.end.isoformat()) == ("20:00:00", "06:00:00")
    ferry = config.cameras["ferry-reach"].analysis
    assert ferry is not None
    [spring] = ferry.rules.boat_intrusion.calendar.periods
    assert spring.every_year and (spring.start.month, spring.end.month) == (3, 6)


def test_secrets_are_placeholders(config: FishwatchConfig) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "CHANGE-ME" in config.dispatch.database_url
    assert all("CHANGE-ME" in c.source.target for c in config.cameras.values())
    assert all(w.secret.get_secret_value().startswith("CHANGE-ME")
               for w in config.dispatch.webhooks)
    s3 = config.centre.evidence.s3
    assert s3 is not None and s3.access_key_id is not None and s3.secret_access_key is not None
    assert "CHANGE-ME" in s3.access_key_id.get_secret_value()
    assert "CHANGE-ME" in s3.secret_access_key.get_secret_value()
    key = config.dispatch.personal_data_key
    assert key is not None
    assert base64.urlsafe_b64decode(key.get_secret_value()) == b"EXAMPLE-ONLY-replace-with-keygen"
    assert "token:" not in text  # the device token lives in token_file


@pytest.mark.parametrize(("area", "grid", "type", "severity", "department"), [
    ("main-channel", "NM-03", EventType.CAMERA_FAULT, Severity.HIGH, "it"),
    ("sluice", "", EventType.NET_FISHING, Severity.CRITICAL, "water-police"),
    ("main-channel", "", EventType.BOAT_INTRUSION, Severity.HIGH, "maritime"),
    ("tributary", "", EventType.BOAT_INTRUSION, Severity.HIGH, "fishery"),
    ("sluice", "", EventType.ANGLING, Severity.MEDIUM, "water-bureau"),
    ("main-channel", "NM-03", EventType.LOITERING, Severity.LOW, "nanmen-town"),
    ("main-channel", "NM-03", EventType.ANGLING, Severity.MEDIUM, "fishery"),
    ("", "", EventType.LOITERING, Severity.LOW, "centre"),
])
def test_routing_does_what_the_docs_table_says(
        config: FishwatchConfig, area: str, grid: str, type: EventType, severity: Severity,
        department: str) -> None:
    route = Router(config.dispatch.routing).route(area=area, grid=grid, type=type,
                                                  severity=severity)
    assert route.department == department


def test_each_side_loads_on_its_own(tmp_path: Path, config: FishwatchConfig) -> None:
    """Split as the comments advise, each half keeps its own sections and needs nothing else."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    halves = {}
    for sections in (EDGE_SECTIONS, CENTRE_SECTIONS):
        half = tmp_path / f"{sections[0]}.yaml"
        half.write_text(yaml.safe_dump({k: data[k] for k in sections}, allow_unicode=True),
                        encoding="utf-8")
        halves[sections] = loaded = load_config(half)
        for section in sections:
            assert getattr(loaded, section) == getattr(config, section), section
    edge, centre = halves[EDGE_SECTIONS], halves[CENTRE_SECTIONS]
    assert edge.dispatch == FishwatchConfig().dispatch  # no database password on the box
    assert centre.cameras == {} and centre.uplink is None


def test_config_check_finds_nothing_but_the_boxs_own_files() -> None:
    """No schema problem, no warning; RTSP cameras are not contacted, so none is reported. What
    remains can only be the deployment box's token file and folders, missing on this machine."""
    report = check_config(EXAMPLE)
    assert not [p for p in report.problems if p.warning]
    assert {p.path for p in report.problems} <= MACHINE_SPECIFIC, report.render()
    token_file = Path("/etc/fishwatch/device-token")
    token_missing = not (token_file.is_file() and token_file.read_text().strip())
    assert any(p.path == "uplink.token_file" for p in report.problems) == token_missing
    assert report.summary == (
        "3 cameras, 10 zones, model fishwatch-yolo11n (person, fishing_rod, net, boat), "
        "8 departments, 7 routing rules, uplink to https://centre.fishwatch.example/ as jz-box-07")


def test_config_check_on_the_command_line_points_at_the_token_file() -> None:
    result = CliRunner().invoke(app, ["config", "check", str(EXAMPLE)])
    if Path("/etc/fishwatch/device-token").is_file():
        pytest.skip("this machine has a device token at the example's path")
    assert result.exit_code == 2
    assert "uplink.token_file: cannot read token_file /etc/fishwatch/device-token" in result.output
