"""Message catalogue and number formatting on the packaged messages."""

from __future__ import annotations

import math
import re
import typing
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from geo_dashboard import i18n
from geo_dashboard.config import ROLE_KINDS, ValuePoint
from geo_dashboard.crops import LAND_USES, UNKNOWN
from geo_dashboard.errors import ConfigError, UnknownIdError
from geo_dashboard.kpis import THEMES, load_kpi_library
from geo_dashboard.paths import package_data
from geo_dashboard.progress import Status

PACKAGE = Path(i18n.__file__).resolve().parent
# Modules whose translate() and t() calls read this catalogue.
CATALOGUE_USERS = (
    "maps.py",
    "overview.py",
    "app/common.py",
    "app/main.py",
    "app/views/map.py",
    "app/views/overview.py",
)
# Calls with a literal key: translate("key", ...), t("key", ...).
KEY_CALL = re.compile(r"""\b(?:translate|t)\(\s*(?:f?)["']([a-z0-9_.]+)["']""")


def _write_po(
    locale_dir: Path,
    domain: str,
    language: str,
    texts: dict[str, str],
    fuzzy: tuple[str, ...] = (),
) -> Path:
    """Write a PO catalogue with Babel, as a translation tool would save it."""
    catalog = Catalog(locale=language, domain=domain)
    for key, text in texts.items():
        catalog.add(key, text, flags=["fuzzy"] if key in fuzzy else [])
    path = i18n.catalogue_path(domain, language, locale_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as stream:
        write_po(stream, catalog)
    return path


def _write_domain(
    locale_dir: Path, domain: str, nl: dict[str, str], en: dict[str, str]
) -> None:
    _write_po(locale_dir, domain, "nl", nl)
    _write_po(locale_dir, domain, "en", en)


def test_catalogue_has_every_language() -> None:
    messages = i18n.load_catalogue()
    assert len(messages) > 600
    for key, texts in messages.items():
        assert set(texts) == set(i18n.LANGUAGES), key


def test_catalogue_domains_packaged() -> None:
    domains = i18n.list_domains()
    assert i18n.MAIN_DOMAIN in domains
    assert {"cycles", "scenarios", "export", "farms"} <= set(domains)
    for domain in domains:
        for language in i18n.LANGUAGES:
            assert i18n.catalogue_path(domain, language).is_file(), (domain, language)


def test_catalogue_every_key_in_both_languages() -> None:
    for domain in i18n.list_domains():
        nl = i18n.read_catalogue(i18n.catalogue_path(domain, "nl"), "nl")
        en = i18n.read_catalogue(i18n.catalogue_path(domain, "en"), "en")
        assert sorted(set(nl) ^ set(en)) == [], domain


def test_catalogue_placeholders_match() -> None:
    for key, texts in i18n.load_catalogue().items():
        assert i18n.placeholders(texts["nl"]) == i18n.placeholders(texts["en"]), key


def test_catalogue_dutch_comment_current() -> None:
    # The English catalogues show translators the Dutch text in a "nl:" comment.
    for domain in i18n.list_domains():
        nl = i18n.read_catalogue(i18n.catalogue_path(domain, "nl"), "nl")
        with open(i18n.catalogue_path(domain, "en"), "rb") as stream:
            catalog = read_po(stream, locale="en")
        for message in catalog:
            if not message.id:
                continue
            comment = " ".join(message.auto_comments)
            assert f"nl: {nl[message.id]}" in comment, (domain, message.id)


def test_catalogue_missing_language_rejected(tmp_path: Path) -> None:
    _write_po(tmp_path, "greetings", "nl", {"greeting": "Hallo", "bye": "Dag"})
    en_path = _write_po(tmp_path, "greetings", "en", {"greeting": "Hello"})
    with pytest.raises(ConfigError) as caught:
        i18n.load_messages("greetings", tmp_path)
    message = str(caught.value)
    assert str(en_path) in message
    assert "'bye'" in message
    assert "'en'" in message


def test_catalogue_missing_file_rejected(tmp_path: Path) -> None:
    _write_po(tmp_path, "greetings", "nl", {"greeting": "Hallo"})
    en_path = i18n.catalogue_path("greetings", "en", tmp_path)
    with pytest.raises(ConfigError, match=f"{re.escape(str(en_path))} is missing"):
        i18n.load_catalogue(tmp_path)


def test_catalogue_empty_text_rejected(tmp_path: Path) -> None:
    nl_path = _write_po(tmp_path, "greetings", "nl", {"greeting": ""})
    _write_po(tmp_path, "greetings", "en", {"greeting": "Hello"})
    with pytest.raises(ConfigError) as caught:
        i18n.load_messages("greetings", tmp_path)
    message = str(caught.value)
    assert str(nl_path) in message
    assert "'greeting' has no 'nl' text" in message


def test_catalogue_fuzzy_text_rejected(tmp_path: Path) -> None:
    _write_po(tmp_path, "greetings", "nl", {"greeting": "Hallo"})
    _write_po(tmp_path, "greetings", "en", {"greeting": "Hi"}, fuzzy=("greeting",))
    with pytest.raises(ConfigError, match="'greeting' is marked fuzzy in 'en'"):
        i18n.load_messages("greetings", tmp_path)


def test_catalogue_unquoted_text_rejected(tmp_path: Path) -> None:
    # Babel alone would read this msgstr as "ell".
    _write_po(tmp_path, "greetings", "nl", {"greeting": "Hallo"})
    en_path = i18n.catalogue_path("greetings", "en", tmp_path)
    en_path.parent.mkdir(parents=True)
    en_path.write_text('msgid "greeting"\nmsgstr Hello\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2 is not valid PO: 'msgstr Hello'"):
        i18n.load_messages("greetings", tmp_path)


def test_catalogue_msgid_without_msgstr_rejected(tmp_path: Path) -> None:
    _write_po(tmp_path, "greetings", "nl", {"greeting": "Hallo"})
    en_path = i18n.catalogue_path("greetings", "en", tmp_path)
    en_path.parent.mkdir(parents=True)
    en_path.write_text(
        'msgid "bye"\nmsgid "greeting"\nmsgstr "Hello"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="is not a valid PO file"):
        i18n.load_messages("greetings", tmp_path)


def test_catalogue_placeholder_mismatch_rejected(tmp_path: Path) -> None:
    _write_domain(
        tmp_path, "greetings", {"greeting": "Hallo {name}"}, {"greeting": "Hi {naam}"}
    )
    with pytest.raises(ConfigError, match="'greeting' uses different placeholders"):
        i18n.load_messages("greetings", tmp_path)


def test_catalogue_clash_between_domains_rejected(tmp_path: Path) -> None:
    _write_domain(tmp_path, "alpha", {"greeting": "Hallo"}, {"greeting": "Hello"})
    _write_domain(tmp_path, "beta", {"greeting": "Hoi"}, {"greeting": "Hi"})
    with pytest.raises(ConfigError) as caught:
        i18n.load_catalogue(tmp_path)
    message = str(caught.value)
    assert "'greeting'" in message
    assert str(i18n.catalogue_path("alpha", "nl", tmp_path)) in message
    assert str(i18n.catalogue_path("beta", "nl", tmp_path)) in message


def test_catalogue_domains_merged(tmp_path: Path) -> None:
    _write_domain(tmp_path, "alpha", {"greeting": "Hallo"}, {"greeting": "Hello"})
    _write_domain(tmp_path, "beta", {"bye": "Dag {name}"}, {"bye": "Bye {name}"})
    messages = i18n.load_catalogue(tmp_path)
    assert messages == {
        "greeting": {"nl": "Hallo", "en": "Hello"},
        "bye": {"nl": "Dag {name}", "en": "Bye {name}"},
    }


def test_catalogue_empty_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no message catalogues found"):
        i18n.load_catalogue(tmp_path)


def test_translate_dutch_default() -> None:
    assert i18n.translate("nav.map") == "Kaart"
    assert i18n.translate("nav.map", "en") == "Map"


def test_translate_fills_placeholders() -> None:
    text = i18n.translate("overview.baseline", "en", year=2023, value="5.20")
    assert text == "Baseline 2023: 5.20"


def test_translate_unknown_key_raises() -> None:
    with pytest.raises(UnknownIdError, match="message key 'no.such.key'"):
        i18n.translate("no.such.key", "nl")


def test_translate_unknown_language_raises() -> None:
    with pytest.raises(ValueError, match="language 'de' is not supported"):
        i18n.translate("nav.map", "de")


def test_translate_missing_parameter_raises() -> None:
    with pytest.raises(KeyError):
        i18n.translate("overview.baseline", "nl", year=2023)


def test_translate_value_unknown_returns_value() -> None:
    assert i18n.translate_value("crop_group", "not_a_group", "en") == "not_a_group"
    assert i18n.translate_value("crop_group", "onions", "en") == "onions"
    assert i18n.translate_value("crop_group", "onions", "nl") == "uien"


def test_source_keys_exist() -> None:
    used: set[str] = set()
    for name in CATALOGUE_USERS:
        text = (PACKAGE / name).read_text(encoding="utf-8")
        used |= set(KEY_CALL.findall(text))
    assert len(used) > 30
    missing = sorted(key for key in used if not i18n.has_message(key))
    assert missing == []


@pytest.mark.parametrize(
    ("prefix", "values"),
    [
        ("status", typing.get_args(Status)),
        ("theme", THEMES),
        ("basis", typing.get_args(ValuePoint.model_fields["basis"].annotation)),
        ("role", tuple(ROLE_KINDS)),
        ("land_use", (*sorted(LAND_USES), UNKNOWN)),
    ],
)
def test_data_values_have_labels(prefix: str, values: tuple[str, ...]) -> None:
    assert values
    missing = [value for value in values if not i18n.has_message(f"{prefix}.{value}")]
    assert missing == []


def test_kpi_inputs_have_labels() -> None:
    required = {role for kpi in load_kpi_library().root for role in kpi.requires}
    missing = sorted(role for role in required if not i18n.has_message(f"role.{role}"))
    assert missing == []


def test_crop_groups_have_labels() -> None:
    crops = pd.read_csv(package_data("crop_codes.csv"))
    groups = {*crops["crop_group"].dropna(), UNKNOWN}
    missing = sorted(g for g in groups if not i18n.has_message(f"crop_group.{g}"))
    assert missing == []


@pytest.mark.parametrize(
    ("value", "language", "decimals", "expected"),
    [
        (1234.5, "nl", 1, "1.234,5"),
        (1234.5, "en", 1, "1,234.5"),
        (1234567.891, "nl", 2, "1.234.567,89"),
        (5.195, "nl", None, "5,20"),
        (58.53, "nl", None, "58,5"),
        (3269.38, "en", None, "3,269"),
        (0.0, "nl", None, "0"),
        (-0.004, "nl", 2, "0,00"),
        (-12.25, "en", 1, "-12.2"),
        (-1234.5, "nl", 1, "-1.234,5"),
        (-1234.5, "en", 1, "-1,234.5"),
        (1234.0, "nl", 0, "1.234"),
        (999.5, "nl", 0, "1.000"),
        (0.5, "en", 0, "0"),
        (2.675, "nl", 2, "2,68"),
        (12345678.0, "en", None, "12,345,678"),
        (-0.0, "en", 1, "0.0"),
    ],
)
def test_format_number(
    value: float, language: str, decimals: int | None, expected: str
) -> None:
    assert i18n.format_number(value, language, decimals) == expected


@pytest.mark.parametrize("missing", [None, math.nan, float("nan"), pd.NA, pd.NaT])
def test_format_number_missing_is_no_data(missing: float | None) -> None:
    assert i18n.format_number(missing, "nl") == "geen gegevens"
    assert i18n.format_number(missing, "en") == "no data"


def test_format_number_infinite() -> None:
    assert i18n.format_number(math.inf, "nl") == "∞"
    assert i18n.format_number(-math.inf, "en") == "-∞"


def test_format_value_units() -> None:
    assert i18n.format_value(58.53, "%", "nl") == "58,5%"
    assert i18n.format_value(58.53, "%", "en") == "58.5%"
    assert i18n.format_value(-0.001, "%", "en", 1) == "0.0%"
    assert i18n.format_value(1234.5, "%", "nl", 1) == "1.234,5%"
    assert i18n.format_value(1234.5, "ha", "en", 1) == "1,234.5\u00a0ha"
    assert i18n.format_value(5.195, "µg/m³", "nl") == "5,20\u00a0µg/m³"
    assert i18n.format_value(1.9958, "index", "en") == "2.00"
    assert i18n.format_value(12.0, "t CO2-eq/jr", "en") == "12.0\u00a0t CO2-eq/yr"
    assert i18n.format_value(None, "ha", "nl") == "geen gegevens"


@pytest.mark.parametrize("missing", [None, math.nan, pd.NA])
def test_format_value_missing_has_no_unit(missing: object) -> None:
    assert i18n.format_value(missing, "ha", "nl") == "geen gegevens"
    assert i18n.format_value(missing, "%", "en") == "no data"


def test_format_date_per_language() -> None:
    moment = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)
    assert i18n.format_date(moment, "nl") == "1 mei 2024"
    assert i18n.format_date(moment, "en") == "1 May 2024"
    assert i18n.format_date(date(2024, 3, 9), "nl") == "9 mrt 2024"
    assert i18n.format_date(None, "nl") == ""


def test_format_datetime_per_language() -> None:
    moment = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)
    assert i18n.format_datetime(moment, "nl") == "1 mei 2024, 14:03 UTC"
    assert i18n.format_datetime(moment, "en") == "1 May 2024, 14:03 UTC"
    assert i18n.format_datetime(None, "en") == ""


def test_format_datetime_naive_is_utc() -> None:
    naive = datetime(2024, 12, 31, 23, 59)
    assert i18n.format_datetime(naive, "nl") == "31 dec 2024, 23:59 UTC"


def test_format_date_unknown_language_raises() -> None:
    with pytest.raises(ValueError, match="language 'de' is not supported"):
        i18n.format_date(date(2024, 1, 1), "de")
