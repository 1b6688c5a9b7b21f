from __future__ import annotations

import numpy as np
import pytest

from detector.detections import Detections
from detector.zones import (
    FrameSizeError,
    PolygonZone,
    ZoneKind,
    default_zones,
    is_simple_polygon,
)

BANK = frozenset({ZoneKind.NO_FISHING})


def _bottom_half() -> PolygonZone:
    return PolygonZone("bank", np.array([(0, 50), (100, 50), (100, 100), (0, 100)]), (100, 100),
                       BANK)


@pytest.mark.parametrize(
    ("points", "simple"),
    [
        ([(0, 0), (10, 0), (10, 10), (0, 10)], True),
        ([(0, 0), (10, 0), (5, 8)], True),
        ([(0, 0), (10, 0), (10, 10), (5, 2), (0, 10)], True),  # concave
        ([(0, 0), (10, 10), (10, 0), (0, 10)], False),  # bow tie
        ([(0, 0), (10, 0), (10, 10), (10, 0), (0, 10)], False),  # doubles back on an edge
        ([(0, 0), (10, 0)], False),
        ([], False),
    ],
)
def test_is_simple_polygon(points: list, simple: bool) -> None:
    assert is_simple_polygon(points) is simple


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        ((50, 75), True),
        ((50, 10), False),
        ((100, 100), True),  # a box touching the bottom-right corner of the frame
        ((0, 50), True),
        ((-1, 75), False),  # off the frame
        ((50, 101), False),
    ],
)
def test_contains(point: tuple[float, float], inside: bool) -> None:
    assert _bottom_half().contains(np.array([point])).tolist() == [inside]


def test_trigger_uses_bottom_centre_and_handles_empty() -> None:
    zone = _bottom_half()
    # Head above the zone, feet in it: in. Feet above it: out.
    d = Detections([[40, 20, 60, 70], [40, 0, 60, 40]], [0.9, 0.9], [0, 0])
    assert zone.trigger(d).tolist() == [True, False]
    assert zone.trigger(Detections.empty()).shape == (0,)
    assert zone.coverage(np.zeros((0, 4))).shape == (0,)


def test_coverage_is_the_share_of_the_box_over_the_zone() -> None:
    zone = _bottom_half()
    cover = zone.coverage(np.array([[0, 0, 100, 100], [10, 60, 20, 70], [10, 0, 20, 10]]))
    np.testing.assert_allclose(cover, [0.6, 1.0, 0.0])


def test_zone_arrays_are_read_only() -> None:
    zone = _bottom_half()
    assert zone.mask.shape == (100, 100) and zone.mask.dtype == bool
    with pytest.raises(ValueError, match="read-only"):
        zone.mask[0, 0] = True


@pytest.mark.parametrize(
    ("polygon", "size", "kinds", "message"),
    [
        ([(0, 0), (1, 1)], (10, 10), BANK, r"shape \(K >= 3, 2\)"),
        ([(0, 0), (20, 0), (0, 5)], (10, 10), BANK, "leaves the 10x10 frame"),
        ([(0, 0), (5, 0), (0, 5)], (0, 10), BANK, "frame size must be positive"),
        ([(0, 0), (5, 0), (0, 5)], (10, 10), frozenset(), "at least one kind"),
    ],
)
def test_invalid_zone(polygon: list, size: tuple[int, int], kinds: frozenset, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PolygonZone("z", np.array(polygon), size, kinds)


def test_frame_size_check_names_both_sizes() -> None:
    _bottom_half().check_frame_size(100, 100)
    with pytest.raises(FrameSizeError, match="drawn for 100x100 frames, got 1920x1080"):
        _bottom_half().check_frame_size(1920, 1080)


def test_default_zone_is_the_whole_frame_for_every_rule() -> None:
    (zone,) = default_zones(64, 48)
    assert zone.mask.all()
    assert zone.kinds == {ZoneKind.NO_FISHING, ZoneKind.WATER, ZoneKind.NO_BOAT}
