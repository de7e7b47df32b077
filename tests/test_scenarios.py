"""Scenario engine, saved scenarios, relations and difference map on the pilot."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_dashboard import i18n
from geo_dashboard.catalog import load_catalog
from geo_dashboard.config import load_area_config
from geo_dashboard.i18n import translate
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.measures import tables
from geo_dashboard.measures.diffmap import difference_map
from geo_dashboard.measures.engine import NO_MEASURE, ScenarioEngine, ScenarioError
from geo_dashboard.measures.loader import load_measure_library
from geo_dashboard.measures.relations import (
    measure_effects,
    relations_dot,
    tradeoff_matrix,
)
from geo_dashboard.measures.scenario import ParcelStep, RuleStep, Scenario
from geo_dashboard.measures.selection import parcels_in_drawings, selection_map
from geo_dashboard.measures.store import (
    compare_scenarios,
    list_scenarios,
    load_scenario,
    save_scenario,
    scenario_folder,
)
from geo_dashboard.measures.texts import step_problem, unavailable_text

AREA = "noordoostpolder"


@pytest.fixture(scope="module")
def engine(pilot_build, pilot_paths) -> ScenarioEngine:
    kpi_library = load_kpi_library()
    config = load_area_config(
        pilot_paths.configs, AREA, load_catalog(pilot_paths.layers), kpi_library
    )
    library = load_measure_library(AREA, pilot_paths.configs)
    return ScenarioEngine(
        pilot_build.parcels, library, config, kpi_library, pilot_build.nature
    )


def _ids(engine: ScenarioEngine, mask: np.ndarray, count: int) -> list[str]:
    return list(engine.parcel_ids[mask][:count])


def test_current_values_match_build(engine, pilot_build):
    for row in pilot_build.kpis.itertuples():
        if row.status == "gap":
            assert engine.kpi(row.kpi_id).status == "gap"
            continue
        assert engine.current_values[row.kpi_id] == pytest.approx(row.value)


def test_empty_scenario_changes_nothing(engine):
    result = engine.evaluate(engine.empty_assignment())
    computed = result.kpis[result.kpis["status"] == "computed"]
    assert (computed["change_mid"].abs() < 1e-12).all()
    assert result.total_cost()["annualised_mid"] == 0.0


def test_hand_computed_change_on_three_parcels(engine, pilot_build):
    parcels = pilot_build.parcels.reset_index(drop=True)
    risky = (
        parcels["arable"]
        & parcels["nitrate_risk_high"]
        & (parcels["land_use"] == "arable")
    )
    chosen = parcels[risky].nlargest(3, "area_ha")
    scenario = Scenario(
        name="three",
        area_id=AREA,
        steps=[
            ParcelStep(
                measure="arable_to_grassland", parcel_ids=list(chosen["parcel_id"])
            )
        ],
    )
    result = engine.evaluate(scenario.assignment(engine))
    kpis = result.kpis.set_index("kpi_id")

    # Nitrate-risk share of arable land: the three parcels leave numerator and
    # denominator, because permanent grassland is BRP category Grasland.
    numerator = (
        parcels["area_ha"] * parcels["nitrate_risk_high"] * parcels["arable"]
    ).sum()
    denominator = (parcels["area_ha"] * parcels["arable"]).sum()
    moved = chosen["area_ha"].sum()
    expected_nitrate = 100 * (numerator - moved) / (denominator - moved)
    assert kpis.loc["nitrate_risk_arable_share", "mid"] == pytest.approx(
        expected_nitrate
    )

    grass = (parcels["area_ha"] * parcels["permanent_grassland"]).sum()
    expected_grass = 100 * (grass + moved) / parcels["area_ha"].sum()
    assert kpis.loc["permanent_grassland_share", "mid"] == pytest.approx(expected_grass)

    expected_cost = moved * (1500 + 300 / result.planning_years)
    assert result.total_cost()["annualised_mid"] == pytest.approx(expected_cost)
    assert result.costs["parcels"].tolist() == [3]


def test_hand_computed_ranged_effect(engine, pilot_build):
    parcels = pilot_build.parcels.reset_index(drop=True)
    chosen = parcels[parcels["land_use"] == "grassland"].head(2)
    scenario = Scenario(
        name="herbs",
        area_id=AREA,
        steps=[
            ParcelStep(
                measure="herb_rich_grassland", parcel_ids=list(chosen["parcel_id"])
            )
        ],
    )
    result = engine.evaluate(scenario.assignment(engine))
    row = result.kpis.set_index("kpi_id").loc["nh3_emission_change"]
    area = chosen["area_ha"].sum()
    assert row["low"] == pytest.approx(-5 * area / 1000)
    assert row["mid"] == pytest.approx(-10 * area / 1000)
    assert row["high"] == pytest.approx(-20 * area / 1000)


def test_low_mid_high_order_survives_aggregation(engine):
    scenario = Scenario(
        name="mix",
        area_id=AREA,
        steps=[
            RuleStep(measure="low_emission_housing_feeding"),
            RuleStep(measure="herb_rich_grassland", where="area_ha > 0.5"),
            RuleStep(measure="arable_to_grassland", where="crop_group == 'potatoes'"),
        ],
    )
    result = engine.evaluate(scenario.assignment(engine))
    computed = result.kpis[result.kpis["status"] == "computed"]
    sign = np.where(computed["direction"] == "higher", 1.0, -1.0)
    gain = {
        v: computed[f"change_{v}"].to_numpy() * sign for v in ("low", "mid", "high")
    }
    assert (gain["low"] <= gain["mid"] + 1e-12).all()
    assert (gain["mid"] <= gain["high"] + 1e-12).all()
    assert (computed["range_min"] <= computed["mid"]).all()
    assert (computed["mid"] <= computed["range_max"]).all()
    totals = result.total_cost()
    assert totals["annual_low"] <= totals["annual_mid"] <= totals["annual_high"]
    nh3 = computed.set_index("kpi_id").loc["nh3_emission_change"]
    assert nh3["high"] < nh3["mid"] < nh3["low"] < 0


def test_measure_where_not_applicable_rejected(engine):
    grassland = _ids(engine, engine.table["land_use"].to_numpy() == "grassland", 1)[0]
    scenario = Scenario(
        name="wrong",
        area_id=AREA,
        steps=[ParcelStep(measure="arable_to_grassland", parcel_ids=[grassland])],
    )
    with pytest.raises(ScenarioError, match="arable_to_grassland") as info:
        scenario.assignment(engine)
    assert grassland in str(info.value)
    assert "applies only where land_use in" in str(info.value)


def test_measure_without_data_rejected(engine):
    parcel = engine.parcel_ids[0]
    scenario = Scenario(
        name="peat",
        area_id=AREA,
        steps=[ParcelStep(measure="submerged_drains_peat", parcel_ids=[parcel])],
    )
    with pytest.raises(ScenarioError, match="no column peat_share"):
        scenario.assignment(engine)


def test_direct_assignment_checked(engine):
    assignment = engine.empty_assignment()
    assignment[engine.table["land_use"].to_numpy() == "grassland"] = (
        "agri_environment_mixture"
    )
    with pytest.raises(ScenarioError, match="does not apply to parcel"):
        engine.evaluate(assignment)


def test_unknown_parcel_and_measure_rejected(engine):
    unknown_parcel = Scenario(
        name="x",
        area_id=AREA,
        steps=[
            ParcelStep(measure="arable_to_grassland", parcel_ids=["no-such-parcel"])
        ],
    )
    with pytest.raises(ScenarioError, match="no-such-parcel"):
        unknown_parcel.assignment(engine)
    unknown_measure = Scenario(
        name="x", area_id=AREA, steps=[RuleStep(measure="no_such")]
    )
    with pytest.raises(ScenarioError, match="no_such"):
        unknown_measure.assignment(engine)


def test_later_steps_override_earlier(engine):
    first = _ids(engine, engine.applicable("arable_to_grassland"), 2)
    scenario = Scenario(
        name="order",
        area_id=AREA,
        steps=[
            RuleStep(measure="arable_to_grassland", where="area_ha > 5"),
            ParcelStep(measure="agri_environment_mixture", parcel_ids=first[:1]),
            ParcelStep(measure=None, parcel_ids=first[1:]),
        ],
    )
    assignment = scenario.assignment(engine)
    position = engine.parcel_ids.get_indexer(first)
    assert assignment[position[0]] == "agri_environment_mixture"
    assert assignment[position[1]] == NO_MEASURE
    large = engine.table["area_ha"].to_numpy() > 5
    rule_rows = large & engine.applicable("arable_to_grassland")
    rule_rows[position] = False
    assert (assignment[rule_rows] == "arable_to_grassland").all()


def test_farm_effects_per_farm(engine, pilot_build):
    parcels = pilot_build.parcels.copy()
    parcels["farm_id"] = np.where(np.arange(len(parcels)) % 2 == 0, "farm_a", "farm_b")
    farm_engine = ScenarioEngine(
        parcels, engine.library, engine.config, load_kpi_library()
    )
    assignment = farm_engine.empty_assignment()
    assignment[farm_engine.applicable("arable_to_grassland")] = "arable_to_grassland"
    farms = farm_engine.evaluate(assignment).farm_effects.set_index("farm_id")
    assert sorted(farms.index) == ["farm_a", "farm_b"]
    area = farm_engine.evaluate(assignment).costs["treated_ha"].sum()
    assert farms["treated_ha"].sum() == pytest.approx(area)
    assert farms["income_eur_yr_mid"].sum() == pytest.approx(-1500 * area)
    no_farms = pilot_build.parcels.drop(columns="farm_id", errors="ignore")
    area_engine = ScenarioEngine(
        no_farms, engine.library, engine.config, load_kpi_library()
    )
    whole = area_engine.evaluate(assignment).farm_effects
    assert whole["farm_id"].tolist() == ["area"]
    assert whole["treated_ha"].sum() == pytest.approx(area)


def test_parcel_difference_for_map(engine):
    ids = _ids(engine, engine.applicable("agri_environment_mixture"), 4)
    scenario = Scenario(
        name="map",
        area_id=AREA,
        steps=[ParcelStep(measure="agri_environment_mixture", parcel_ids=ids)],
    )
    result = engine.evaluate(scenario.assignment(engine))
    diff = result.parcel_diff.set_index("parcel_id")
    assert diff.loc[ids, "agri_environment_share"].tolist() == pytest.approx(
        [100.0] * 4
    )
    others = diff.drop(index=ids)
    assert (others["agri_environment_share"].fillna(0) == 0).all()
    assert "crop_diversity_shannon" not in diff.columns


def test_difference_map_renders(engine, pilot_build):
    ids = _ids(engine, engine.applicable("agri_environment_mixture"), 4)
    scenario = Scenario(
        name="map",
        area_id=AREA,
        steps=[ParcelStep(measure="agri_environment_mixture", parcel_ids=ids)],
    )
    result = engine.evaluate(scenario.assignment(engine))
    html = (
        difference_map(
            pilot_build, engine, result, "agri_environment_share", "en", basemap=False
        )
        .get_root()
        .render()
    )
    assert "Agri-environment mixture on arable land: 100%" in html
    assert "#238b45" in html


def test_saved_scenario_round_trip(engine, tmp_path):
    scenario = Scenario(
        name="Meer grasland <b>",
        area_id=AREA,
        description="a & b",
        steps=[RuleStep(measure="arable_to_grassland", where="area_ha > 10")],
    )
    path = save_scenario(tmp_path, scenario)
    assert path.name == "meer-grasland-b.yaml"
    assert list_scenarios(tmp_path, AREA) == ["meer-grasland-b"]
    assert [p.name for p in scenario_folder(tmp_path, AREA).iterdir()] == [path.name]
    loaded = load_scenario(tmp_path, AREA, "meer-grasland-b")
    assert loaded == scenario
    table = compare_scenarios(engine, [loaded])
    assert list(table.columns[:3]) == ["kpi_id", "unit", "current"]
    assert "Meer grasland <b>" in table.columns
    assert table.iloc[-1]["kpi_id"] == "cost_eur_yr"


def test_relations_graph_and_tradeoffs(engine):
    effects = measure_effects(engine)
    computed = effects[effects["status"] == "computed"].set_index(
        ["measure_id", "kpi_id"]
    )
    assert (
        computed.loc[("arable_to_grassland", "permanent_grassland_share"), "gain"] > 0
    )
    assert (
        computed.loc[("arable_to_grassland", "nitrate_risk_arable_share"), "gain"] > 0
    )
    no_data = effects[effects["status"] == "no_data"]
    assert "submerged_drains_peat" in set(no_data["measure_id"])

    dot = relations_dot(engine, "en", effects)
    assert dot.startswith("digraph relations {")
    assert '"kpi:permanent_grassland_share" -> "measure:arable_to_grassland"' in dot
    assert "style=dashed" in dot
    assert "Aben et al. 2024" in dot or "peat_emission_rate" in dot

    assignment = engine.empty_assignment()
    assignment[engine.applicable("arable_to_grassland")] = "arable_to_grassland"
    assignment[engine.applicable("herb_rich_grassland")] = "herb_rich_grassland"
    matrix = tradeoff_matrix(engine, assignment)
    assert np.allclose(matrix.to_numpy(), matrix.to_numpy().T)
    assert np.allclose(np.diag(matrix.to_numpy()), 1.0)
    assert matrix.loc["nitrate_risk_arable_share", "permanent_grassland_share"] > 0.99
    assert matrix.loc["permanent_grassland_share", "crop_diversity_shannon"] < -0.99


def test_engine_keeps_parcel_table_unchanged(engine):
    before = engine.table.copy()
    assignment = engine.empty_assignment()
    assignment[engine.applicable("arable_to_grassland")] = "arable_to_grassland"
    engine.evaluate(assignment)
    pd.testing.assert_frame_equal(engine.table, before)


def test_drawn_rectangle_selects_parcels(engine, pilot_build):
    parcels = pilot_build.parcels
    target = parcels.loc[parcels["area_ha"].idxmax()]
    box = shapely.box(*target.geometry.buffer(-5).bounds)
    drawn = gpd.GeoSeries([box], crs=parcels.crs).to_crs("EPSG:4326")
    feature = {"type": "Feature", "geometry": shapely.geometry.mapping(drawn.iloc[0])}
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[5.8, 52.7], [5.9, 52.7]]},
    }
    selected = parcels_in_drawings(parcels, [feature, line])
    assert str(target["parcel_id"]) in selected
    expected = parcels[parcels.intersects(box)]["parcel_id"].astype(str).tolist()
    assert sorted(selected) == sorted(expected)
    assert parcels_in_drawings(parcels, None) == []
    assert parcels_in_drawings(parcels, [line]) == []


def test_selection_map_has_drawing_tools(engine, pilot_build):
    assignment = engine.empty_assignment()
    assignment[engine.applicable("anlb_meadow_bird")] = "anlb_meadow_bird"
    page = selection_map(pilot_build, engine, assignment, "en", basemap=False)
    html = page.get_root().render()
    assert "L.Control.Draw" in html
    first = engine.parcel_ids[np.flatnonzero(assignment == "anlb_meadow_bird")[0]]
    assert f"{first}: ANLb meadow-bird management (rest period)" in html


def test_tables_use_names_and_ranges(engine):
    ids = _ids(engine, engine.applicable("arable_to_grassland"), 2)
    scenario = Scenario(
        name="tables",
        area_id=AREA,
        steps=[ParcelStep(measure="arable_to_grassland", parcel_ids=ids)],
    )
    result = engine.evaluate(scenario.assignment(engine))
    costs = tables.cost_table(engine, "en", result.costs)
    assert costs["Measure"].tolist() == ["Convert arable land to permanent grassland"]
    low, mid, high = (
        result.costs[f"annual_{v}"].iloc[0] for v in ("low", "mid", "high")
    )
    expected = f"{mid:,.0f} ({low:,.0f} – {high:,.0f})"
    assert costs["Per year, € (range)"].iloc[0] == expected
    kpis = tables.kpi_table(engine, "nl", result.kpis)
    assert "Aandeel blijvend grasland" in kpis["KPI"].tolist()
    assert "Stikstofdepositie op landbouwgrond" not in kpis["KPI"].tolist()


def _scenario_result(engine, measure: str, count: int = 4):
    ids = _ids(engine, engine.applicable(measure), count)
    scenario = Scenario(
        name="result",
        area_id=AREA,
        steps=[ParcelStep(measure=measure, parcel_ids=ids)],
    )
    return engine.evaluate(scenario.assignment(engine))


def test_scenario_maps_share_kpi_map_setup(engine, pilot_build):
    result = _scenario_result(engine, "agri_environment_mixture")
    assignment = engine.empty_assignment()
    notice = translate("map.basemap_unavailable", "en")
    pages = {
        "difference": difference_map(
            pilot_build, engine, result, "agri_environment_share", "en"
        ),
        "selection": selection_map(pilot_build, engine, assignment, "en"),
    }
    for name, page in pages.items():
        rendered = page.get_root().render()
        # The base map falls back to a plain background, as on the KPI map.
        assert json.dumps(notice) in rendered, name
        assert "L.control.scale({metric: true, imperial: false})" in rendered, name
        assert "jquery" not in rendered.lower(), name
        assert "bootstrap" not in rendered.lower(), name
        assert "awesome-markers" not in rendered.lower(), name
    draw_page = pages["selection"].get_root().render()
    assert "leaflet.draw" in draw_page


def test_tables_format_numbers_dutch(engine):
    result = _scenario_result(engine, "arable_to_grassland", 3)
    tables_nl = {
        "kpi": tables.kpi_table(engine, "nl", result.kpis),
        "cost": tables.cost_table(engine, "nl", result.costs),
        "gain": tables.gain_table(
            engine, "nl", result.cost_per_gain().dropna(subset=["eur_per_unit"])
        ),
    }
    for name, table in tables_nl.items():
        cells = table.to_numpy().ravel().tolist()
        assert all(isinstance(cell, str) for cell in cells), name
        for cell in cells:
            assert cell not in ("None", "nan", "NaN", "<NA>"), name
            assert "None" not in cell, name
            assert "nan" not in cell.split(), name
    kpis = tables_nl["kpi"].set_index("KPI")
    row = kpis.loc["Aandeel blijvend grasland"]
    current = engine.current_values["permanent_grassland_share"]
    assert row["Nu"] == i18n.format_number(current, "nl")
    assert "," in row["Nu"]
    assert row["Eenheid"] == "%"
    assert row["Doel gehaald (midden)"] in ("ja", "nee")
    annual = result.costs["annual_mid"].iloc[0]
    expected = i18n.format_number(annual, "nl", 0)
    assert tables_nl["cost"]["Per jaar, € (bandbreedte)"].iloc[0].startswith(expected)
    if annual >= 1000:
        assert "." in expected


def test_tables_show_missing_as_no_data(engine):
    frame = pd.DataFrame(
        {
            "measure_id": ["arable_to_grassland"],
            "parcels": [2],
            "treated_ha": [float("nan")],
            "annual_low": [None],
            "annual_mid": [None],
            "annual_high": [None],
            "one_off_low": [1000.0],
            "one_off_mid": [1500.0],
            "one_off_high": [2500.0],
        }
    )
    table = tables.cost_table(engine, "nl", frame)
    row = table.iloc[0]
    assert row["Behandeld (ha)"] == "geen gegevens"
    assert row["Per jaar, € (bandbreedte)"] == "geen gegevens"
    assert row["Eenmalig, € (bandbreedte)"] == "1.500 (1.000 – 2.500)"
    english = tables.cost_table(engine, "en", frame).iloc[0]
    assert english["One-off, € (range)"] == "1,500 (1,000 – 2,500)"


def test_comparison_table_names_and_formats(engine):
    scenario = Scenario(
        name="Gras & bloemen",
        area_id=AREA,
        steps=[RuleStep(measure="arable_to_grassland", where="area_ha > 10")],
    )
    raw = compare_scenarios(engine, [scenario])
    table = tables.comparison_table(engine, "nl", raw)
    assert list(table.columns) == [
        "KPI",
        "Eenheid",
        "Nu",
        "Gras & bloemen",
        "Gras & bloemen (bandbreedte)",
    ]
    assert table["KPI"].iloc[-1].startswith("Kosten per jaar")
    cells = table.to_numpy().ravel().tolist()
    assert "None" not in cells
    assert "nan" not in cells
    # A range is "low – high" in Dutch numbers, not a Python tuple.
    for cell in table["Gras & bloemen (bandbreedte)"]:
        assert " – " in cell or cell == "geen gegevens", cell
        assert not cell.startswith("("), cell


def test_step_problems_translated(engine):
    unknown = {"kind": "parcels", "measure": None, "parcel_ids": ["nope-1"]}
    dutch = step_problem(engine, unknown, "nl")
    assert dutch is not None
    assert dutch.startswith("Perceel-id(s) nope-1 staan niet")
    english = step_problem(engine, unknown, "en")
    assert english is not None
    assert english.startswith("Parcel id(s) nope-1 are not")

    bad_rule = {"kind": "rule", "measure": "arable_to_grassland", "where": "foo > 1"}
    assert "onbekende kolom(men) foo" in (step_problem(engine, bad_rule, "nl") or "")
    broken = {"kind": "rule", "measure": "arable_to_grassland", "where": "area_ha >"}
    assert "geen geldige formule" in (step_problem(engine, broken, "nl") or "")

    wrong = engine.parcel_ids[~engine.applicable("arable_to_grassland")][:1].tolist()
    misfit = {"kind": "parcels", "measure": "arable_to_grassland", "parcel_ids": wrong}
    text = step_problem(engine, misfit, "nl") or ""
    assert text.startswith(
        "Bouwland omzetten in blijvend grasland past niet op perceel"
    )
    assert "de maatregel past alleen waar" in text

    fine = {"kind": "rule", "measure": "arable_to_grassland", "where": "area_ha > 10"}
    assert step_problem(engine, fine, "nl") is None


def test_unavailable_measure_reason_translated(engine):
    unusable = [
        m for m in engine.library.measures if engine.unavailable_reason(m) is not None
    ]
    assert unusable
    for measure in unusable:
        text = unavailable_text(engine, measure, "nl")
        assert text is not None
        assert text.startswith("de perceeltabel heeft geen kolom")
        assert "(datagat)" in text
