"""Disclosure control on the real pilot build with its illustrative farms.

Access paths tested here, each for farmer A against farm B (which consents to
the coordinator and to aggregates, never to other farmers):

- library: :func:`geo_dashboard.privacy.disclose` (every table it returns),
  ``Disclosure.farm_parcels`` and :func:`geo_dashboard.privacy.own_farm.farm_measures`
  (both reject farm B with AccessDeniedError);
- map popups: :func:`geo_dashboard.maps.build_map` on the disclosed build (the
  map page) and on farm A's parcels (the farm page);
- scenario engine: per-farm effects of the scenario page, built on
  ``Disclosure.pooled_parcels``;
- exports: :func:`geo_dashboard.exports.export_for_viewer` in every format
  (it writes through ``export_disclosed``, which the download page calls
  with the page's disclosure), and :func:`geo_dashboard.exports.export`
  (the public export of the CLI).

The pages of the app are tested with AppTest in tests/test_farm_page.py.
Aggregates, suppression and consent withdrawal are tested at the end.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo_dashboard.catalog import load_catalog
from geo_dashboard.config import PrivacyRules, load_area_config
from geo_dashboard.errors import ConfigError
from geo_dashboard.exports import EXPORT_FORMATS, export, export_for_viewer
from geo_dashboard.kpis import aggregate, load_kpi_library
from geo_dashboard.maps import build_map
from geo_dashboard.measures import ScenarioEngine, load_measure_library
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.privacy import (
    OTHER_FARMS,
    PUBLIC,
    AccessDeniedError,
    Viewer,
    disclose,
    suppression_reason,
)
from geo_dashboard.privacy.own_farm import farm_measures
from geo_dashboard.store import Store, consent_history, consent_state, set_consent
from tests import farm_fixtures
from tests.farm_fixtures import (
    FARM_A,
    FARM_B,
    FARM_C,
    disclosure_text,
    parcels_of,
)

# Fixtures of the shared module, made visible to pytest in this module.
farm_store = farm_fixtures.farm_store
store_url = farm_fixtures.store_url

LIBRARY = load_kpi_library()
FARMER_A = Viewer("farmer", frozenset({FARM_A}), name="boer-a")
COORDINATOR = Viewer("coordinator", name="coordinator")
# B shows itself to the coordinator and in aggregates, never to farmers;
# C shows itself to other farmers.
CONSENTS = {
    FARM_B: frozenset({"coordinator", "aggregates"}),
    FARM_C: frozenset({"farmers"}),
}
NH3 = "nh3_concentration_farmland"


def _farms(build: BuildOutput, count: int) -> list[str]:
    return sorted(build.parcels["farm_id"].unique())[:count]


@pytest.fixture(scope="module")
def engine(pilot_build: BuildOutput, pilot_paths: ProjectPaths) -> ScenarioEngine:
    """A scenario engine on farmer A's view of the pilot build."""
    config = load_area_config(
        pilot_paths.configs,
        pilot_build.area_id,
        load_catalog(pilot_paths.layers),
        LIBRARY,
    )
    measures = load_measure_library(pilot_build.area_id, pilot_paths.configs)
    parcels = disclose(FARMER_A, pilot_build, CONSENTS).pooled_parcels()
    return ScenarioEngine(parcels, measures, config, LIBRARY, pilot_build.nature)


# --- Library: disclose() ------------------------------------------------------


def test_farmer_sees_own_farm_only(pilot_build: BuildOutput) -> None:
    seen = disclose(FARMER_A, pilot_build, CONSENTS, library=LIBRARY)
    assert seen.own_farms == {FARM_A}
    assert seen.visible_farms == {FARM_A, FARM_C}
    farm_ids = set(seen.build.parcels["farm_id"].dropna())
    assert farm_ids == {FARM_A, FARM_C}
    assert set(seen.build.farm_kpis["farm_id"]) == {FARM_A, FARM_C}
    assert set(seen.contributions["farm_id"]) == {FARM_A, FARM_C}
    # Public parcel attributes stay, so the map still shows every parcel.
    assert len(seen.build.parcels) == len(pilot_build.parcels)


def test_farmer_disclosure_never_names_other_farm(pilot_build: BuildOutput) -> None:
    figures = pd.DataFrame(
        {
            "farm_id": [FARM_A, FARM_B],
            "year": [2023, 2023],
            "nh3_emission_kg_ha": [31.5, 44.0],
        }
    )
    seen = disclose(FARMER_A, pilot_build, CONSENTS, farm_data=figures, library=LIBRARY)
    text = disclosure_text(seen)
    assert FARM_A in text
    assert FARM_B not in text
    assert list(seen.farm_data["farm_id"]) == [FARM_A]


def test_other_farms_parcels_denied(pilot_build: BuildOutput) -> None:
    seen = disclose(FARMER_A, pilot_build, CONSENTS, contributions_for=())
    assert sorted(seen.farm_parcels(FARM_A)["parcel_id"].astype(str)) == parcels_of(
        pilot_build, FARM_A
    )
    with pytest.raises(AccessDeniedError, match="may not see farm"):
        seen.farm_parcels(FARM_B)


def test_other_farms_measures_denied(
    pilot_build: BuildOutput, engine: ScenarioEngine
) -> None:
    seen = disclose(FARMER_A, pilot_build, CONSENTS, contributions_for=())
    with pytest.raises(AccessDeniedError):
        farm_measures(engine, seen, FARM_B)
    own = farm_measures(engine, seen, FARM_A)
    assert not own.measures.empty
    assert (own.measures["parcels"] <= len(parcels_of(pilot_build, FARM_A))).all()


def test_farmer_outside_area_sees_nothing(pilot_build: BuildOutput) -> None:
    outsider = Viewer("farmer", frozenset({"ILLUSTRATIEF-999-999"}))
    seen = disclose(outsider, pilot_build, CONSENTS, library=LIBRARY)
    assert seen.visible_farms == frozenset()
    assert "farm_id" not in seen.build.parcels


def test_coordinator_sees_consenting_farms(pilot_build: BuildOutput) -> None:
    seen = disclose(COORDINATOR, pilot_build, CONSENTS, library=LIBRARY)
    assert seen.visible_farms == {FARM_B}
    text = disclosure_text(seen)
    assert FARM_A not in text
    assert FARM_C not in text


@pytest.mark.parametrize("viewer", [PUBLIC, Viewer("planner", name="planner")])
def test_no_farm_identity_for(pilot_build: BuildOutput, viewer: Viewer) -> None:
    seen = disclose(viewer, pilot_build, CONSENTS, library=LIBRARY)
    assert seen.visible_farms == frozenset()
    assert "farm_id" not in seen.build.parcels
    assert seen.build.farm_kpis is not None and seen.build.farm_kpis.empty
    assert "ILLUSTRATIEF" not in disclosure_text(seen)


# --- Map popups ---------------------------------------------------------------


def test_map_popups_never_name_a_farm(pilot_build: BuildOutput) -> None:
    seen = disclose(FARMER_A, pilot_build, CONSENTS, contributions_for=())
    kpi_map = build_map(seen.build, LIBRARY.get(NH3), basemap=False)
    html = kpi_map.map.get_root().render()
    for farm in (FARM_A, FARM_B, FARM_C):
        assert farm not in html


def test_farm_map_shows_own_parcels_only(pilot_build: BuildOutput) -> None:
    seen = disclose(FARMER_A, pilot_build, CONSENTS, contributions_for=())
    own = seen.farm_parcels(FARM_A)
    kpi_map = build_map(
        dataclasses.replace(seen.build, parcels=own),
        LIBRARY.get(NH3),
        basemap=False,
    )
    shown = set()
    for child in kpi_map.map._children.values():
        for feature in getattr(child, "data", {}).get("features", []):
            if "id" in feature["properties"]:
                shown.add(feature["properties"]["id"])
    assert sorted(shown) == parcels_of(pilot_build, FARM_A)


# --- Scenario engine ----------------------------------------------------------


def test_scenario_effects_pool_other_farms(
    pilot_build: BuildOutput, engine: ScenarioEngine
) -> None:
    measure = "agri_environment_mixture"
    applies = engine.applicable(measure)
    for farm, expected in ((FARM_B, {OTHER_FARMS}), (FARM_A, {FARM_A})):
        rows = engine.parcel_ids.isin(parcels_of(pilot_build, farm)) & applies
        assignment = engine.empty_assignment()
        assignment[rows] = measure
        effects = engine.evaluate(assignment).farm_effects
        assert set(effects["farm_id"]) == expected, farm


# --- Exports ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_export_for_farmer_never_names_other_farm(
    pilot_build: BuildOutput, tmp_path: Path, fmt: str
) -> None:
    path = export_for_viewer(
        pilot_build, FARMER_A, CONSENTS, fmt, tmp_path / f"export.{fmt}", kpi_id=NH3
    )
    if fmt == "gpkg":
        parcels = gpd.read_file(path)
        assert set(parcels["bedrijf_id"].dropna()) == {FARM_A, FARM_C}
        assert FARM_B not in parcels["bedrijf_id"].astype(str).to_numpy()
    elif fmt == "xlsx":
        sheets = pd.read_excel(path, sheet_name=None)
        assert set(sheets["bedrijven"]["farm_id"]) == {FARM_A, FARM_C}
        for name, sheet in sheets.items():
            assert FARM_B not in sheet.to_csv(), name
    elif fmt == "pdf":
        pypdf = pytest.importorskip("pypdf")
        text = pypdf.PdfReader(path).pages[0].extract_text()
        assert "ILLUSTRATIEF" not in text
    else:
        assert FARM_B.encode() not in path.read_bytes()


def test_public_export_has_no_farms(pilot_build: BuildOutput, tmp_path: Path) -> None:
    parcels = gpd.read_file(export(pilot_build, "gpkg", tmp_path / "p.gpkg"))
    assert "bedrijf_id" not in parcels.columns
    assert "farm_id" not in parcels.columns
    sheets = pd.read_excel(
        export(pilot_build, "xlsx", tmp_path / "k.xlsx"), sheet_name=None
    )
    assert set(sheets) == {"KPIs", "bronnen"}


def test_coordinator_export_has_aggregates(
    pilot_build: BuildOutput, tmp_path: Path
) -> None:
    path = export_for_viewer(
        pilot_build, COORDINATOR, CONSENTS, "xlsx", tmp_path / "k.xlsx"
    )
    sheets = pd.read_excel(path, sheet_name=None)
    assert set(sheets["bedrijven"]["farm_id"]) == {FARM_B}
    aggregates = sheets["bedrijfsaggregaten"]
    assert aggregates["suppressed"].all()
    assert set(aggregates["reason"]) == {"too_few_farms"}


# --- Aggregates and suppression -----------------------------------------------


@pytest.mark.parametrize(
    ("contributions", "expected"),
    [
        ([], "no_data"),
        ([1, 1, 1, 1], "too_few_farms"),
        ([1, 1, 1, 1, 1], None),
        ([86, 3.5, 3.5, 3.5, 3.5], "dominance"),
        ([85, 3.75, 3.75, 3.75, 3.75], None),
        ([0, 0, 0, 0, 0], None),
    ],
)
def test_suppression_reason(contributions: list[float], expected: str | None) -> None:
    rules = PrivacyRules(min_farms=5, dominance_share=0.85)
    reason = suppression_reason(pd.Series(contributions, dtype="float64"), rules)
    assert reason == expected


def test_fewer_than_k_consenting_farms_suppressed(pilot_build: BuildOutput) -> None:
    four = {farm: frozenset({"aggregates"}) for farm in _farms(pilot_build, 4)}
    seen = disclose(PUBLIC, pilot_build, four, library=LIBRARY, contributions_for=())
    kpis = seen.aggregates[seen.aggregates["source"] == "kpi"]
    assert len(kpis) == pilot_build.farm_kpis["kpi_id"].nunique()
    assert kpis["suppressed"].all()
    assert set(kpis["reason"]) == {"too_few_farms"}
    assert kpis["value"].isna().all()
    assert kpis["farms"].isna().all()


def test_k_consenting_farms_shown(pilot_build: BuildOutput) -> None:
    farms = _farms(pilot_build, 5)
    five = {farm: frozenset({"aggregates"}) for farm in farms}
    seen = disclose(PUBLIC, pilot_build, five, library=LIBRARY, contributions_for=())
    row = seen.aggregates.set_index("metric").loc[NH3]
    assert not row["suppressed"]
    assert row["farms"] == 5
    parcels = pilot_build.parcels[pilot_build.parcels["farm_id"].isin(farms)]
    assert row["value"] == pytest.approx(aggregate(LIBRARY.get(NH3), parcels))


def test_other_purposes_do_not_count(pilot_build: BuildOutput) -> None:
    farms = _farms(pilot_build, 10)
    consents = {farm: frozenset({"coordinator", "farmers"}) for farm in farms}
    seen = disclose(
        PUBLIC, pilot_build, consents, library=LIBRARY, contributions_for=()
    )
    assert set(seen.aggregates["reason"]) == {"no_data"}


def test_dominant_farm_suppressed(pilot_build: BuildOutput) -> None:
    farms = _farms(pilot_build, 5)
    figures = pd.DataFrame(
        {
            "farm_id": farms,
            "year": [2023] * 5,
            "ghg_emission_t_co2e": [5000.0, 100.0, 100.0, 100.0, 100.0],
            "nh3_emission_kg_ha": [30.0, 32.0, 35.0, 31.0, 29.0],
        }
    )
    consents = {farm: frozenset({"aggregates"}) for farm in farms}
    seen = disclose(
        PUBLIC,
        pilot_build,
        consents,
        farm_data=figures,
        library=LIBRARY,
        contributions_for=(),
    )
    rows = seen.aggregates[seen.aggregates["source"] == "farm_data"].set_index("metric")
    assert rows.loc["ghg_emission_t_co2e", "reason"] == "dominance"
    assert np.isnan(rows.loc["ghg_emission_t_co2e", "value"])
    assert not rows.loc["nh3_emission_kg_ha", "suppressed"]
    weights = pilot_build.parcels.groupby("farm_id")["area_ha"].sum().loc[farms]
    expected = np.average(figures["nh3_emission_kg_ha"], weights=weights.to_numpy())
    assert rows.loc["nh3_emission_kg_ha", "value"] == pytest.approx(expected)


def test_withdrawal_removes_farm_from_next_aggregate(
    pilot_build: BuildOutput, farm_store: Store
) -> None:
    area = pilot_build.area_id
    farms = _farms(pilot_build, 6)
    for farm in farms:
        set_consent(farm_store, area, farm, "aggregates", True, "boer")

    def nh3_row() -> pd.Series:
        consents = consent_state(farm_store, area)
        seen = disclose(
            PUBLIC, pilot_build, consents, library=LIBRARY, contributions_for=()
        )
        return seen.aggregates.set_index("metric").loc[NH3]

    assert nh3_row()["farms"] == 6
    set_consent(farm_store, area, farms[0], "aggregates", False, "boer")
    after = nh3_row()
    assert after["farms"] == 5
    remaining = pilot_build.parcels[pilot_build.parcels["farm_id"].isin(farms[1:])]
    assert after["value"] == pytest.approx(aggregate(LIBRARY.get(NH3), remaining))

    set_consent(farm_store, area, farms[1], "aggregates", False, "boer")
    assert nh3_row()["reason"] == "too_few_farms"
    history = consent_history(farm_store, area, farms[0])
    assert [change.granted for change in history] == [True, False]


def test_coordinator_consent_withdrawn(
    pilot_build: BuildOutput, farm_store: Store
) -> None:
    area = pilot_build.area_id
    set_consent(farm_store, area, FARM_B, "coordinator", True, "boer-b")
    seen = disclose(
        COORDINATOR, pilot_build, consent_state(farm_store, area), library=LIBRARY
    )
    assert seen.visible_farms == {FARM_B}
    set_consent(farm_store, area, FARM_B, "coordinator", False, "boer-b")
    seen = disclose(
        COORDINATOR, pilot_build, consent_state(farm_store, area), library=LIBRARY
    )
    assert seen.visible_farms == frozenset()
    assert FARM_B not in disclosure_text(seen)


# --- Area config --------------------------------------------------------------


def test_privacy_rules_from_config(sandbox: ProjectPaths) -> None:
    path = sandbox.configs / "noordoostpolder.yaml"
    catalog = load_catalog(sandbox.layers)
    assert load_area_config(
        sandbox.configs, "noordoostpolder", catalog, LIBRARY
    ).privacy == (PrivacyRules())
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text + "\nprivacy: {min_farms: 8, dominance_share: 0.6}\n", encoding="utf-8"
    )
    rules = load_area_config(
        sandbox.configs, "noordoostpolder", catalog, LIBRARY
    ).privacy
    assert rules == PrivacyRules(min_farms=8, dominance_share=0.6)


@pytest.mark.parametrize(
    "privacy", ["{k: 5}", "{min_farms: 1}", "{dominance_share: 0.4}"]
)
def test_invalid_privacy_rules_rejected(sandbox: ProjectPaths, privacy: str) -> None:
    path = sandbox.configs / "noordoostpolder.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + f"\nprivacy: {privacy}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="privacy"):
        load_area_config(
            sandbox.configs, "noordoostpolder", load_catalog(sandbox.layers), LIBRARY
        )
