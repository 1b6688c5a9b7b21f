"""`fishwatch demo --once`: every sample video's ground-truth event becomes one order at the
centre, through the real edge agent, outbox, uplink, ingest endpoint and dispatch."""

from __future__ import annotations

import json
import socket
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from fishwatch.cli import app
from fishwatch.demo import CAMERAS, SAMPLE_VIDEOS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ground_truth() -> Counter[str]:
    events: Counter[str] = Counter()
    for camera in CAMERAS:
        truth = json.loads((SAMPLE_VIDEOS / f"{camera.name}.json").read_text())
        events.update(event["type"] for event in truth["events"])
    return events


def table_counts(output: str, heading: str) -> Counter[str]:
    lines = output[output.index(heading):].splitlines()[1:]
    counts: Counter[str] = Counter()
    for line in lines:
        if not line.startswith("  "):
            break
        name, number = line.split()
        if name != "total":
            counts[name] = int(number)
    return counts


def test_demo_once_turns_every_ground_truth_event_into_one_order(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--once", "--folder", str(folder),
                                      "--port", str(free_port())])
    assert result.exit_code == 0, result.output
    assert "parked" not in result.output, result.output
    assert table_counts(result.output, "events by type") == ground_truth(), result.output
    orders = table_counts(result.output, "orders by department")
    # Camera faults go to IT (the two faults of one camera minutes apart are one order with two
    # alerts), boats to the river police, the rest by the camera's area.
    assert orders == Counter({"fishery-north": 2, "fishery-south": 2, "it": 1,
                              "river-police": 1}), result.output
    assert "admin " in result.output and "/docs" in result.output  # the logins are printed
    assert (folder / "fishwatch.yaml").exists()
