"""Message catalogue for all UI text, in Dutch (the default) and English.

Texts live in ``data/messages.yaml``: one entry per message key, with a text
for every language in :data:`LANGUAGES`. The catalogue is checked when it is
loaded, so a key that lacks a language fails at once instead of falling back
silently to the other language.

Numbers are formatted with a small formatter (decimal comma and a full stop
between thousands in Dutch), because Babel is not a dependency of the project.
"""

from __future__ import annotations

import logging
import math
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from geo_dashboard.errors import ConfigError, UnknownIdError
from geo_dashboard.paths import package_data

logger = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

# Decimal mark and thousands separator per language.
_SEPARATORS: dict[str, tuple[str, str]] = {"nl": (",", "."), "en": (".", ",")}

# Units that have no space between the number and the unit.
_UNITS_WITHOUT_SPACE = {"%"}


def load_messages(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Read and check a message catalogue.

    Parameters
    ----------
    path
        YAML file that maps each message key to ``{language: text}``; the
        packaged ``messages.yaml`` by default.

    Returns
    -------
    dict
        Message key to a mapping of language code to text.

    Raises
    ------
    ConfigError
        If the file is not a mapping, a key lacks a language or has an extra
        one, a text is empty, or the languages use different ``{placeholders}``.
    """
    path = path or package_data("messages.yaml")
    with open(path, encoding="utf-8") as stream:
        raw = yaml.safe_load(stream)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"message catalogue {path} must map message keys to texts per language"
        )

    messages: dict[str, dict[str, str]] = {}
    for key, texts in raw.items():
        if not isinstance(texts, dict):
            raise ConfigError(
                f"message catalogue {path}: key {key!r} must map languages to "
                f"texts ({', '.join(LANGUAGES)})"
            )
        missing = [language for language in LANGUAGES if language not in texts]
        extra = sorted(set(texts) - set(LANGUAGES))
        if missing or extra:
            raise ConfigError(
                f"message catalogue {path}: key {key!r} lacks language(s) "
                f"{missing} or has unknown language(s) {extra}; "
                f"give exactly {', '.join(LANGUAGES)}"
            )
        for language in LANGUAGES:
            text = texts[language]
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(
                    f"message catalogue {path}: key {key!r} has an empty or "
                    f"non-text {language!r} text"
                )
        fields = {language: placeholders(texts[language]) for language in LANGUAGES}
        if len({frozenset(names) for names in fields.values()}) > 1:
            raise ConfigError(
                f"message catalogue {path}: key {key!r} uses different "
                f"placeholders per language: {fields}"
            )
        messages[str(key)] = {language: texts[language] for language in LANGUAGES}
    logger.debug("loaded %d messages from %s", len(messages), path)
    return messages


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    # The main catalogue plus one ``messages_<feature>.yaml`` per app feature;
    # a key may be defined in one file only.
    messages = load_messages()
    for path in sorted(package_data("messages.yaml").parent.glob("messages_*.yaml")):
        extra = load_messages(path)
        clashes = sorted(set(extra) & set(messages))
        if clashes:
            raise ConfigError(
                f"message catalogue {path} repeats key(s) {', '.join(clashes[:5])} "
                "that another catalogue file already defines; keep one of them"
            )
        messages.update(extra)
    return messages


def placeholders(text: str) -> set[str]:
    """Return the names of the ``{placeholders}`` in a message text."""
    return {
        name
        for _, name, _, _ in string.Formatter().parse(text)
        if name is not None and name != ""
    }


def check_language(language: str) -> str:
    """Return ``language`` if it is supported, else raise a ValueError."""
    if language not in LANGUAGES:
        raise ValueError(
            f"language {language!r} is not supported; use one of {', '.join(LANGUAGES)}"
        )
    return language


def has_message(key: str) -> bool:
    """Return whether the catalogue defines ``key``."""
    return key in _catalogue()


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """Return the text of message ``key`` in ``language``.

    Parameters
    ----------
    key
        Message key, e.g. ``"overview.title"``.
    language
        ``"nl"`` or ``"en"``.
    **params
        Values for the ``{placeholders}`` in the text.

    Raises
    ------
    UnknownIdError
        If the catalogue has no message ``key``.
    ValueError
        If ``language`` is not supported.
    KeyError
        If the text uses a placeholder that ``params`` does not give.
    """
    check_language(language)
    texts = _catalogue().get(key)
    if texts is None:
        raise UnknownIdError(
            f"message key {key!r} is not in the message catalogue; "
            "add it to geo_dashboard/data/messages.yaml in every language"
        )
    text = texts[language]
    return text.format(**params) if params else text


def translate_value(prefix: str, value: object, language: str) -> str:
    """Return the label of a data value, such as a crop group or layer role.

    The message key is ``"<prefix>.<value>"``. Data files can contain values
    that have no label yet, so an unknown value is returned as it is (and
    logged) instead of raising like :func:`translate`.
    """
    key = f"{prefix}.{value}"
    if has_message(key):
        return translate(key, language)
    logger.debug("no label for %s; showing the value as it is", key)
    return str(value)


# Type names of pandas' missing-value markers pd.NA and pd.NaT. They are
# compared by name, so this module does not need to import pandas.
_PANDAS_MISSING_TYPES = {"NAType", "NaTType"}


def is_missing(value: object) -> bool:
    """Return whether ``value`` is None, NaN, pd.NA or pd.NaT: there is no number."""
    if value is None or type(value).__name__ in _PANDAS_MISSING_TYPES:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def default_decimals(value: float) -> int:
    """Return a number of decimals that suits the size of ``value``."""
    size = abs(value)
    if size >= 100 or size == 0:
        return 0
    if size >= 10:
        return 1
    return 2


def format_number(
    value: float | None, language: str, decimals: int | None = None
) -> str:
    """Format a number with the decimal mark and grouping of ``language``.

    Parameters
    ----------
    value
        The number; None or NaN gives the "no data" text, never ``0``.
    language
        ``"nl"`` (``1.234,5``) or ``"en"`` (``1,234.5``).
    decimals
        Digits after the decimal mark; chosen from the size when None.
    """
    check_language(language)
    if is_missing(value):
        return translate("value.missing", language)
    number = float(value)  # type: ignore[arg-type]
    places = default_decimals(number) if decimals is None else decimals
    text = f"{number:,.{places}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    decimal_mark, group_mark = _SEPARATORS[language]
    return text.translate(str.maketrans({",": group_mark, ".": decimal_mark}))


def translate_unit(unit: str, language: str) -> str:
    """Return ``unit`` as written in ``language`` (``jr`` is ``yr`` in English)."""
    check_language(language)
    if language == "en":
        return unit.replace("/jr", "/yr")
    return unit


def format_value(
    value: float | None,
    unit: str,
    language: str,
    decimals: int | None = None,
) -> str:
    """Format a number with its unit, e.g. ``"5,20 µg/m³"`` or ``"58,5%"``.

    A missing value gives the "no data" text without a unit. The unit
    ``index`` is left out because the number alone is the index.
    """
    if is_missing(value):
        return translate("value.missing", language)
    number = format_number(value, language, decimals)
    if not unit or unit == "index":
        return number
    unit_text = translate_unit(unit, language)
    separator = "" if unit in _UNITS_WITHOUT_SPACE else "\u00a0"
    return f"{number}{separator}{unit_text}"
