"""Which department an alert goes to: ordered rules, first match wins, then the fallback.

A rule matches on the camera's area and grid and the event's type and severity; an empty
list in a rule matches anything. So ``{areas: [north], types: [angling], department:
fishery-north}`` sends angling in the north to its fishery team, and a rule with only
``types: [camera_fault]`` sends every camera fault to IT.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.schemas import EventType, Severity
from dispatch.settings import RoutingConfig


@dataclass(frozen=True)
class Route:
    department: str
    #: Index of the rule that matched; None when the fallback was used.
    rule: int | None


class Router:
    """Route alerts with the configured rules.

    Example:
        >>> Router(config.routing).route(area="north", grid="A3", type=EventType.ANGLING,
        ...                              severity=Severity.HIGH)  # doctest: +SKIP
        Route(department='fishery-north', rule=0)
    """

    def __init__(self, routing: RoutingConfig) -> None:
        self.routing = routing

    def route(self, *, area: str, grid: str, type: EventType, severity: Severity) -> Route:
        for index, rule in enumerate(self.routing.rules):
            if ((not rule.areas or area in rule.areas)
                    and (not rule.grids or grid in rule.grids)
                    and (not rule.types or type in rule.types)
                    and (not rule.severities or severity in rule.severities)):
                return Route(rule.department, index)
        return Route(self.routing.fallback, None)
