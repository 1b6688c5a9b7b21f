"""The pages' languages: Chinese first, English available; one message catalogue per language.

Catalogues are flat JSON files in ``api/locales/`` (``zh.json``, ``en.json``) that map a
message key to its text, with ``{name}`` placeholders. Templates call ``t("inbox.title")``;
enumerations (statuses, event types...) have keys ``<enum>.<value>`` through :meth:`label`.
Every catalogue must hold every key (``tests/api/pages/test_i18n.py`` checks it), so a missing
translation is a failing test, not a key shown to a user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

#: Languages with a catalogue, the first is the default.
LANGUAGES = ("zh", "en")
#: The cookie that keeps a visitor's choice before they sign in.
LANGUAGE_COOKIE = "fishwatch_lang"

LOCALES = Path(__file__).parent / "locales"


@cache
def messages(language: str) -> dict[str, str]:
    """The catalogue of ``language`` (read once per process)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for language {language!r} (have {', '.join(LANGUAGES)})")
    return json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Translator:
    """Texts in one language: ``t("key", name=value)``.

    Example:
        >>> t = Translator("en")
        >>> t("order.due", when="09:00")
        'due 09:00'
    """

    language: str

    def __call__(self, key: str, **params: object) -> str:
        text = messages(self.language).get(key)
        if text is None:
            raise KeyError(f"message {key!r} is not in the {self.language} catalogue")
        return text.format(**params) if params else text

    def label(self, value: StrEnum | str | None, enum: str | None = None) -> str:
        """The name of an enumeration value: ``label(OrderStatus.SIGNED)`` → 已签收."""
        if value is None:
            return ""
        group = enum or type(value).__name__
        return self(f"{group}.{value.value if isinstance(value, StrEnum) else value}")

    @property
    def html_lang(self) -> str:
        return {"zh": "zh-CN", "en": "en"}[self.language]


def pick_language(*choices: str | None) -> str:
    """The first supported language among ``choices`` (user setting, cookie, default)."""
    return next((c for c in choices if c in LANGUAGES), LANGUAGES[0])
