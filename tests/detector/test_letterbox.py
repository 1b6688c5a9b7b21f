from __future__ import annotations

import numpy as np
import pytest

from detector.letterbox import PAD_VALUE, Letterbox, LetterboxSpec, Placement, letterbox, preprocess

SIZES = [
    ((720, 1280), (416, 416)),  # landscape frame, square input
    ((480, 360), (416, 416)),  # portrait frame
    ((720, 1280), (384, 640)),  # rectangular input
    ((600, 500), (640, 384)),  # rectangular input, other way round
    ((416, 416), (416, 416)),  # no resize
]


def _forward(box: Letterbox, xyxy: np.ndarray) -> np.ndarray:
    """Frame pixels to input pixels, the inverse of Letterbox.to_frame."""
    out = xyxy.astype(np.float64).copy()
    out[:, 0::2] = out[:, 0::2] * box.scale_x + box.pad_left
    out[:, 1::2] = out[:, 1::2] * box.scale_y + box.pad_top
    return out


@pytest.mark.parametrize("placement", list(Placement))
@pytest.mark.parametrize(("frame_hw", "input_hw"), SIZES)
def test_painted_box_maps_back_to_where_it_was(
    placement: Placement, frame_hw: tuple[int, int], input_hw: tuple[int, int]
) -> None:
    frame = np.zeros((*frame_hw, 3), np.uint8)
    x1, y1, x2, y2 = 100, 60, frame_hw[1] - 80, frame_hw[0] - 40
    frame[y1:y2, x1:x2] = 255
    image, box = letterbox(frame, LetterboxSpec(input_hw, placement))

    assert image.shape == (*input_hw, 3) and image.dtype == np.uint8
    ys, xs = np.nonzero(image[..., 0] > 180)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    back = box.to_frame(found)[0]
    tolerance = 1.5 / min(box.scale_x, box.scale_y)  # one input pixel, plus resampling blur
    assert back == pytest.approx([x1, y1, x2, y2], abs=tolerance)

    original = np.array([[x1, y1, x2, y2], [0, 0, frame_hw[1], frame_hw[0]]], np.float32)
    assert box.to_frame(_forward(box, original)) == pytest.approx(original, abs=1e-3)


@pytest.mark.parametrize(("frame_hw", "input_hw"), SIZES)
def test_placement_and_padding(frame_hw: tuple[int, int], input_hw: tuple[int, int]) -> None:
    frame = np.zeros((*frame_hw, 3), np.uint8)
    for placement in Placement:
        image, box = letterbox(frame, LetterboxSpec(input_hw, placement))
        content_w = round(frame_hw[1] * box.scale_x)
        content_h = round(frame_hw[0] * box.scale_y)
        if placement is Placement.TOP_LEFT:
            assert (box.pad_left, box.pad_top) == (0, 0)
        else:
            assert abs(2 * box.pad_left + content_w - input_hw[1]) <= 1
            assert abs(2 * box.pad_top + content_h - input_hw[0]) <= 1
        pad = np.ones(input_hw, bool)
        pad[box.pad_top : box.pad_top + content_h, box.pad_left : box.pad_left + content_w] = False
        assert (image[pad] == PAD_VALUE).all() and (image[~pad] == 0).all()


def test_to_frame_clips_to_the_frame() -> None:
    box = Letterbox(frame_hw=(100, 200), scale_x=2.0, scale_y=2.0, pad_left=0, pad_top=50)
    out = box.to_frame(np.array([[-20, 0, 500, 300]], np.float32))
    assert out.tolist() == [[0, 0, 200, 100]]
    assert box.to_frame(np.empty((0, 4), np.float32)).shape == (0, 4)


def test_preprocess_encodes_per_format() -> None:
    blue = np.zeros((100, 200, 3), np.uint8)
    blue[..., 0] = 255  # BGR
    rgb, boxes = preprocess([blue, blue], LetterboxSpec((64, 64), Placement.CENTER))
    assert rgb.shape == (2, 3, 64, 64) and rgb.dtype == np.float32 and len(boxes) == 2
    assert rgb[0, :, 32, 32].tolist() == pytest.approx([0, 0, 1])
    assert rgb[0, 0, 0, 0] == pytest.approx(PAD_VALUE / 255)

    bgr, _ = preprocess(
        [blue], LetterboxSpec((64, 64), Placement.TOP_LEFT, rgb=False, unit_range=False)
    )
    assert bgr[0, :, 10, 10].tolist() == [255, 0, 0]
    assert bgr[0, 0, 63, 63] == PAD_VALUE
