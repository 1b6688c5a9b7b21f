"""The still renderer's labels: inside the frame, every class shows up, deterministic, and the
occlusion and size rules decide what is labelled."""

from __future__ import annotations

import numpy as np
import pytest

from detector.classes import CLASS_NAMES
from models.synth.canvas import (
    MIN_BOX_AREA_PX,
    MIN_BOX_SIDE_PX,
    MIN_ROD_LENGTH_PX,
    Canvas,
)
from models.synth.scene import render_still

W, H = 320, 180
PERSON, ROD = CLASS_NAMES.index("person"), CLASS_NAMES.index("fishing_rod")


@pytest.fixture(scope="module")
def stills() -> list:
    return [render_still(np.random.default_rng(seed), W, H) for seed in range(24)]


def test_boxes_lie_inside_the_frame_and_pass_the_size_rules(stills: list) -> None:
    for still in stills:
        assert still.image.shape == (H, W, 3) and still.image.dtype == np.uint8
        for label in still.labels:
            x0, y0, x1, y1 = label.xyxy
            assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
            w, h = x1 - x0, y1 - y0
            assert w * h >= MIN_BOX_AREA_PX
            if label.class_id == ROD:
                assert np.hypot(w, h) >= MIN_ROD_LENGTH_PX
            else:
                assert min(w, h) >= MIN_BOX_SIDE_PX
            yolo = [float(v) for v in label.to_yolo(W, H).split()[1:]]
            assert all(0 <= v <= 1 for v in yolo)


def test_every_class_appears_over_a_batch(stills: list) -> None:
    seen = {label.class_name for still in stills for label in still.labels}
    assert seen == set(CLASS_NAMES)


def test_same_seed_same_image_and_labels() -> None:
    a, b = (render_still(np.random.default_rng(7), W, H) for _ in range(2))
    assert np.array_equal(a.image, b.image)
    assert a.labels == b.labels


def blank() -> Canvas:
    return Canvas(np.full((H, W, 3), 100, np.float32))


def square(canvas: Canvas, x0: float, y0: float, x1: float, y1: float, owner: int = 0) -> None:
    canvas.polygon(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]), (20, 20, 20), owner)


def test_occluded_objects_keep_their_visible_box_until_mostly_hidden() -> None:
    canvas = blank()
    half_hidden, mostly_hidden = canvas.new_object(PERSON), canvas.new_object(PERSON)
    square(canvas, 20, 20, 60, 100, half_hidden)
    square(canvas, 100, 20, 140, 100, mostly_hidden)
    square(canvas, 40, 0, 80, 120)  # scenery in front: hides the right half of the first
    square(canvas, 90, 0, 135, 120)  # and nearly all of the second
    (label,) = canvas.labels()
    assert label.track_id == half_hidden
    x0, y0, x1, y1 = label.xyxy
    assert abs(x0 - 20) <= 1 and abs(x1 - 40) <= 1 and abs(y0 - 20) <= 1 and abs(y1 - 100) <= 1


def test_objects_mostly_outside_the_frame_or_tiny_are_not_labelled() -> None:
    canvas = blank()
    square(canvas, W - 10, 50, W + 50, 90, canvas.new_object(PERSON))  # a sixth in view
    square(canvas, 10, 10, 11, 40, canvas.new_object(PERSON))  # 1 px wide
    canvas.line((100, 100), (105, 102), 2, (0, 0, 0), canvas.new_object(ROD))  # a short rod
    canvas.line((150, 150), (200, 120), 2, (0, 0, 0), canvas.new_object(ROD))  # a real one
    square(canvas, 250, 50, 270, 90, canvas.new_object(None))  # distractor: drawn, not labelled
    assert [label.class_id for label in canvas.labels()] == [ROD]


def test_caller_track_ids_pass_through() -> None:
    canvas = blank()
    square(canvas, 20, 20, 60, 100, canvas.new_object(PERSON, track_id=42))
    square(canvas, 100, 20, 140, 100, canvas.new_object(PERSON))
    assert [label.track_id for label in canvas.labels()] == [42, 2]


def test_a_net_and_boat_heavy_mix_leans_without_breaking_the_rules() -> None:
    from models.synth.scene import SCENE_MIXES, STANDARD_MIX

    def counts(mix) -> dict[str, int]:
        found = {name: 0 for name in CLASS_NAMES}
        for seed in range(24):
            still = render_still(np.random.default_rng(seed), W, H, mix)
            for label in still.labels:
                found[label.class_name] += 1
        return found

    standard, leaning = counts(STANDARD_MIX), counts(SCENE_MIXES["nets-boats"])
    assert leaning["net"] > 1.4 * standard["net"] and leaning["boat"] > 1.4 * standard["boat"]
    same = render_still(np.random.default_rng(3), W, H, SCENE_MIXES["standard"])
    default = render_still(np.random.default_rng(3), W, H)
    assert np.array_equal(same.image, default.image)  # the held-out yardstick is untouched
