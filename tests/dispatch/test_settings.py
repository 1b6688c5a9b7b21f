"""The dispatch config section: defaults work, mistakes name the setting and the problem."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dispatch.schemas import EventType, NotificationKind, Severity
from dispatch.settings import DispatchConfig, SlaConfig, WebhookConfig


def test_defaults_are_a_working_config() -> None:
    config = DispatchConfig()
    assert config.routing.fallback == "centre"
    assert [d.code for d in config.departments] == ["centre"]
    assert config.personal_data_key is None


DEPARTMENTS = [{"code": "centre", "name": "C"}, {"code": "it", "name": "IT"}]


@pytest.mark.parametrize(("data", "message"), [
    ({"routing": {"fallback": "nowhere"}}, "routing.fallback: no department 'nowhere'"),
    ({"departments": DEPARTMENTS, "routing": {"rules": [{"department": "police"}]}},
     r"routing.rules\[0\].department: no department 'police'"),
    ({"departments": [*DEPARTMENTS, {"code": "it", "name": "again"}]}, "'it' appears twice"),
    ({"departments": [{"code": "centre", "name": "C", "supervisor": "x"}]},
     "supervisor 'x' is not a department"),
    ({"departments": [{"code": "centre", "name": "C", "supervisor": "it"},
                      {"code": "it", "name": "IT", "supervisor": "centre"}]},
     "cycle: centre → it → centre"),
    ({"departments": []}, "at least one department"),
    ({"departments": [{"code": "Bad Code", "name": "x"}]}, "should match pattern"),
    ({"sla": {"default": {"sign_within_min": 60, "resolve_within_min": 30}}},
     "must not be shorter than sign_within_min"),
    ({"sla": {"default": {"sign_within_min": 10, "resolve_within_min": 30,
                          "remind_before_min": 10}}}, "must be shorter than sign_within_min"),
    ({"sla": {"default": {"sign_within_min": 0, "resolve_within_min": 30}}},
     "greater than or equal to 1"),
    ({"personal_data_key": "not-a-key"}, "not a Fernet key"),
    ({"webhooks": [{"name": "w", "url": "https://x.example/h", "secret": "short"}]},
     "at least 16 characters"),
    ({"webhooks": [{"name": "w", "url": "https://x.example/h", "secret": "s" * 16}] * 2},
     "webhook names must be unique"),
    ({"dedup_window": 5}, "Extra inputs are not permitted"),
])
def test_mistakes_are_reported(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DispatchConfig.model_validate(data)


def test_first_matching_sla_rule_wins() -> None:
    sla = SlaConfig.model_validate({"rules": [
        {"types": ["angling"], "severities": ["high"], "sign_within_min": 5,
         "resolve_within_min": 30, "remind_before_min": 2},
        {"types": ["angling"], "sign_within_min": 15, "resolve_within_min": 60},
    ]})
    assert sla.rule_for(EventType.ANGLING, Severity.HIGH).sign_within_min == 5
    assert sla.rule_for(EventType.ANGLING, Severity.LOW).sign_within_min == 15
    assert sla.rule_for(EventType.BOAT_INTRUSION, Severity.HIGH) == sla.default


def test_webhooks_get_commission_notifications_only_when_asked() -> None:
    every = WebhookConfig(name="w", url="https://x.example/h", secret="s" * 16)
    assert every.wants(NotificationKind.ORDER_DISPATCHED)
    assert not every.wants(NotificationKind.CASE_OPENED)
    chosen = WebhookConfig(name="c", url="https://x.example/h", secret="s" * 16,
                           kinds=[NotificationKind.CASE_OPENED])
    assert chosen.wants(NotificationKind.CASE_OPENED)
    assert not chosen.wants(NotificationKind.ORDER_DISPATCHED)
