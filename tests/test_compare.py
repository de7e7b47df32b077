"""Area comparison and the split of ambitions into area tasks, on the real areas."""

from __future__ import annotations

import pytest

from geo_dashboard.ambition import (
    area_tasks,
    list_ambition_configs,
    load_ambition_config,
    split_total,
)
from geo_dashboard.compare import comparison_table, theme_progress
from geo_dashboard.config import list_areas
from geo_dashboard.errors import ConfigError
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import BuildOutput
from tests.conftest import REPO

LIBRARY = load_kpi_library()
CONFIGS = REPO / "area_configs"


@pytest.fixture(scope="module")
def builds(all_builds: dict[str, BuildOutput]) -> dict[str, BuildOutput]:
    return all_builds


def test_normalised_values_match_hand_computation(builds) -> None:
    table = comparison_table(builds, LIBRARY).set_index(["area_id", "kpi_id"])
    gh = builds["groene_hart"]
    area_ha = gh.boundary.geometry.area.sum() / 10_000
    farmland_ha = gh.parcels["area_ha"].sum()
    emission = gh.kpis.set_index("kpi_id").loc["peat_co2_emission", "value"]
    row = table.loc[("groene_hart", "peat_co2_emission")]
    assert row["per_ha"] == pytest.approx(emission / area_ha)
    assert row["per_farmland_ha"] == pytest.approx(emission / farmland_ha)


def test_shares_are_not_normalised(builds) -> None:
    table = comparison_table(builds, LIBRARY).set_index(["area_id", "kpi_id"])
    row = table.loc[("noordoostpolder", "nitrate_risk_arable_share")]
    assert row["value"] == pytest.approx(58.53, abs=0.01)
    assert row["per_ha"] is None or row["per_ha"] != row["per_ha"]


def test_gap_stays_gap_not_zero(builds) -> None:
    table = comparison_table(builds, LIBRARY).set_index(["area_id", "kpi_id"])
    row = table.loc[("laag_holland", "peat_co2_emission")]
    assert row["status"] == "gap"
    assert row["value"] is None or row["value"] != row["value"]
    assert "parcels" in row["missing_layers"]


def test_theme_progress_leaves_out_gaps(builds) -> None:
    progress = theme_progress(comparison_table(builds, LIBRARY))
    lh = progress[progress["area_id"] == "laag_holland"]
    assert set(lh["theme"]) == {"nature"}


@pytest.mark.parametrize("total, decimals", [(2060, 0), (100, 0), (7, 0), (12.345, 2)])
def test_split_sums_exactly(total: float, decimals: int) -> None:
    parts = split_total(total, {"a": 1057.6, "b": 333.3, "c": 0.0, "d": 1.0}, decimals)
    assert sum(round(p * 10**decimals) for p in parts.values()) == round(total * 10**decimals)
    assert parts["c"] == 0


def test_split_without_base_raises() -> None:
    with pytest.raises(ValueError, match="no area has a positive base"):
        split_total(10, {"a": 0.0})


def test_programme_tasks(builds) -> None:
    config = load_ambition_config(CONFIGS, "veenweide_stikstof", LIBRARY, list_areas(CONFIGS))
    tasks = area_tasks(config, builds, LIBRARY)
    peat = tasks[tasks["ambition_id"] == "peat_co2_reduction"].set_index("area_id")
    assert peat["task"].sum() == pytest.approx(2060)
    assert peat.loc["groene_hart", "task"] == 2060
    assert peat.loc["groene_hart", "own_commitment"] == pytest.approx(12360 - 8650)
    assert peat.loc["groene_hart", "shortfall"] == 0
    assert "data gap" in peat.loc["laag_holland", "note"]
    level = tasks[tasks["ambition_id"] == "n2000_below_higher_plant_level"]
    assert (level["task"] == 26).all()


def test_every_ambition_config_loads() -> None:
    for ambition_id in list_ambition_configs(CONFIGS):
        load_ambition_config(CONFIGS, ambition_id, LIBRARY, list_areas(CONFIGS))


def test_ambition_with_unknown_area(tmp_path) -> None:
    (tmp_path / "ambitions").mkdir()
    text = (CONFIGS / "ambitions" / "veenweide_stikstof.yaml").read_text(encoding="utf-8")
    (tmp_path / "ambitions" / "bad.yaml").write_text(
        text.replace("laag_holland]", "atlantis]"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"areas\.2: area 'atlantis' has no config"):
        load_ambition_config(tmp_path, "bad", LIBRARY, list_areas(CONFIGS))
