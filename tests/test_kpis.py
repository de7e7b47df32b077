"""KPI definitions and aggregation: every definition is valid, gaps stay gaps."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo_dashboard.errors import ConfigError
from geo_dashboard.expressions import evaluate, formula_columns
from geo_dashboard.kpis import KpiDefinition, aggregate, load_kpi_library, row_values
from geo_dashboard.output import BuildOutput

LIBRARY = load_kpi_library()


@pytest.mark.parametrize("kpi", LIBRARY.root, ids=LIBRARY.ids)
def test_definition_has_both_languages(kpi: KpiDefinition) -> None:
    assert kpi.name.nl and kpi.name.en
    assert kpi.description.nl and kpi.description.en
    assert kpi.source


@pytest.mark.parametrize("kpi", LIBRARY.root, ids=LIBRARY.ids)
def test_computable_definition_runs_on_pilot(kpi: KpiDefinition, pilot_build: BuildOutput) -> None:
    table = pilot_build.parcels if kpi.table == "parcels" else pilot_build.nature
    if not kpi.columns <= set(table.columns):
        pytest.skip(f"pilot lacks the layer for {sorted(kpi.columns - set(table.columns))}")
    value = aggregate(kpi, table)
    assert value is not None and math.isfinite(value)


def _kpi(**fields) -> KpiDefinition:
    base = {
        "id": "test_kpi",
        "name": {"nl": "t", "en": "t"},
        "description": {"nl": "t", "en": "t"},
        "theme": "other",
        "unit": "%",
        "direction": "higher",
        "source": "hand-made edge case",
        "quality": "derived",
    }
    return KpiDefinition.model_validate(base | fields)


TABLE = pd.DataFrame({
    "area_ha": [1.0, 3.0, 0.0],
    "flag": [True, False, True],
    "group": ["a", "b", "b"],
    "rate": [10.0, np.nan, 5.0],
})


def test_share_aggregation() -> None:
    kpi = _kpi(aggregation="share", value="area_ha * flag", weight="area_ha")
    assert aggregate(kpi, TABLE) == pytest.approx(25.0)


def test_weighted_mean_skips_missing() -> None:
    kpi = _kpi(aggregation="weighted_mean", value="rate", weight="area_ha")
    assert aggregate(kpi, TABLE) == pytest.approx(10.0)


def test_sum_with_scale() -> None:
    kpi = _kpi(aggregation="sum", value="area_ha * 1000", scale=1000)
    assert aggregate(kpi, TABLE) == pytest.approx(4.0)


def test_shannon_index() -> None:
    kpi = _kpi(aggregation="shannon", category="group", weight="area_ha")
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert aggregate(kpi, TABLE) == pytest.approx(expected)


def test_all_missing_is_none_not_zero() -> None:
    kpi = _kpi(aggregation="sum", value="rate")
    empty = TABLE.assign(rate=np.nan)
    assert aggregate(kpi, empty) is None


def test_zero_denominator_is_none() -> None:
    kpi = _kpi(aggregation="share", value="area_ha", weight="area_ha * 0")
    assert aggregate(kpi, TABLE) is None


def test_row_values_share_in_percent() -> None:
    kpi = _kpi(aggregation="share", value="area_ha * flag", weight="area_ha")
    values = row_values(kpi, TABLE)
    assert values.tolist()[:2] == [100.0, 0.0]
    assert np.isnan(values.iloc[2])


def test_aggregation_needs_its_formulas() -> None:
    with pytest.raises(ValueError, match=r"aggregation 'share' needs a 'weight' formula"):
        _kpi(aggregation="share", value="area_ha")


@pytest.mark.parametrize(
    "formula",
    ["__import__('os')", "area_ha.sum()", "group[0]", "lambda: 1", "[x for x in group]"],
)
def test_unsafe_formula_rejected(formula: str) -> None:
    with pytest.raises(ConfigError, match=r"is not allowed|is not a valid expression"):
        formula_columns(formula)


def test_formula_with_unknown_column() -> None:
    with pytest.raises(ConfigError, match=r"unknown column\(s\) nnn_share\. Available columns: area_ha"):
        evaluate("area_ha * nnn_share", TABLE, "KPI 'x'")


def test_formula_membership_and_logic() -> None:
    result = evaluate("area_ha * ((group in ['b']) and not flag)", TABLE, "t")
    assert result.tolist() == [0.0, 3.0, 0.0]


@pytest.mark.parametrize("kpi", LIBRARY.root, ids=LIBRARY.ids)
def test_grouped_equals_per_group(kpi: KpiDefinition, pilot_build: BuildOutput) -> None:
    from geo_dashboard.kpis import aggregate_groups

    table = pilot_build.parcels
    if kpi.table != "parcels" or not kpi.columns <= set(table.columns):
        pytest.skip("KPI not computable on the pilot parcels")
    grouped = aggregate_groups(kpi, table, table["farm_id"])
    for farm_id, farm in list(table.groupby("farm_id"))[:12]:
        expected = aggregate(kpi, farm)
        if expected is None:
            assert np.isnan(grouped.get(farm_id, np.nan))
        else:
            assert grouped.loc[farm_id] == pytest.approx(expected, rel=1e-9, abs=1e-12)
