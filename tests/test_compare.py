"""Area comparison on the real builds of the three shipped areas.

The expected numbers are computed here from the build's own tables (the
boundary polygon and the parcel areas), not through the comparison code,
and pinned to the values of the 2023 layers.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from geo_dashboard.compare import (
    DATA_GAP,
    NO_TARGET,
    SIZE_FREE,
    area_hectares,
    area_sizes,
    cell_text,
    comparison_matrix,
    comparison_table,
    farmland_hectares,
    normalised_unit,
    theme_chart,
    theme_chart_data,
    theme_progress,
)
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import BuildOutput

LIBRARY = load_kpi_library()


@pytest.fixture(scope="module")
def builds(all_builds: dict[str, BuildOutput]) -> dict[str, BuildOutput]:
    return all_builds


@pytest.fixture(scope="module")
def table(builds: dict[str, BuildOutput]):
    return comparison_table(builds, LIBRARY).set_index(["area_id", "kpi_id"])


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _kpi_value(output: BuildOutput, kpi_id: str) -> float:
    return float(output.kpis.set_index("kpi_id").loc[kpi_id, "value"])


def test_area_and_farmland_hectares(builds) -> None:
    gh = builds["groene_hart"]
    assert area_hectares(gh) == pytest.approx(gh.boundary.geometry.area.sum() / 1e4)
    assert area_hectares(gh) == pytest.approx(3001.30, abs=0.01)
    assert farmland_hectares(gh) == pytest.approx(1243.54, abs=0.01)
    assert farmland_hectares(builds["noordoostpolder"]) == pytest.approx(
        3269.38, abs=0.01
    )


def test_farmland_without_parcel_layer_is_gap(builds) -> None:
    lh = builds["laag_holland"]
    assert len(lh.parcels) == 0
    assert farmland_hectares(lh) is None
    assert area_hectares(lh) == pytest.approx(39142.77, abs=0.01)


def test_summed_kpi_per_hectare(builds, table) -> None:
    gh = builds["groene_hart"]
    area_ha = gh.boundary.geometry.area.sum() / 10_000
    farmland_ha = gh.parcels["area_ha"].sum()
    emission = _kpi_value(gh, "peat_co2_emission")
    row = table.loc[("groene_hart", "peat_co2_emission")]
    assert row["per_ha"] == pytest.approx(emission / area_ha)
    assert row["per_farmland_ha"] == pytest.approx(emission / farmland_ha)
    assert row["per_ha"] == pytest.approx(12360.33 / 3001.30, rel=1e-4)
    assert row["per_farmland_ha"] == pytest.approx(9.94, abs=0.01)
    assert row["normalised_unit"] == "t CO2-eq/ha/jr"


def test_hectare_kpi_per_hectare_is_percent(builds, table) -> None:
    gh = builds["groene_hart"]
    near = _kpi_value(gh, "farmland_within_1km_natura2000")
    row = table.loc[("groene_hart", "farmland_within_1km_natura2000")]
    assert row["normalised_unit"] == "%"
    assert row["per_ha"] == pytest.approx(100 * near / area_hectares(gh))
    assert row["per_ha"] == pytest.approx(20.20, abs=0.01)
    assert row["per_farmland_ha"] == pytest.approx(48.76, abs=0.01)


def test_pilot_zero_hectares_stays_zero(table) -> None:
    row = table.loc[("noordoostpolder", "farmland_within_1km_natura2000")]
    assert row["value"] == 0
    assert row["per_ha"] == 0
    assert row["per_ha_reason"] == ""


def test_shares_are_not_normalised(table) -> None:
    row = table.loc[("noordoostpolder", "nitrate_risk_arable_share")]
    assert row["value"] == pytest.approx(58.53, abs=0.01)
    assert _empty(row["per_ha"])
    assert row["per_ha_reason"] == SIZE_FREE
    assert row["per_farmland_ha_reason"] == SIZE_FREE


def test_target_reached_is_progress_fraction(builds, table) -> None:
    kpis = builds["noordoostpolder"].kpis.set_index("kpi_id")
    nitrate = kpis.loc["nitrate_risk_arable_share"]
    expected = (nitrate["value"] - 58.5) / (50.0 - 58.5)
    row = table.loc[("noordoostpolder", "nitrate_risk_arable_share")]
    assert row["target_reached"] == pytest.approx(expected)
    assert row["target_reached"] == pytest.approx(-0.00353, abs=1e-5)


def test_gap_stays_gap_not_zero(table) -> None:
    row = table.loc[("laag_holland", "peat_co2_emission")]
    assert row["status"] == "gap"
    assert _empty(row["value"])
    assert _empty(row["per_ha"])
    assert _empty(row["per_farmland_ha"])
    assert _empty(row["target_reached"])
    assert row["value_reason"] == DATA_GAP
    assert row["per_farmland_ha_reason"] == DATA_GAP
    assert "parcels" in row["missing_layers"]


def test_kpi_without_target_has_reason(builds) -> None:
    gh = builds["groene_hart"]
    kpis = gh.kpis.copy()
    peat = kpis["kpi_id"] == "peat_co2_emission"
    kpis.loc[peat, ["target_value", "progress"]] = float("nan")
    flat = comparison_table({"groene_hart": replace(gh, kpis=kpis)}, LIBRARY)
    row = flat.set_index("kpi_id").loc["peat_co2_emission"]
    assert _empty(row["target_reached"])
    assert row["target_reached_reason"] == NO_TARGET
    assert row["per_ha"] == pytest.approx(4.118, abs=1e-3)
    assert (
        cell_text(row.to_dict(), "target_reached", "en") == "no target or baseline set"
    )


@pytest.mark.parametrize(
    "unit, expected",
    [
        ("ha", ("%", 100.0)),
        ("km", ("m/ha", 1000.0)),
        ("t CO2-eq/jr", ("t CO2-eq/ha/jr", 1.0)),
        ("kg", ("kg/ha", 1.0)),
    ],
)
def test_normalised_unit(unit: str, expected: tuple[str, float]) -> None:
    assert normalised_unit(unit) == expected


def test_gap_cell_names_missing_layer(table) -> None:
    row = table.loc[("laag_holland", "peat_co2_emission")].to_dict()
    text = cell_text(row, "per_farmland_ha", "nl")
    assert text.startswith("geen gegevens")
    assert "landbouwpercelen (BRP)" in text
    assert "0" not in text


def test_cell_text_uses_decimal_comma(table) -> None:
    row = table.loc[("groene_hart", "peat_co2_emission")].to_dict()
    assert cell_text(row, "per_farmland_ha", "nl") == "9,94\u00a0t CO2-eq/ha/jr"
    assert cell_text(row, "per_farmland_ha", "en") == "9.94\u00a0t CO2-eq/ha/yr"
    assert cell_text(row, "value", "nl") == "12.360\u00a0t CO2-eq/jr"


def test_cell_text_rejects_unknown_measure(table) -> None:
    row = table.loc[("groene_hart", "peat_co2_emission")].to_dict()
    with pytest.raises(ValueError, match="measure 'per_acre' is invalid"):
        cell_text(row, "per_acre", "en")


def test_matrix_marks_unused_kpi(builds) -> None:
    flat = comparison_table(builds, LIBRARY)
    names = {area: area for area in builds}
    matrix = comparison_matrix(flat, "value", names, LIBRARY, "en").set_index("KPI")
    assert matrix.loc["Farmland on peat", "laag_holland"] == "not a KPI of this area"
    assert matrix.loc["Farmland on peat", "groene_hart"] == "1,058\u00a0ha"
    assert (
        matrix.loc["Farmland on peat", "noordoostpolder"]
        == "no data (missing: peat soils)"
    )
    # One row per KPI used in any area, in the order of the KPI definitions.
    used = [kpi for kpi in LIBRARY.ids if kpi in set(flat["kpi_id"])]
    assert len(matrix) == len(used)


def test_area_sizes_show_gap(builds) -> None:
    sizes = area_sizes(builds, "nl").set_index("area")
    assert sizes.loc["Laag Holland", "farmland_ha"] == "geen gegevens"
    assert sizes.loc["Laag Holland", "area_ha"] == "39.143\u00a0ha"


def test_theme_progress_leaves_out_gaps(builds) -> None:
    progress = theme_progress(comparison_table(builds, LIBRARY))
    lh = progress[progress["area_id"] == "laag_holland"]
    assert set(lh["theme"]) == {"nature"}
    assert int(lh["kpis"].iloc[0]) == 2


def test_theme_progress_mean_by_hand(builds) -> None:
    kpis = builds["groene_hart"].kpis
    asked = kpis["target_value"] != kpis["baseline_value"]
    climate = kpis[(kpis["theme"] == "climate") & kpis["progress"].notna() & asked]
    expected = climate["progress"].clip(-1, 1).mean()
    progress = theme_progress(comparison_table(builds, LIBRARY)).set_index(
        ["area_id", "theme"]
    )
    reached = progress.loc[("groene_hart", "climate"), "mean_target_reached"]
    assert reached == pytest.approx(expected)
    # farmland_on_peat requests no change (target equals baseline), so only
    # peat CO2 counts, and it is at its baseline.
    assert reached == pytest.approx(0.0, abs=1e-3)


def test_theme_chart_marks_gap_area(builds) -> None:
    names = {"groene_hart": "GH", "laag_holland": "LH"}
    subset = {area: builds[area] for area in names}
    data = theme_chart_data(comparison_table(subset, LIBRARY), names, "nl")
    climate = data["climate"].set_index("area")
    assert _empty(climate.loc["LH", "percent"])
    assert climate.loc["LH", "label"] == "geen gegevens"
    assert climate.loc["GH", "label"] == "0%"
    chart = theme_chart(data["climate"], "Klimaat", "nl").to_dict()
    assert chart["title"] == "Klimaat"
    assert len(chart["layer"]) == 3
