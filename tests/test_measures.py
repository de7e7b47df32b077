"""Measure library: loading, errors that name file and key, area overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from geo_dashboard.errors import ConfigError
from geo_dashboard.measures.library import VARIANTS, ValueRange
from geo_dashboard.measures.loader import load_measure_library, override_path
from geo_dashboard.paths import package_data

SHARED = package_data("measures.yaml")


def _shared_data() -> dict:
    return yaml.safe_load(SHARED.read_text(encoding="utf-8"))


def _write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _ranges(measure) -> list[ValueRange]:
    ranges = [
        measure.cost.annual_eur_ha,
        measure.cost.one_off_eur_ha,
        measure.farm.income_eur_ha_yr,
    ]
    ranges += [
        r for r in (measure.farm.yield_change_pct, measure.farm.workload_h_ha_yr) if r
    ]
    ranges += [
        e.value_range for e in measure.effects.values() if e.value_range is not None
    ]
    return ranges


def test_library_has_eight_measures_with_costs():
    library = load_measure_library()
    assert len(library.measures) >= 8
    for required in (
        "raise_ditch_water_peat",
        "submerged_drains_peat",
        "buffer_strip_10m",
        "herb_rich_grassland",
        "nature_conversion_near_n2000",
        "low_emission_housing_feeding",
        "anlb_meadow_bird",
        "arable_to_grassland",
        "land_purchase_nature",
    ):
        assert required in library.ids


@pytest.mark.parametrize("measure_id", load_measure_library().ids)
def test_every_number_has_source_and_order(measure_id):
    measure = load_measure_library().get(measure_id)
    for value_range in _ranges(measure):
        assert len(value_range.source) >= 3
        values = [value_range.get(v) for v in VARIANTS]
        assert values == sorted(values) or values == sorted(values, reverse=True)
        if value_range.basis == "estimate":
            assert "estimate" in value_range.source or "no crop" in value_range.source
        if value_range.basis == "mixed":
            assert "estimate" in value_range.source


def test_unsafe_applies_to_rejected(tmp_path):
    data = _shared_data()
    data["measures"][0]["applies_to"] = "__import__('os').system('echo hacked')"
    path = _write(tmp_path / "measures.yaml", data)
    with pytest.raises(ConfigError, match=r"measures\.0\.applies_to") as info:
        load_measure_library(path=path)
    assert str(path) in str(info.value)
    assert "Call" in str(info.value)


def test_unsafe_effect_formula_rejected(tmp_path):
    data = _shared_data()
    buffer_strip = next(m for m in data["measures"] if m["id"] == "buffer_strip_10m")
    buffer_strip["effects"]["buffer_strip_bank_m"]["formula"] = (
        "water_length_m.__class__"
    )
    path = _write(tmp_path / "measures.yaml", data)
    with pytest.raises(ConfigError, match="Attribute"):
        load_measure_library(path=path)


def test_unsafe_indicator_formula_rejected(tmp_path):
    data = _shared_data()
    data["indicators"][0]["value"] = "open('x')"
    path = _write(tmp_path / "measures.yaml", data)
    with pytest.raises(ConfigError, match=r"indicators\.0"):
        load_measure_library(path=path)


def test_unknown_effect_column_rejected(tmp_path):
    data = _shared_data()
    data["measures"][0]["effects"]["peat_emision_rate"] = data["measures"][0][
        "effects"
    ].pop("peat_emission_rate")
    path = _write(tmp_path / "measures.yaml", data)
    with pytest.raises(
        ConfigError, match=r"effects\.peat_emision_rate: unknown column"
    ):
        load_measure_library(path=path)


def test_invalid_land_use_value_rejected(tmp_path):
    data = _shared_data()
    data["measures"][0]["effects"]["land_use"] = {"set": "meadow"}
    path = _write(tmp_path / "measures.yaml", data)
    with pytest.raises(ConfigError, match="value 'meadow' is invalid"):
        load_measure_library(path=path)


def test_unordered_range_rejected(tmp_path):
    data = _shared_data()
    data["measures"][0]["cost"]["annual_eur_ha"] = {
        "low": 100,
        "mid": 500,
        "high": 200,
        "basis": "estimate",
        "source": "estimate: test",
    }
    path = _write(tmp_path / "measures.yaml", data)
    with pytest.raises(
        ConfigError, match=r"measures\.0\.cost\.annual_eur_ha.*not in order"
    ):
        load_measure_library(path=path)


def test_fixed_column_cannot_change(tmp_path):
    data = _shared_data()
    data["measures"][0]["effects"]["area_ha"] = {"set": 1}
    path = _write(tmp_path / "measures.yaml", data)
    with pytest.raises(ConfigError, match="cannot be changed"):
        load_measure_library(path=path)


def test_unknown_crop_code_rejected(tmp_path):
    data = _shared_data()
    next(m for m in data["measures"] if m["id"] == "arable_to_grassland")[
        "set_crop"
    ] = 99999
    path = _write(tmp_path / "measures.yaml", data)
    with pytest.raises(ConfigError, match="crop code 99999"):
        load_measure_library(path=path)


def test_area_override_replaces_and_disables(tmp_path):
    override = {
        "measures": [
            {
                **next(
                    m
                    for m in _shared_data()["measures"]
                    if m["id"] == "anlb_meadow_bird"
                ),
                "applies_to": "land_use == 'grassland' and area_ha > 1",
            }
        ],
        "disabled": ["land_purchase_nature"],
    }
    _write(override_path(tmp_path, "noordoostpolder"), override)
    library = load_measure_library("noordoostpolder", tmp_path)
    assert "land_purchase_nature" not in library.ids
    assert library.get("anlb_meadow_bird").applies_to.endswith("area_ha > 1")
    assert library.path == override_path(tmp_path, "noordoostpolder")


def test_area_override_unknown_key_rejected(tmp_path):
    _write(override_path(tmp_path, "noordoostpolder"), {"measure": []})
    with pytest.raises(ConfigError, match="unknown key"):
        load_measure_library("noordoostpolder", tmp_path)


def test_area_override_unknown_disabled_rejected(tmp_path):
    _write(
        override_path(tmp_path, "noordoostpolder"), {"disabled": ["no_such_measure"]}
    )
    with pytest.raises(ConfigError, match="no_such_measure"):
        load_measure_library("noordoostpolder", tmp_path)


def test_without_override_file_shared_library_used(tmp_path):
    library = load_measure_library("noordoostpolder", tmp_path)
    assert library.path == SHARED
