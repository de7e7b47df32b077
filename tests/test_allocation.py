"""Allocation of ambitions to areas, on the real builds, and the allocation page.

Totals in the temporary ambition configs below are chosen so that the
shortfall can be worked out by hand from the Groene Hart config: baseline
12,360 and target 8,650 t CO2-eq/yr of peat emission, an own commitment of
3,710 t.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo_dashboard.allocation_view import summary_texts, task_table
from geo_dashboard.ambition import (
    BASE_GAP,
    BASE_UNUSED,
    DATA_GAP,
    NO_BASE,
    NO_BUILD,
    AmbitionConfig,
    ambition_summary,
    area_tasks,
    list_ambition_configs,
    load_ambition_config,
    read_area_names,
    split_total,
)
from geo_dashboard.config import list_areas
from geo_dashboard.errors import ConfigError
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import BuildOutput
from tests.conftest import REPO

LIBRARY = load_kpi_library()
CONFIGS = REPO / "area_configs"
AREAS = ["noordoostpolder", "groene_hart", "laag_holland"]
MAIN = REPO / "geo_dashboard" / "app" / "main.py"
TIMEOUT_S = 120
GH_OWN_REDUCTION = 12360.0 - 8650.0


def _config(ambitions: list[dict], areas: list[str] = AREAS) -> AmbitionConfig:
    return AmbitionConfig.model_validate(
        {
            "id": "test_programme",
            "name": {"nl": "Testprogramma", "en": "Test programme"},
            "level": "province",
            "areas": areas,
            "ambitions": ambitions,
        }
    )


def _peat(total: float, allocate: dict, decimals: int = 0) -> dict:
    return {
        "id": "peat",
        "name": {"nl": "Veen", "en": "Peat"},
        "kpi": "peat_co2_emission",
        "kind": "reduction",
        "total": total,
        "year": 2030,
        "basis": "provisional",
        "source": "test",
        "allocate": allocate,
        "decimals": decimals,
    }


def _level(total: float) -> dict:
    return {
        "id": "nh3_level",
        "name": {"nl": "NH3", "en": "NH3"},
        "kpi": "natura2000_nh3_above_3ug",
        "kind": "level",
        "total": total,
        "year": 2035,
        "basis": "provisional",
        "source": "test",
    }


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# --- Splitting a total --------------------------------------------------------


@pytest.mark.parametrize("total, decimals", [(2060, 0), (100, 0), (7, 0), (12.345, 2)])
def test_split_sums_exactly(total: float, decimals: int) -> None:
    parts = split_total(total, {"a": 1057.6, "b": 333.3, "c": 0.0, "d": 1.0}, decimals)
    assert sum(round(p * 10**decimals) for p in parts.values()) == round(
        total * 10**decimals
    )
    assert parts["c"] == 0


def test_split_largest_remainder_by_hand() -> None:
    # 100 over three equal weights: all remainders are equal, so the first
    # area in order gets the unit left over.
    assert split_total(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    # 10 over 1:2:2 gives 2, 4, 4 exactly.
    assert split_total(10, {"a": 1, "b": 2, "c": 2}) == {"a": 2, "b": 4, "c": 4}


def test_split_without_base_raises() -> None:
    with pytest.raises(ValueError, match="no area has a positive base"):
        split_total(10, {"a": 0.0})


# --- Area tasks on the real builds --------------------------------------------


def test_programme_tasks(all_builds: dict[str, BuildOutput]) -> None:
    config = load_ambition_config(
        CONFIGS, "veenweide_stikstof", LIBRARY, list_areas(CONFIGS)
    )
    tasks = area_tasks(config, all_builds, LIBRARY)
    peat = tasks[tasks["ambition_id"] == "peat_co2_reduction"].set_index("area_id")
    assert peat["task"].sum() == pytest.approx(2060)
    assert peat.loc["groene_hart", "task"] == 2060
    assert peat.loc["groene_hart", "base"] == pytest.approx(1057.63, abs=0.01)
    assert peat.loc["groene_hart", "task_value"] == pytest.approx(12360 - 2060)
    assert peat.loc["groene_hart", "current_value"] == pytest.approx(12360.33, abs=0.01)
    assert peat.loc["groene_hart", "own_commitment"] == pytest.approx(GH_OWN_REDUCTION)
    assert peat.loc["groene_hart", "shortfall"] == 0
    assert peat.loc["noordoostpolder", "task_reason"] == BASE_GAP
    assert peat.loc["noordoostpolder", "base_missing"] == "peat_soil"
    assert peat.loc["laag_holland", "task_reason"] == BASE_UNUSED
    assert _empty(peat.loc["laag_holland", "task"])
    assert peat.loc["laag_holland", "own_reason"] == DATA_GAP
    assert peat.loc["laag_holland", "missing_layers"] == "parcels, peat_emission"
    level = tasks[tasks["ambition_id"] == "n2000_below_higher_plant_level"]
    assert (level["task"] == 26).all()


def test_weights_sum_exactly(all_builds: dict[str, BuildOutput]) -> None:
    weights = {"noordoostpolder": 1, "groene_hart": 1, "laag_holland": 1}
    config = _config([_peat(100, {"weights": weights})])
    tasks = area_tasks(config, all_builds, LIBRARY).set_index("area_id")
    assert tasks["task"].sum() == 100
    assert tasks["task"].to_dict() == {
        "noordoostpolder": 34,
        "groene_hart": 33,
        "laag_holland": 33,
    }


def test_weights_with_decimals_sum_exactly(all_builds: dict[str, BuildOutput]) -> None:
    weights = {"noordoostpolder": 3, "groene_hart": 5, "laag_holland": 7}
    config = _config([_peat(1000.05, {"weights": weights}, decimals=2)])
    tasks = area_tasks(config, all_builds, LIBRARY)
    assert round(tasks["task"].sum() * 100) == 100005


def test_reduction_shortfall_by_hand(all_builds: dict[str, BuildOutput]) -> None:
    config = _config([_peat(5000, {"by_kpi": "farmland_on_peat"})])
    tasks = area_tasks(config, all_builds, LIBRARY)
    gh = tasks.set_index("area_id").loc["groene_hart"]
    assert gh["task"] == 5000
    assert gh["shortfall"] == pytest.approx(5000 - GH_OWN_REDUCTION)
    summary = ambition_summary(config, tasks).iloc[0]
    assert summary["allocated"] == 5000
    assert summary["committed"] == pytest.approx(GH_OWN_REDUCTION)
    # Two areas have no own commitment, so the shortfall of at most 1,290 t
    # cannot be computed.
    assert _empty(summary["shortfall"])
    assert summary["areas_unknown"] == 2
    assert summary["unknown_areas"] == ("noordoostpolder", "laag_holland")
    assert summary["areas_short"] == 1


def test_reduction_shortfall_all_known(all_builds: dict[str, BuildOutput]) -> None:
    config = _config([_peat(5000, {"by_kpi": "farmland_on_peat"})], ["groene_hart"])
    summary = ambition_summary(config, area_tasks(config, all_builds, LIBRARY)).iloc[0]
    assert summary["shortfall"] == pytest.approx(1290)
    assert summary["unknown_areas"] == ()


def test_reduction_met_has_no_shortfall(all_builds: dict[str, BuildOutput]) -> None:
    config = _config([_peat(2060, {"by_kpi": "farmland_on_peat"})])
    summary = ambition_summary(config, area_tasks(config, all_builds, LIBRARY)).iloc[0]
    assert summary["shortfall"] == 0
    assert summary["committed"] == pytest.approx(3710)


def test_level_shortfall_by_hand(all_builds: dict[str, BuildOutput]) -> None:
    # Every area aims at 26% above 3 µg/m³; a level of 20% misses by 6 points.
    config = _config([_level(20)])
    tasks = area_tasks(config, all_builds, LIBRARY).set_index("area_id")
    assert tasks["own_commitment"].to_dict() == {area: 26.0 for area in AREAS}
    assert tasks["shortfall"].to_dict() == {area: 6.0 for area in AREAS}
    assert tasks.loc["laag_holland", "current_value"] == pytest.approx(89.98, abs=0.01)
    summary = ambition_summary(config, tasks.reset_index()).iloc[0]
    assert summary["areas_short"] == 3
    assert _empty(summary["shortfall"])


def test_area_without_build(all_builds: dict[str, BuildOutput]) -> None:
    builds = {area: all_builds[area] for area in ("noordoostpolder", "groene_hart")}
    config = _config([_peat(90, {"weights": {"groene_hart": 1, "laag_holland": 2}})])
    tasks = area_tasks(config, builds, LIBRARY).set_index("area_id")
    # Weights need no build, so Laag Holland still gets its share.
    assert tasks.loc["laag_holland", "task"] == 60
    assert tasks.loc["groene_hart", "task"] == 30
    assert tasks.loc["noordoostpolder", "task"] == 0
    assert tasks.loc["laag_holland", "own_reason"] == NO_BUILD
    assert tasks.loc["laag_holland", "value_reason"] == NO_BUILD
    assert _empty(tasks.loc["laag_holland", "shortfall"])


def test_no_positive_base_gives_reasons(all_builds: dict[str, BuildOutput]) -> None:
    config = _config(
        [_peat(100, {"by_kpi": "farmland_on_peat"})],
        areas=["noordoostpolder", "laag_holland"],
    )
    tasks = area_tasks(config, all_builds, LIBRARY).set_index("area_id")
    assert tasks["task"].isna().all()
    assert tasks.loc["noordoostpolder", "task_reason"] == BASE_GAP
    assert tasks.loc["laag_holland", "task_reason"] == BASE_UNUSED
    zero = _config([_peat(100, {"weights": {"groene_hart": 0}})], areas=["groene_hart"])
    reasons = area_tasks(zero, all_builds, LIBRARY)["task_reason"]
    assert list(reasons) == [NO_BASE]


# --- Config checks ------------------------------------------------------------


def test_every_ambition_config_loads() -> None:
    assert list_ambition_configs(CONFIGS) == ["veenweide_stikstof"]
    for ambition_id in list_ambition_configs(CONFIGS):
        load_ambition_config(CONFIGS, ambition_id, LIBRARY, list_areas(CONFIGS))


def _write_variant(tmp_path: Path, old: str, new: str) -> None:
    (tmp_path / "ambitions").mkdir()
    text = (CONFIGS / "ambitions" / "veenweide_stikstof.yaml").read_text(
        encoding="utf-8"
    )
    assert old in text
    (tmp_path / "ambitions" / "bad.yaml").write_text(
        text.replace(old, new), encoding="utf-8"
    )


def test_ambition_with_unknown_area(tmp_path: Path) -> None:
    _write_variant(tmp_path, "laag_holland]", "atlantis]")
    with pytest.raises(ConfigError, match=r"areas\.2: area 'atlantis' has no config"):
        load_ambition_config(tmp_path, "bad", LIBRARY, list_areas(CONFIGS))


def test_ambition_weight_for_unlisted_area(tmp_path: Path) -> None:
    _write_variant(
        tmp_path, "by_kpi: farmland_on_peat", "weights: {groene_hart: 1, texel: 2}"
    )
    with pytest.raises(ConfigError, match=r"allocate\.weights: area 'texel' is not in"):
        load_ambition_config(tmp_path, "bad", LIBRARY, list_areas(CONFIGS))


def test_ambition_with_repeated_area(tmp_path: Path) -> None:
    _write_variant(tmp_path, "laag_holland]", "laag_holland, groene_hart]")
    with pytest.raises(ConfigError, match="groene_hart more than once"):
        load_ambition_config(tmp_path, "bad", LIBRARY, list_areas(CONFIGS))


def test_ambition_with_unknown_kpi(tmp_path: Path) -> None:
    _write_variant(tmp_path, "by_kpi: farmland_on_peat", "by_kpi: peat_depth")
    with pytest.raises(ConfigError, match=r"allocate\.by_kpi: KPI 'peat_depth'"):
        load_ambition_config(tmp_path, "bad", LIBRARY, list_areas(CONFIGS))


# --- Texts of the page --------------------------------------------------------


def test_task_table_shows_gaps(all_builds: dict[str, BuildOutput]) -> None:
    config = load_ambition_config(
        CONFIGS, "veenweide_stikstof", LIBRARY, list_areas(CONFIGS)
    )
    tasks = area_tasks(config, all_builds, LIBRARY)
    names = {area: area for area in AREAS}
    table = task_table(tasks, config.ambitions[0], LIBRARY, names, "nl").set_index(
        "Gebied"
    )
    assert table.loc["groene_hart", "Opgave"] == "2.060\u00a0t CO2-eq/jr"
    assert table.loc["groene_hart", "Eigen doel"] == "8.650\u00a0t CO2-eq/jr (2030)"
    assert table.loc["groene_hart", "Tekort"] == "0\u00a0t CO2-eq/jr"
    nop = table.loc["noordoostpolder"]
    assert (
        nop["Opgave"]
        == "geen opgave: geen gegevens voor de verdeling (ontbreekt: veenbodems)"
    )
    assert nop["Tekort"] == "geen opgave"
    lh = table.loc["laag_holland"]
    assert lh["Huidige waarde"].startswith(
        "geen gegevens (ontbreekt: landbouwpercelen (BRP)"
    )
    level = task_table(tasks, config.ambitions[1], LIBRARY, names, "en")
    assert "Base of the split" not in level.columns
    assert list(level["Task"]) == ["26%"] * 3


def test_summary_texts_by_hand(all_builds: dict[str, BuildOutput]) -> None:
    config = _config([_peat(5000, {"by_kpi": "farmland_on_peat"}), _level(20)])
    summary = ambition_summary(config, area_tasks(config, all_builds, LIBRARY))
    peat, level = (row for row in summary.to_dict("records"))
    names = read_area_names(CONFIGS, AREAS, "nl")
    texts = summary_texts(peat, "nl", names)
    assert texts[0] == (
        "Het tekort is nog niet te berekenen, want voor deze KPI ontbreekt een "
        "build of een eigen doel van: Noordoostpolder, pilotblok "
        "Marknesse-Luttelgeest, Laag Holland. Bouw die "
        "gebieden of leg hun doel vast."
    )
    assert texts[1] == (
        "De bekende eigen doelen (1 van de 3 gebieden) verminderen samen "
        "3.710\u00a0t CO2-eq/jr van de 5.000\u00a0t CO2-eq/jr."
    )
    assert "tekort van" not in " ".join(texts)
    assert summary_texts(level, "en") == [
        "3 of the 3 areas have an own target that misses this level."
    ]


def test_summary_texts_shortfall_when_known(
    all_builds: dict[str, BuildOutput],
) -> None:
    config = _config([_peat(5000, {"by_kpi": "farmland_on_peat"})], ["groene_hart"])
    summary = ambition_summary(config, area_tasks(config, all_builds, LIBRARY))
    texts = summary_texts(summary.to_dict("records")[0], "nl")
    assert texts[0] == (
        "De eigen doelen samen verminderen 3.710\u00a0t CO2-eq/jr van de "
        "5.000\u00a0t CO2-eq/jr: een tekort van 1.290\u00a0t CO2-eq/jr."
    )


def test_summary_texts_none_known(all_builds: dict[str, BuildOutput]) -> None:
    builds = {"noordoostpolder": all_builds["noordoostpolder"]}
    config = _config([_peat(2060, {"by_kpi": "farmland_on_peat"})])
    summary = ambition_summary(config, area_tasks(config, builds, LIBRARY))
    row = summary.to_dict("records")[0]
    texts = summary_texts(row, "en", read_area_names(CONFIGS, AREAS, "en"))
    assert texts[0].startswith("The shortfall cannot be computed yet")
    assert "Groene Hart" in texts[0]
    assert "laag_holland" not in texts[0]
    joined = " ".join(texts)
    assert "reduce 0" not in joined
    assert "shortfall of" not in joined


def test_area_names_from_configs() -> None:
    names = read_area_names(CONFIGS, ["laag_holland", "no_such_area"], "en")
    assert names == {"laag_holland": "Laag Holland", "no_such_area": "no_such_area"}


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
    monkeypatch.setenv("GEO_DASHBOARD_CONFIGS", str(CONFIGS))
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(builds_dir))
    monkeypatch.setenv("GEO_DASHBOARD_AREA", area)
    monkeypatch.setenv(
        "GEO_DASHBOARD_DB", f"sqlite:///{builds_dir / 'dashboard.sqlite'}"
    )


def _run_page(language: str) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)
    at.session_state["language"] = language
    at.run()
    at.switch_page("views/allocation.py").run()
    return at


@pytest.mark.slow
@pytest.mark.parametrize("language", ["nl", "en"])
def test_allocation_page_renders(
    language: str, all_builds: dict[str, BuildOutput], monkeypatch: pytest.MonkeyPatch
) -> None:
    builds_dir = all_builds["groene_hart"].folder.parent.parent
    _point_app_at(monkeypatch, builds_dir, "groene_hart")
    at = _run_page(language)
    assert not at.exception
    assert not at.error
    assert len(at.dataframe) == 2
    peat = at.dataframe[0].value
    area_column = "Gebied" if language == "nl" else "Area"
    task_column = "Opgave" if language == "nl" else "Task"
    rows = peat.set_index(area_column)[task_column]
    assert rows["Laag Holland"].startswith(
        "geen opgave" if language == "nl" else "no task"
    )
    total = "2.060\u00a0t CO2-eq/jr" if language == "nl" else "2,060\u00a0t CO2-eq/yr"
    assert total in list(rows)
    # Both ambitions are met by the own targets.
    assert len(at.success) == 2
    assert not at.warning
    assert len(at.caption) >= 3


@pytest.mark.slow
def test_allocation_page_lists_unbuilt_area(
    all_builds: dict[str, BuildOutput], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A builds folder with only Groene Hart built.
    builds_dir = tmp_path / "build"
    (builds_dir / "groene_hart").mkdir(parents=True)
    (builds_dir / "groene_hart" / "current").symlink_to(
        all_builds["groene_hart"].folder
    )
    _point_app_at(monkeypatch, builds_dir, "groene_hart")
    at = _run_page("en")
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("laag\\_holland has no build yet" in w for w in warnings)
    assert "geo-dashboard build laag_holland" in [c.value for c in at.code]
    table = at.dataframe[0].value.set_index("Area")
    assert (
        table.loc["Laag Holland", "Current value"]
        == "no build (make it with geo-dashboard build)"
    )


@pytest.mark.slow
def test_allocation_page_only_pilot_built(
    all_builds: dict[str, BuildOutput], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    builds_dir = tmp_path / "build"
    (builds_dir / "noordoostpolder").mkdir(parents=True)
    (builds_dir / "noordoostpolder" / "current").symlink_to(
        all_builds["noordoostpolder"].folder
    )
    _point_app_at(monkeypatch, builds_dir, "noordoostpolder")
    at = _run_page("nl")
    assert not at.exception
    header = " ".join(m.value for m in at.markdown)
    assert "Laag Holland" in header
    assert "laag\\_holland" not in header
    assert "groene\\_hart" not in header
    warnings = [w.value for w in at.warning]
    assert any("Het tekort is nog niet te berekenen" in w for w in warnings)
    shown = " ".join([*warnings, *(c.value for c in at.caption)])
    assert "een tekort van" not in shown
    assert "verminderen 0" not in shown
