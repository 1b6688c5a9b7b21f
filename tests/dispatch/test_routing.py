"""Routing rules: first match wins, empty lists match anything, the fallback catches the rest."""

from __future__ import annotations

import pytest

from dispatch.routing import Route, Router
from dispatch.schemas import EventType, Severity
from dispatch.settings import DispatchConfig


@pytest.mark.parametrize(("area", "grid", "type", "severity", "expected"), [
    ("north", "N1", "angling", "low", Route("fishery-north", 2)),
    ("north", "N7", "net_fishing", "high", Route("fishery-north", 2)),
    ("north", "N1", "boat_intrusion", "high", Route("river-police", 1)),
    ("south", "S1", "camera_fault", "low", Route("it", 0)),
    ("south", "S2", "angling", "medium", Route("fishery-south", 3)),
    ("south", "S9", "angling", "medium", Route("centre", None)),
    ("", "", "loitering", "low", Route("centre", None)),
])
def test_first_matching_rule_wins(config: DispatchConfig, area: str, grid: str, type: str,
                                  severity: str, expected: Route) -> None:
    assert Router(config.routing).route(area=area, grid=grid, type=EventType(type),
                        severity=Severity(severity)) == expected


def test_no_rules_sends_everything_to_the_fallback() -> None:
    config = DispatchConfig.model_validate({"departments": [{"code": "it", "name": "IT"}],
                                            "routing": {"fallback": "it"}})
    router = Router(config.routing)
    assert router.route(area="north", grid="N1", type=EventType.ANGLING,
                        severity=Severity.HIGH) == Route("it", None)
