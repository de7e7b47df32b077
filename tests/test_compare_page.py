"""Comparison maps with shared classes, and the comparison page in AppTest."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo_dashboard.compare import (
    NO_CHANGE,
    comparison_matrix,
    comparison_table,
    no_change_kpis,
    theme_chart_data,
    theme_progress,
)
from geo_dashboard.compare_maps import area_values, comparison_maps
from geo_dashboard.i18n import translate
from geo_dashboard.kpis import load_kpi_library, row_values
from geo_dashboard.maps import NO_VALUE_COLOR, Legend
from geo_dashboard.output import BuildOutput
from tests.conftest import REPO

LIBRARY = load_kpi_library()
MAIN = REPO / "geo_dashboard" / "app" / "main.py"
TIMEOUT_S = 180
DISTANCE = "farmland_within_1km_natura2000"


# --- Maps ---------------------------------------------------------------------


def test_one_classification_over_all_areas(all_builds: dict[str, BuildOutput]) -> None:
    kpi = LIBRARY.get(DISTANCE)
    maps = comparison_maps(all_builds, kpi, "nl", basemap=False)
    assert maps.classification is not None
    distances = pd.concat(
        [
            row_values(kpi, all_builds[area].parcels)
            for area in ("noordoostpolder", "groene_hart")
        ]
    )
    assert maps.classification.breaks[0] == pytest.approx(distances.min())
    assert maps.classification.breaks[-1] == pytest.approx(distances.max())
    # The pilot's parcels are all 2.7 km or more from Natura 2000, so a
    # per-area classification would have started there.
    pilot_min = row_values(kpi, all_builds["noordoostpolder"].parcels).min()
    assert pilot_min > 2000
    assert maps.classification.breaks[0] < 100


def test_one_legend_outside_maps(all_builds: dict[str, BuildOutput]) -> None:
    maps = comparison_maps(all_builds, LIBRARY.get(DISTANCE), "en", basemap=False)
    assert set(maps.maps) == set(all_builds)
    assert "The same classes in all areas shown." in maps.legend
    for folium_map in maps.maps.values():
        legends = [c for c in folium_map._children.values() if isinstance(c, Legend)]
        assert legends == []
        assert "The same classes in all areas shown." not in (
            folium_map.get_root().render()
        )


def test_maps_have_metric_scale(all_builds: dict[str, BuildOutput]) -> None:
    maps = comparison_maps(all_builds, LIBRARY.get(DISTANCE), "nl", basemap=False)
    for folium_map in maps.maps.values():
        rendered = folium_map.get_root().render()
        assert "L.control.scale({metric: true, imperial: false})" in rendered
        assert not folium_map.control_scale
        assert [name for name, _ in folium_map.default_js] == ["leaflet"]


def test_same_value_same_colour(all_builds: dict[str, BuildOutput]) -> None:
    maps = comparison_maps(all_builds, LIBRARY.get(DISTANCE), "nl", basemap=False)
    classification = maps.classification
    assert classification is not None
    values = pd.Series([1500.0, 1500.0])
    first, second = classification.classify(values)
    assert first == second


def test_gap_area_map_has_note(all_builds: dict[str, BuildOutput]) -> None:
    maps = comparison_maps(all_builds, LIBRARY.get(DISTANCE), "nl", basemap=False)
    note = maps.notes["laag_holland"]
    assert note is not None
    assert "landbouwpercelen (BRP)" in note
    assert maps.notes["groene_hart"] is None


def test_kpi_not_in_area(all_builds: dict[str, BuildOutput]) -> None:
    item = area_values(
        all_builds["laag_holland"], LIBRARY.get("farmland_on_peat"), "en"
    )
    assert item.mode == "gap"
    assert item.values is None
    assert item.note == "Farmland on peat is not a KPI of this area."


def test_nature_kpi_classes_sites(all_builds: dict[str, BuildOutput]) -> None:
    kpi = LIBRARY.get("natura2000_nh3_above_3ug")
    maps = comparison_maps(all_builds, kpi, "nl", basemap=False)
    assert maps.classification is not None
    sites = pd.concat([row_values(kpi, b.nature) for b in all_builds.values()])
    finite = sites[np.isfinite(sites)]
    assert maps.classification.breaks[-1] == pytest.approx(finite.max())


def test_shannon_has_no_classes(all_builds: dict[str, BuildOutput]) -> None:
    maps = comparison_maps(
        all_builds, LIBRARY.get("crop_diversity_shannon"), "en", basemap=False
    )
    assert maps.classification is None
    assert maps.notes["noordoostpolder"] == (
        "Crop diversity (Shannon index) has no value per parcel; the parcels are grey."
    )
    assert NO_VALUE_COLOR in maps.maps["noordoostpolder"].get_root().render()


def test_hostile_crop_name_escaped(all_builds: dict[str, BuildOutput]) -> None:
    pilot = all_builds["noordoostpolder"]
    parcels = pilot.parcels.copy()
    parcels["crop_name"] = parcels["crop_name"].astype("object")
    parcels.loc[parcels.index[0], "crop_name"] = "<img src=x onerror=alert(1)>"
    hostile = replace(pilot, parcels=parcels)
    maps = comparison_maps(
        {"noordoostpolder": hostile}, LIBRARY.get(DISTANCE), "nl", basemap=False
    )
    html = maps.maps["noordoostpolder"].get_root().render()
    assert "<img src=x" not in html
    # Jinja's tojson writes < and & as \u003c and \u0026: only the escaped
    # text may reach the page, never the raw tag in JSON form.
    assert "\\u003cimg src=x" not in html
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html


# --- Progress per theme -------------------------------------------------------


def _climate_build(build: BuildOutput, co2_value: float) -> BuildOutput:
    """Return the build with hand-set climate KPIs.

    CO2 emission: baseline 12 360, target 8 650 t. Farmland on peat:
    baseline = target = 1 057.6 ha, so no change is asked.
    """
    kpis = build.kpis.copy()
    co2 = kpis["kpi_id"] == "peat_co2_emission"
    peat = kpis["kpi_id"] == "farmland_on_peat"
    kpis.loc[co2, ["value", "baseline_value", "target_value"]] = [
        co2_value,
        12_360.0,
        8_650.0,
    ]
    kpis.loc[co2, "progress"] = (co2_value - 12_360.0) / (8_650.0 - 12_360.0)
    kpis.loc[peat, ["value", "baseline_value", "target_value"]] = [1057.6] * 3
    kpis.loc[peat, "progress"] = 1.0
    kpis.loc[co2 | peat, "status"] = "ok"
    return replace(build, kpis=kpis)


def test_no_change_kpi_not_in_progress(all_builds: dict[str, BuildOutput]) -> None:
    # A quarter of the way from 12 360 to 8 650 t is 12 360 - 927.5 = 11 432.5 t.
    build = _climate_build(all_builds["groene_hart"], 11_432.5)
    table = comparison_table({"groene_hart": build}, LIBRARY)
    peat = table.set_index("kpi_id").loc["farmland_on_peat"]
    assert pd.isna(peat["target_reached"])
    assert peat["target_reached_reason"] == NO_CHANGE
    progress = theme_progress(table).set_index("theme").loc["climate"]
    # Counting the peat KPI as reached would give (0.25 + 1) / 2 = 62.5 %.
    assert progress["mean_target_reached"] == pytest.approx(0.25)
    assert progress["kpis"] == 1
    data = theme_chart_data(table, {"groene_hart": "Groene Hart"}, "nl")["climate"]
    assert data.loc[0, "percent"] == pytest.approx(25.0)
    assert data.loc[0, "label"] == "25%"
    assert no_change_kpis(table, "climate", LIBRARY) == ["farmland_on_peat"]
    assert no_change_kpis(table, "nature", LIBRARY) == []


def test_no_change_cell_text(all_builds: dict[str, BuildOutput]) -> None:
    build = _climate_build(all_builds["groene_hart"], 12_360.0)
    table = comparison_table({"groene_hart": build}, LIBRARY)
    matrix = comparison_matrix(
        table, "target_reached", {"groene_hart": "GH"}, LIBRARY, "en"
    ).set_index("KPI")
    assert matrix.loc["Farmland on peat", "GH"] == (
        "no change asked (target equals baseline)"
    )
    assert matrix.loc["CO2 emission from farmed peat", "GH"] == "0%"
    progress = theme_progress(table).set_index("theme").loc["climate"]
    # At the baseline the theme has made no progress, not 50 %.
    assert progress["mean_target_reached"] == pytest.approx(0.0)


def test_only_no_change_kpis_is_gap(all_builds: dict[str, BuildOutput]) -> None:
    build = _climate_build(all_builds["groene_hart"], 11_432.5)
    kpis = build.kpis[build.kpis["kpi_id"] == "farmland_on_peat"]
    table = comparison_table({"gh": replace(build, kpis=kpis)}, LIBRARY)
    data = theme_chart_data(table, {"gh": "GH"}, "en")["climate"]
    assert pd.isna(data.loc[0, "percent"])
    assert data.loc[0, "label"] == "no data"


# --- The page -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def restore_package_logger() -> Iterator[None]:
    """Undo the app's logging set-up, which would outlive the test otherwise."""
    package_logger = logging.getLogger("geo_dashboard")
    handlers = list(package_logger.handlers)
    level = package_logger.level
    yield
    package_logger.handlers = handlers
    package_logger.setLevel(level)
    if hasattr(package_logger, "_configured_by_app"):
        del package_logger._configured_by_app


def _point_app_at(monkeypatch: pytest.MonkeyPatch, builds_dir: Path, area: str) -> None:
    monkeypatch.setenv("GEO_DASHBOARD_LAYERS", str(REPO / "layers"))
    monkeypatch.setenv("GEO_DASHBOARD_CONFIGS", str(REPO / "area_configs"))
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(builds_dir))
    monkeypatch.setenv("GEO_DASHBOARD_AREA", area)
    monkeypatch.setenv(
        "GEO_DASHBOARD_DB", f"sqlite:///{builds_dir / 'dashboard.sqlite'}"
    )


def _run_page(language: str) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)
    at.session_state["language"] = language
    at.run()
    at.switch_page("views/compare.py").run()
    return at


@pytest.mark.slow
@pytest.mark.parametrize("language", ["nl", "en"])
def test_compare_page_renders(
    language: str, all_builds: dict[str, BuildOutput], monkeypatch: pytest.MonkeyPatch
) -> None:
    builds_dir = all_builds["groene_hart"].folder.parent.parent
    _point_app_at(monkeypatch, builds_dir, "groene_hart")
    at = _run_page(language)
    assert not at.exception
    assert not at.error
    assert at.multiselect(key="compare_areas").value == sorted(all_builds)
    sizes, kpis = at.dataframe[0].value, at.dataframe[1].value
    farmland = (
        "Landbouwgrond (BRP-percelen)" if language == "nl" else "Farmland (BRP parcels)"
    )
    no_data = "geen gegevens" if language == "nl" else "no data"
    assert sizes.set_index(sizes.columns[0]).loc["Laag Holland", farmland] == no_data
    # The pilot and Groene Hart names are long; Laag Holland's column is the last.
    laag_holland = kpis["Laag Holland"]
    assert any(cell.startswith(no_data + " (") for cell in laag_holland)
    assert "0" not in set(laag_holland)

    # One legend above the maps, two maps per row for the three areas.
    shared = translate("compare.map.shared_classes", language)
    assert len([item for item in at.html if shared in item.value]) == 1
    map_columns = [column for column in at.columns if column.markdown]
    assert len(map_columns) == 3
    assert len(at.columns) == 4
    # Groene Hart's farmland on peat has its target at the baseline.
    peat = LIBRARY.get("farmland_on_peat").name.get(language)
    left_out = translate("compare.chart.no_change", language, kpis=peat)
    assert left_out in [caption.value for caption in at.caption]


@pytest.mark.slow
def test_compare_page_measure_and_gap(
    all_builds: dict[str, BuildOutput], monkeypatch: pytest.MonkeyPatch
) -> None:
    builds_dir = all_builds["groene_hart"].folder.parent.parent
    _point_app_at(monkeypatch, builds_dir, "groene_hart")
    at = _run_page("nl")
    at.radio(key="compare_measure").set_value("per_farmland_ha").run()
    assert not at.exception
    table = at.dataframe[1].value.set_index("KPI")
    row = table.loc["CO2-uitstoot uit veenweide"]
    groene_hart = [
        column for column in table.columns if column.startswith("Groene Hart")
    ][0]
    assert row[groene_hart] == "9,94\u00a0t CO2-eq/ha/jr"
    assert row["Laag Holland"] == (
        "geen gegevens (ontbreekt: landbouwpercelen (BRP), veenemissie per perceel)"
    )
    near = table.loc["Landbouwgrond binnen 1 km van Natura 2000", "Laag Holland"]
    assert near == "geen gegevens (ontbreekt: landbouwpercelen (BRP))"


@pytest.mark.slow
def test_compare_page_one_area_left(
    all_builds: dict[str, BuildOutput], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    builds_dir = tmp_path / "build"
    (builds_dir / "laag_holland").mkdir(parents=True)
    (builds_dir / "laag_holland" / "current").symlink_to(
        all_builds["laag_holland"].folder
    )
    _point_app_at(monkeypatch, builds_dir, "laag_holland")
    at = _run_page("en")
    assert not at.exception
    assert [i.value for i in at.info] == ["Choose at least two areas to compare."]
    commands = [c.value for c in at.code]
    assert "geo-dashboard build groene_hart" in commands
    assert "geo-dashboard build noordoostpolder" in commands
    assert "geo-dashboard build laag_holland" not in commands
