"""The ``dispatch:`` section of the config tree: database, departments, routing, deadlines.

Every model forbids unknown keys and bounds its numbers, so a typo or an absurd deadline is an
error when the file is loaded rather than a surprise weeks later. Checks that span several
objects (a rule naming a department that does not exist) run after the fields validate.
"""

from __future__ import annotations

from typing import Annotated

from cryptography.fernet import Fernet
from pydantic import (
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)

from dispatch.schemas import EventType, NotificationKind, Severity
from fishwatch.common.strict import StrictModel

#: Department codes and webhook names: short, lower-case, safe in URLs, file names and logs.
CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"

Code = Annotated[str, Field(pattern=CODE_PATTERN, description="lower-case code: a-z 0-9 _ . -")]


class DepartmentConfig(StrictModel):
    """A functional department that receives work orders."""

    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200, description="display name")]
    supervisor: Code | None = Field(
        None, description="code of the supervising department that escalations (督办) go to; "
                          "without one, escalations go to the dispatchers")


class RoutingRule(StrictModel):
    """Where alerts that match go; an empty list matches anything."""

    department: Code = Field(description="department code that receives matching alerts")
    areas: list[str] = Field([], description="camera areas (districts, river sections)")
    grids: list[str] = Field([], description="camera grid cells (网格)")
    types: list[EventType] = Field([], description="event types")
    severities: list[Severity] = Field([], description="event severities")


class RoutingConfig(StrictModel):
    """Rules are tried in order and the first match wins; nothing matched → fallback."""

    rules: list[RoutingRule] = []
    fallback: Code = Field("centre", description="department for alerts no rule matches")


class SlaRule(StrictModel):
    """Deadlines (minutes after dispatch) and chasing for the orders it matches."""

    types: list[EventType] = Field([], description="event types; empty matches all")
    severities: list[Severity] = Field([], description="severities; empty matches all")
    sign_within_min: Annotated[int, Field(ge=1, le=7 * 24 * 60, description="time to sign for")]
    resolve_within_min: Annotated[int, Field(ge=1, le=30 * 24 * 60,
                                             description="time to submit feedback")]
    remind_before_min: Annotated[int, Field(ge=0, le=24 * 60,
                                            description="reminder this long before each due "
                                                        "time; 0: no reminder")] = 10
    chase_every_min: Annotated[int, Field(ge=1, le=24 * 60,
                                          description="once overdue, chase (催办) this often")] = 30
    escalate_after_chases: Annotated[int, Field(ge=1, le=50,
                                                description="chases before escalating (督办) "
                                                            "to the supervising level")] = 2

    @model_validator(mode="after")
    def _ordered(self) -> SlaRule:
        if self.resolve_within_min < self.sign_within_min:
            raise ValueError(f"resolve_within_min ({self.resolve_within_min}) must not be shorter "
                             f"than sign_within_min ({self.sign_within_min})")
        if self.remind_before_min >= self.sign_within_min:
            raise ValueError(f"remind_before_min ({self.remind_before_min}) must be shorter than "
                             f"sign_within_min ({self.sign_within_min})")
        return self

    def matches(self, event_type: EventType, severity: Severity) -> bool:
        return ((not self.types or event_type in self.types)
                and (not self.severities or severity in self.severities))


class SlaConfig(StrictModel):
    """The first rule that matches an order's type and severity sets its deadlines."""

    rules: list[SlaRule] = []
    default: SlaRule = Field(SlaRule(sign_within_min=30, resolve_within_min=240),
                             description="deadlines of orders that no rule matches")

    def rule_for(self, event_type: EventType, severity: Severity) -> SlaRule:
        return next((r for r in self.rules if r.matches(event_type, severity)), self.default)


class CommissionConfig(StrictModel):
    """When a department's handling of an order is referred to the discipline commission."""

    overdue_hours: Annotated[float, Field(gt=0, le=24 * 90,
                                          description="resolve deadline exceeded by this many "
                                                      "hours opens a case")] = 24
    returns: Annotated[int, Field(ge=1, le=100,
                                  description="returns (退单) of one order that open a case")] = 3


class WebhookConfig(StrictModel):
    """A receiver of notifications: signed JSON POSTs, retried with exponential backoff."""

    name: Code
    url: HttpUrl = Field(description="where the POSTs go")
    secret: SecretStr = Field(description="HMAC-SHA256 key the receiver checks signatures with")
    kinds: list[NotificationKind] = Field(
        [], description="notification kinds to send; empty: every kind except the commission's "
                        "(case.*), which must be listed explicitly")
    timeout_s: Annotated[float, Field(gt=0, le=60,
                                      description="give up on one attempt after this long")] = 5.0
    max_attempts: Annotated[int, Field(ge=1, le=50,
                                       description="attempts before a delivery is marked "
                                                   "failed")] = 8
    backoff_s: Annotated[float, Field(gt=0, le=3600,
                                      description="delay before the first retry; doubles after "
                                                  "each failure")] = 10.0

    @field_validator("secret")
    @classmethod
    def _strong(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    def wants(self, kind: NotificationKind) -> bool:
        if self.kinds:
            return kind in self.kinds
        return not kind.commission_only


class DispatchConfig(StrictModel):
    """The dispatch centre: where alerts become work orders and who must act on them."""

    database_url: str = Field(
        "sqlite:///fishwatch-dispatch.db",
        description="SQLAlchemy URL: sqlite:///FILE (embedded) or "
                    "postgresql+psycopg://USER:PASSWORD@HOST/DB (production)")
    dedup_window_min: Annotated[int, Field(ge=0, le=24 * 60,
                                           description="an alert of the same camera and type "
                                                       "this soon after the last one attaches "
                                                       "to its open order")] = 30
    departments: list[DepartmentConfig] = [DepartmentConfig(code="centre", name="Dispatch centre")]
    routing: RoutingConfig = RoutingConfig()
    sla: SlaConfig = SlaConfig()
    commission: CommissionConfig = CommissionConfig()
    webhooks: list[WebhookConfig] = []
    personal_data_key: SecretStr | None = Field(
        None, description="Fernet key that encrypts the commission's personal data at rest; "
                          "create one with 'fishwatch dispatch keygen'")

    @field_validator("personal_data_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                Fernet(value.get_secret_value())
            except ValueError:
                raise ValueError("not a Fernet key (32 url-safe base64-encoded bytes); create one "
                                 "with 'fishwatch dispatch keygen'") from None
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> DispatchConfig:
        verify_departments(self.departments)
        known = {d.code for d in self.departments}
        for where, code in [("routing.fallback", self.routing.fallback),
                            *((f"routing.rules[{i}].department", r.department)
                              for i, r in enumerate(self.routing.rules))]:
            if code not in known:
                raise ValueError(f"{where}: no department {code!r} "
                                 f"(known: {', '.join(sorted(known))})")
        names = [w.name for w in self.webhooks]
        if len(set(names)) != len(names):
            raise ValueError(f"webhook names must be unique, got {names}")
        return self

    def webhook(self, name: str) -> WebhookConfig | None:
        return next((w for w in self.webhooks if w.name == name), None)


def verify_departments(departments: list[DepartmentConfig]) -> None:
    """Codes are unique and every supervisor chain ends without a cycle."""
    by_code: dict[str, DepartmentConfig] = {}
    for department in departments:
        if department.code in by_code:
            raise ValueError(f"department code {department.code!r} appears twice")
        by_code[department.code] = department
    if not by_code:
        raise ValueError("at least one department is needed (the routing fallback)")
    for department in departments:
        seen = [department.code]
        current = department
        while current.supervisor is not None:
            if current.supervisor not in by_code:
                raise ValueError(f"department {current.code!r}: supervisor "
                                 f"{current.supervisor!r} is not a department")
            if current.supervisor in seen:
                raise ValueError(f"departments supervise each other in a cycle: "
                                 f"{' → '.join([*seen, current.supervisor])}")
            seen.append(current.supervisor)
            current = by_code[current.supervisor]
