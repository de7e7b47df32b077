"""Message catalogue and number formatting on the packaged messages."""

from __future__ import annotations

import math
import re
import typing
from pathlib import Path

import pandas as pd
import pytest

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


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "messages.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_catalogue_has_every_language() -> None:
    messages = i18n.load_messages()
    assert messages
    for key, texts in messages.items():
        assert set(texts) == set(i18n.LANGUAGES), key


def test_catalogue_missing_language_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "greeting:\n  nl: Hallo\n")
    with pytest.raises(ConfigError, match=r"'greeting' lacks language\(s\) \['en'\]"):
        i18n.load_messages(path)


def test_catalogue_unknown_language_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "greeting:\n  nl: Hallo\n  en: Hello\n  de: Hallo\n")
    with pytest.raises(ConfigError, match=r"unknown language\(s\) \['de'\]"):
        i18n.load_messages(path)


def test_catalogue_empty_text_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "greeting:\n  nl: ''\n  en: Hello\n")
    with pytest.raises(ConfigError, match="empty or non-text 'nl' text"):
        i18n.load_messages(path)


def test_catalogue_placeholder_mismatch_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "greeting:\n  nl: Hallo {name}\n  en: Hello {naam}\n")
    with pytest.raises(ConfigError, match="different placeholders"):
        i18n.load_messages(path)


def test_catalogue_placeholders_match() -> None:
    for key, texts in i18n.load_messages().items():
        assert i18n.placeholders(texts["nl"]) == i18n.placeholders(texts["en"]), key


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


def test_format_value_units() -> None:
    assert i18n.format_value(58.53, "%", "nl") == "58,5%"
    assert i18n.format_value(5.195, "µg/m³", "nl") == "5,20\u00a0µg/m³"
    assert i18n.format_value(1.9958, "index", "en") == "2.00"
    assert i18n.format_value(12.0, "t CO2-eq/jr", "en") == "12.0\u00a0t CO2-eq/yr"
    assert i18n.format_value(None, "ha", "nl") == "geen gegevens"


@pytest.mark.parametrize("missing", [None, math.nan, pd.NA])
def test_format_value_missing_has_no_unit(missing: object) -> None:
    assert i18n.format_value(missing, "ha", "nl") == "geen gegevens"
    assert i18n.format_value(missing, "%", "en") == "no data"
