"""Scenario videos: what is encoded (codec, GOP, size, frames) and the ground truth beside it."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import av
import numpy as np
import pytest

from detector.classes import CLASS_NAMES
from models.synth.scenarios import SCENARIOS, build_clip, render_scenario
from models.synth.video import EVENT_TYPES, Event, GroundTruth

W, H, SECONDS = 320, 180, 4.0
SAMPLES = Path(__file__).resolve().parents[2] / "sample_videos"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, GroundTruth]]:
    """Every scenario, small and short (the first 4 s), rendered once for the module."""
    root = tmp_path_factory.mktemp("clips")
    out = {}
    for name in SCENARIOS:
        path = root / f"{name}.mp4"
        out[name] = path, render_scenario(name, path, 1, width=W, height=H, duration_s=SECONDS)
    return out


def boxes_by_track(truth: GroundTruth) -> dict[int, list[tuple[int, str]]]:
    tracks: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for i, boxes in enumerate(truth.frames_boxes):
        for box in boxes:
            tracks[box.track_id].append((i, box.cls))
    return tracks


@pytest.mark.parametrize("name", SCENARIOS)
def test_encoded_as_an_ip_camera_sends_it(clips: dict, name: str) -> None:
    path, truth = clips[name]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (W, H)
        assert stream.average_rate == 25
        packets = [p for p in container.demux(stream) if p.size]
    assert len(packets) == truth.frames == round(SECONDS * 25)
    assert [i for i, p in enumerate(packets) if p.is_keyframe] == [0, 50]  # fixed 2 s GOP
    pts = [p.pts for p in packets]
    assert pts == sorted(pts)  # no B-frames: decode order is display order
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == truth.frames
    assert frames[0].format.name == "yuv420p"


@pytest.mark.parametrize("name", SCENARIOS)
def test_ground_truth_is_consistent(clips: dict, name: str) -> None:
    path, truth = clips[name]
    assert GroundTruth.from_json(path.with_suffix(".json").read_text()) == truth
    assert (truth.scenario, truth.seed, truth.width, truth.height, truth.fps) == (name, 1, W, H, 25)
    assert truth.duration_s == SECONDS and len(truth.frames_boxes) == truth.frames
    for boxes in truth.frames_boxes:
        for box in boxes:
            x0, y0, x1, y1 = box.xyxy
            assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
            assert box.cls in CLASS_NAMES
    for event in truth.events:
        assert event.type in EVENT_TYPES
        assert 0 <= event.start_s < event.end_s <= truth.duration_s
    for track in boxes_by_track(truth).values():
        assert len({cls for _, cls in track}) == 1  # a track id is one object
    assert {"bank", "water"} <= set(truth.zones)
    for polygon in truth.zones.values():
        assert all(0 <= x <= W and 0 <= y <= H for x, y in polygon)


def test_scenarios_show_their_actors_early(clips: dict) -> None:
    seen = {
        name: {b.cls for boxes in truth.frames_boxes for b in boxes}
        for name, (_, truth) in clips.items()
    }
    assert {"boat", "person"} <= seen["boat_intrusion"]
    assert {"fishing_rod", "person"} <= seen["night_angler"]
    assert "person" in seen["passers_by"]


def test_same_seed_same_truth_other_seed_other_scene(tmp_path: Path) -> None:
    def render(seed: int, name: str) -> GroundTruth:
        return render_scenario(
            "loiterer", tmp_path / name, seed, width=160, height=90, duration_s=8.0
        )

    a, b, c = render(3, "a.mp4"), render(3, "b.mp4"), render(4, "c.mp4")
    assert a.to_json() == b.to_json()
    assert a.frames_boxes != c.frames_boxes


def test_unknown_scenario_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"angler_arrives.*loiterer"):
        render_scenario("fishing_party", tmp_path / "x.mp4", 1)
    assert not (tmp_path / "x.mp4").exists()


def test_odd_frame_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        render_scenario("loiterer", tmp_path / "x.mp4", 1, width=321, height=180)


@pytest.mark.parametrize("name", SCENARIOS)
def test_natural_length_is_30_to_45_s(name: str) -> None:
    assert 30 <= build_clip(name, 1, W, H).duration_s <= 45


def test_camera_faults_black_then_frozen(tmp_path: Path) -> None:
    path = tmp_path / "fault.mp4"
    truth = render_scenario("camera_fault", path, 2, width=160, height=90)
    blackout, freeze = truth.events
    assert (blackout.fault, freeze.fault) == ("blackout", "freeze")
    with av.open(str(path)) as container:
        grey = [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]

    def frames(event: Event) -> range:
        return range(round(event.start_s * 25), round(event.end_s * 25))

    for i in frames(blackout):
        assert grey[i].mean() < 20 and truth.frames_boxes[i] == []
    frozen = frames(freeze)
    assert all(truth.frames_boxes[i] == truth.frames_boxes[frozen[0] - 1] for i in frozen)
    steps = [np.abs(grey[i] - grey[i - 1]).mean() for i in frozen[1:]]
    assert np.median(steps) < 0.05 and max(steps) < 3  # still, bar a keyframe's refresh
    assert grey[frozen[0] - 1].mean() > 40 and grey[frozen[-1] + 1].mean() > 40


# --- the committed sample set tells the story its README tells --------------------------------
EXPECTED_EVENTS = {
    "angler_arrives": ["angling"],
    "net_cast": ["net_fishing"],
    "boat_intrusion": ["boat_intrusion"],
    "passers_by": [],
    "night_angler": ["angling"],
    "camera_fault": ["camera_fault"] * 2,
    "loiterer": ["loitering"],
}


def sample(name: str) -> GroundTruth:
    return GroundTruth.from_json((SAMPLES / f"{name}.json").read_text())


@pytest.mark.parametrize("name", SCENARIOS)
def test_sample_clip_events(name: str) -> None:
    truth = sample(name)
    assert (SAMPLES / f"{name}.mp4").stat().st_size < 8_000_000
    assert (truth.width, truth.height, truth.fps, truth.seed) == (1280, 720, 25, 1)
    assert [e.type for e in truth.events] == EXPECTED_EVENTS[name]
    assert len(truth.frames_boxes) == truth.frames
    json.loads((SAMPLES / f"{name}.json").read_text())  # plain JSON for other tools


def test_sample_people_are_legible_and_passers_by_pass() -> None:
    for name in SCENARIOS:
        heights = [
            b.xyxy[3] - b.xyxy[1]
            for boxes in sample(name).frames_boxes
            for b in boxes
            if b.cls == "person"
        ]
        assert 60 <= np.median(heights) <= 250, name
    for frames in boxes_by_track(sample("passers_by")).values():
        assert (frames[-1][0] - frames[0][0]) / 25 <= 12


def test_sample_boat_stays_and_angler_sets_up_rods() -> None:
    (boat,) = sample("boat_intrusion").events
    assert boat.end_s - boat.start_s >= 15
    rods = {
        b.track_id
        for boxes in sample("angler_arrives").frames_boxes
        for b in boxes
        if b.cls == "fishing_rod"
    }
    assert 2 <= len(rods) <= 4
