"""The message catalogues: the same keys in every language, and every key the pages use."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from api.i18n import LANGUAGES, Translator, messages, pick_language
from api.pages.orders import Tab
from api.pages.reviews import ReviewTab
from dispatch.orders import STEPS
from dispatch.schemas import (
    ActionKind,
    AnalystVerdict,
    CaseStatus,
    CaseTrigger,
    DisciplinaryOutcome,
    Disposition,
    EventType,
    OrderStatus,
    Role,
    Severity,
    WarningOutcome,
)

API = Path(__file__).resolve().parents[3] / "api"
LABELLED: list[type[StrEnum]] = [OrderStatus, EventType, Severity, Disposition, AnalystVerdict,
                                 WarningOutcome, ActionKind, CaseStatus, CaseTrigger,
                                 DisciplinaryOutcome, Role]


def used_keys() -> set[str]:
    """Message keys written literally in the templates and the page modules."""
    pattern = re.compile(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_0-9]+)+)["']""")
    files = [*(API / "templates").glob("*.html"), *(API / "pages").glob("*.py")]
    return {key for path in files for key in pattern.findall(path.read_text(encoding="utf-8"))}


def composed_keys() -> set[str]:
    """Keys the pages build from a prefix and a value."""
    keys = {f"inbox.tab.{tab.value}" for tab in Tab} | {f"review.tab.{t.value}" for t in ReviewTab}
    keys |= {f"done.{step}" for step in [*STEPS, "confirm", "file", "dismiss", "conclude",
                                         "user_created", "user_deactivated", "password_set",
                                         "token_issued", "token_revoked", "device_added"]}
    keys |= {f"error.{code}" for code in (400, 403, 404, 409, 422)} | {"error.csrf"}
    keys |= {f"{enum.__name__}.{member.value}" for enum in LABELLED for member in enum
             if member is not Role.SYSTEM}
    return keys


def test_every_language_has_every_key() -> None:
    zh, en = (set(messages(language)) for language in LANGUAGES)
    assert zh == en, f"only in zh: {sorted(zh - en)}; only in en: {sorted(en - zh)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_pages_use_is_translated(language: str) -> None:
    assert len(used_keys()) > 100  # the pattern still finds the pages' keys
    missing = (used_keys() | composed_keys()) - set(messages(language))
    assert not missing, f"{language} lacks {sorted(missing)}"


def test_texts_placeholders_and_labels() -> None:
    zh, en = Translator("zh"), Translator("en")
    assert (zh("order.round", n=2), en("order.round", n=2)) == ("第2轮", "round 2")
    assert (zh.label(OrderStatus.SIGNED), en.label(OrderStatus.SIGNED)) == ("已签收", "Signed for")
    assert zh.label("angling", "EventType") == "垂钓" and zh.label(None) == ""
    with pytest.raises(KeyError, match="not in the en catalogue"):
        en("no.such.key")
    assert (pick_language(None, "en", "zh"), pick_language("fr", None, "xx")) == ("en", "zh")
