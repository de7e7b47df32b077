"""Message catalogue for all UI text, in Dutch (the default) and English.

Texts live in gettext PO catalogues, ``locale/<language>/LC_MESSAGES/<domain>.po``,
with one domain per app feature. Each msgid is a message key such as
``"overview.title"`` and its msgstr is the text, with ``{name}`` placeholders
for :meth:`str.format`. The PO files are read with Babel when the catalogue
is first used, so no compiled ``.mo`` files are needed. The catalogue is
checked as it is loaded: a key that lacks a language, has an empty or fuzzy
text, or uses other placeholders in another language fails at once instead
of falling back silently to the other language.

Numbers and dates are formatted with Babel, so the locale rules (decimal
mark, grouping, percent sign, month names) come from CLDR.
"""

from __future__ import annotations

import copy
import io
import logging
import math
import re
import string
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.messages.pofile import PoFileError, read_po

from geo_dashboard.errors import ConfigError, UnknownIdError

logger = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

# CLDR locale per language: Dutch as written in the Netherlands, and British
# English for its day-month-year dates.
LOCALES: dict[str, str] = {"nl": "nl_NL", "en": "en_GB"}

# Folder with ``<language>/LC_MESSAGES/<domain>.po``.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Domain of the dashboard frame, the overview and the map. Each other domain
# belongs to one app feature.
MAIN_DOMAIN = "geo_dashboard"

# Units that have no space between the number and the unit.
_UNITS_WITHOUT_SPACE = {"%"}


def catalogue_path(domain: str, language: str, locale_dir: Path | None = None) -> Path:
    """Return the path of the PO catalogue of ``domain`` in ``language``."""
    return (locale_dir or LOCALE_DIR) / language / "LC_MESSAGES" / f"{domain}.po"


def list_domains(locale_dir: Path | None = None) -> list[str]:
    """Return the names of the domains that have a catalogue in any language."""
    root = locale_dir or LOCALE_DIR
    names = {
        path.stem
        for language in LANGUAGES
        for path in (root / language / "LC_MESSAGES").glob("*.po")
    }
    return sorted(names)


# A PO line: a comment, a blank line, a keyword with a quoted string, or a
# quoted string that continues the one above.
_PO_LINE = re.compile(
    r"""\s*(?:#.*|(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?"""
    r""""(?:[^"\\]|\\.)*"\s*)?"""
)


def _check_po_syntax(path: Path, source: str) -> None:
    # Babel's PO parser (2.19) drops the first and last character of a string
    # that lacks its quotes, so such a line would silently lose two letters.
    for number, line in enumerate(source.splitlines(), start=1):
        if not _PO_LINE.fullmatch(line):
            raise ConfigError(
                f"message catalogue {path} line {number} is not valid PO: {line!r}; "
                'write a keyword and a "quoted" string, or a "quoted" continuation'
            )


def read_catalogue(path: Path, language: str) -> dict[str, str]:
    """Read one PO catalogue and return its message keys and texts.

    Raises
    ------
    ConfigError
        If the file is missing or not valid PO, or an entry is a plural
        entry, has an empty text or is marked fuzzy (not yet reviewed).
    """
    if not path.is_file():
        raise ConfigError(
            f"message catalogue {path} is missing; every domain needs a catalogue "
            f"in every language ({', '.join(LANGUAGES)})"
        )
    try:
        source = path.read_text(encoding="utf-8")
        _check_po_syntax(path, source)
        catalog = read_po(io.StringIO(source), locale=language, abort_invalid=True)
    except (PoFileError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"message catalogue {path} is not a valid PO file: {err}"
        ) from err
    texts: dict[str, str] = {}
    for message in catalog:
        if not message.id:
            continue  # the header entry
        if not isinstance(message.id, str) or not isinstance(message.string, str):
            raise ConfigError(
                f"message catalogue {path}: key {message.id!r} is a plural entry; "
                "use one text with a {count} placeholder instead"
            )
        if not message.string.strip():
            raise ConfigError(
                f"message catalogue {path}: key {message.id!r} has no {language!r} "
                "text; translate it"
            )
        if message.fuzzy:
            raise ConfigError(
                f"message catalogue {path}: key {message.id!r} is marked fuzzy in "
                f"{language!r}; review the text and remove the fuzzy flag"
            )
        texts[message.id] = message.string
    return texts


def load_messages(
    domain: str = MAIN_DOMAIN, locale_dir: Path | None = None
) -> dict[str, dict[str, str]]:
    """Read and check the catalogues of one domain in every language.

    Parameters
    ----------
    domain
        Domain name: the file name of the catalogues without ``.po``.
    locale_dir
        Folder with ``<language>/LC_MESSAGES/<domain>.po``; the packaged
        ``locale`` folder by default.

    Returns
    -------
    dict
        Message key to a mapping of language code to text.

    Raises
    ------
    ConfigError
        If a catalogue is missing or invalid, a key lacks a language or has an
        empty text, or the languages use different ``{placeholders}``. The
        message names the file, the key and the language.
    """
    paths = {
        language: catalogue_path(domain, language, locale_dir) for language in LANGUAGES
    }
    texts = {
        language: read_catalogue(path, language) for language, path in paths.items()
    }
    keys: dict[str, None] = {}
    for language in LANGUAGES:
        keys.update(dict.fromkeys(texts[language]))

    messages: dict[str, dict[str, str]] = {}
    for key in keys:
        for language in LANGUAGES:
            if key not in texts[language]:
                raise ConfigError(
                    f"message catalogue {paths[language]} lacks key {key!r}: add "
                    f"its {language!r} text"
                )
        fields = {
            language: placeholders(texts[language][key]) for language in LANGUAGES
        }
        if len({frozenset(names) for names in fields.values()}) > 1:
            files = ", ".join(str(path) for path in paths.values())
            raise ConfigError(
                f"message catalogues {files}: key {key!r} uses different "
                f"placeholders per language: {fields}"
            )
        messages[key] = {language: texts[language][key] for language in LANGUAGES}
    logger.debug("loaded %d messages of domain %s", len(messages), domain)
    return messages


def load_catalogue(locale_dir: Path | None = None) -> dict[str, dict[str, str]]:
    """Read and check every domain and merge them into one catalogue.

    Raises
    ------
    ConfigError
        If a domain is invalid (see :func:`load_messages`) or a key is defined
        in two domains; the message names both files.
    """
    messages: dict[str, dict[str, str]] = {}
    owners: dict[str, str] = {}
    for domain in list_domains(locale_dir):
        for key, texts in load_messages(domain, locale_dir).items():
            if key in owners:
                first = catalogue_path(owners[key], DEFAULT_LANGUAGE, locale_dir)
                second = catalogue_path(domain, DEFAULT_LANGUAGE, locale_dir)
                raise ConfigError(
                    f"message key {key!r} is defined in both {first} and {second} "
                    "(and their other languages); keep it in one domain"
                )
            owners[key] = domain
            messages[key] = texts
    if not messages:
        raise ConfigError(
            f"no message catalogues found in {locale_dir or LOCALE_DIR}; expected "
            "<language>/LC_MESSAGES/<domain>.po files"
        )
    return messages


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    return load_catalogue()


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
            f"message key {key!r} is not in the message catalogue; add it to a "
            "catalogue in geo_dashboard/locale/<language>/LC_MESSAGES/ "
            f"in every language ({', '.join(LANGUAGES)})"
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


def babel_locale(language: str) -> Locale:
    """Return the CLDR locale of ``language`` (``nl_NL`` or ``en_GB``)."""
    check_language(language)
    return _locale(LOCALES[language])


@lru_cache(maxsize=len(LOCALES))
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def _format_fixed(
    number: Decimal, pattern_kind: str, language: str, places: int
) -> str:
    # Take the locale's own decimal or percent pattern (grouping, sign place)
    # and fix its number of decimals.
    locale = babel_locale(language)
    formats = (
        locale.percent_formats if pattern_kind == "percent" else locale.decimal_formats
    )
    pattern = copy.copy(formats[None])
    pattern.frac_prec = (places, places)
    if number.is_finite() and number.quantize(Decimal(1).scaleb(-places)) == 0:
        number = abs(number)  # no "-0,00" for a value that rounds to zero
    return pattern.apply(number, locale)


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
        Halves are rounded to even on the decimal value as Python prints it,
        so ``2.675`` gives ``2.68``.
    """
    check_language(language)
    if is_missing(value):
        return translate("value.missing", language)
    number = float(value)  # type: ignore[arg-type]
    places = default_decimals(number) if decimals is None else decimals
    return _format_fixed(Decimal(repr(number)), "decimal", language, places)


def format_percent(
    value: float | None, language: str, decimals: int | None = None
) -> str:
    """Format a value in percent (``58.5`` for 58.5 %) with the percent sign of CLDR.

    A missing value gives the "no data" text.
    """
    check_language(language)
    if is_missing(value):
        return translate("value.missing", language)
    number = float(value)  # type: ignore[arg-type]
    places = default_decimals(number) if decimals is None else decimals
    # The percent pattern multiplies by 100; Decimal keeps that exact.
    fraction = Decimal(repr(number)).scaleb(-2)
    return _format_fixed(fraction, "percent", language, places)


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
    ``index`` is left out because the number alone is the index, and ``%``
    is placed by the locale's percent pattern. Other units follow the number
    after a no-break space.
    """
    if is_missing(value):
        return translate("value.missing", language)
    if unit in _UNITS_WITHOUT_SPACE:
        return format_percent(value, language, decimals)
    number = format_number(value, language, decimals)
    if not unit or unit == "index":
        return number
    unit_text = translate_unit(unit, language)
    return f"{number}\u00a0{unit_text}"


def format_date(moment: date | datetime | None, language: str) -> str:
    """Format a date as CLDR's medium date of ``language`` (``1 mei 2024``).

    None gives an empty text, because a missing date (a cycle that is still
    open) is a blank cell and not missing data.
    """
    if moment is None:
        return ""
    return babel_format_date(moment, "medium", locale=babel_locale(language))


def format_datetime(moment: datetime | None, language: str) -> str:
    """Format a date and time to the minute, with its time zone.

    The result reads like ``1 mei 2024, 14:03 UTC`` in Dutch and
    ``1 May 2024, 14:03 UTC`` in English. None gives an empty text.
    """
    if moment is None:
        return ""
    locale = babel_locale(language)
    # NOTE: Babel takes a naive datetime as UTC, which is how the store and
    # the build manifest record times.
    day = babel_format_date(moment, "medium", locale=locale)
    time = babel_format_time(moment, "short", locale=locale)
    zone = babel_format_datetime(moment, "z", locale=locale)
    pattern = str(locale.datetime_formats["medium"]).replace("'", "")
    return pattern.replace("{1}", day).replace("{0}", time) + f" {zone}"
