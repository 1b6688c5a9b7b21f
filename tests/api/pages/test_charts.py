"""The overview's SVG: the map places cameras by their coordinates, charts escape names."""

from __future__ import annotations

import re
from datetime import date

from api.pages.charts import bar_chart, checkpoint_map, trend_chart
from dispatch.stats import Checkpoint


def point(camera: str, lat: float | None, lon: float | None, orders: int = 1,
          overdue: int = 0) -> Checkpoint:
    return Checkpoint(device="box-1", camera=camera, place="<b>bank</b>", area="north",
                      lat=lat, lon=lon, orders=orders, open=orders, overdue=overdue)


def circles(svg: str) -> dict[str, tuple[float, float, str]]:
    found = re.findall(r'data-camera="([^"]+)"><circle cx="([\d.]+)" cy="([\d.]+)" r="[\d.]+" '
                       r'fill="(#\w+)"', svg)
    return {name: (float(x), float(y), fill) for name, x, y, fill in found}


def test_the_map_places_cameras_by_latitude_and_longitude() -> None:
    svg = str(checkpoint_map([point("west", 30.60, 114.20), point("east", 30.60, 114.40, 4, 1),
                              point("north", 30.70, 114.30), point("nowhere", None, None)],
                             label="map"))
    placed = circles(svg)
    assert set(placed) == {"west", "east", "north"}  # no coordinates, no dot
    assert placed["west"][0] < placed["north"][0] < placed["east"][0]
    assert placed["north"][1] < placed["west"][1] == placed["east"][1]  # north is up
    assert placed["east"][2] == "#b3261e" and placed["west"][2] == "#0b5d7a"  # overdue is red
    assert "<b>" not in svg and "&lt;b&gt;bank" in svg


def test_cameras_at_one_place_stay_apart_and_an_empty_map_says_so() -> None:
    placed = circles(str(checkpoint_map([point("a", 30.5, 114.3), point("b", 30.5, 114.3)],
                                        label="map")))
    assert placed["a"][:2] != placed["b"][:2]
    assert "<circle" not in str(checkpoint_map([point("x", None, 114.0)], label="map"))


def test_the_trend_has_a_column_per_day_and_bars_escape_names() -> None:
    svg = str(trend_chart({date(2026, 5, 2): 3}, date(2026, 5, 1), date(2026, 5, 7), label="t"))
    assert svg.count("<rect") == 7 and "2026-05-02: 3" in svg and "2026-05-07" in svg
    bars = str(bar_chart({"<script>": 2, "south": 5}, label="b"))
    assert "<script>" not in bars and bars.index("south") < bars.index("&lt;script&gt;")
