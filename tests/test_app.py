"""Streamlit pages run with AppTest on the real pilot build.

Each test that needs the sidebar starts from a fresh AppTest of the entry
point.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths

pytestmark = pytest.mark.slow

MAIN = Path(__file__).resolve().parents[1] / "geo_dashboard" / "app" / "main.py"
TIMEOUT_S = 120


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


@pytest.fixture()
def pilot_env(
    monkeypatch: pytest.MonkeyPatch, pilot_paths: ProjectPaths, pilot_build: BuildOutput
) -> BuildOutput:
    """Point the app at the session's pilot build."""
    monkeypatch.setenv("GEO_DASHBOARD_LAYERS", str(pilot_paths.layers))
    monkeypatch.setenv("GEO_DASHBOARD_CONFIGS", str(pilot_paths.configs))
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(pilot_paths.builds))
    monkeypatch.setenv("GEO_DASHBOARD_AREA", pilot_build.area_id)
    return pilot_build


def _app() -> AppTest:
    return AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)


def _texts(elements: object) -> list[str]:
    return [str(element.value) for element in elements]  # type: ignore[attr-defined]


def test_overview_runs(pilot_env: BuildOutput) -> None:
    at = _app().run()
    assert not at.exception
    assert at.title[0].value.startswith("Overzicht: Noordoostpolder")
    assert len(at.metric) == len(pilot_env.kpis)
    values = {metric.label: metric.value for metric in at.metric}
    assert values["Landbouwgrond binnen het NNN"] == "geen gegevens"
    assert len(at.dataframe) == 2
    assert not at.error


def test_overview_lists_gaps_and_sources(pilot_env: BuildOutput) -> None:
    at = _app().run()
    gaps = at.dataframe[0].value
    holders = set(gaps["Wie kan de gegevens leveren"])
    assert pilot_env.manifest["data_gaps"]["nnn"] in holders
    sources = at.dataframe[1].value
    licences = list(sources["Licentie"])
    assert licences == [layer["licence"] for layer in pilot_env.manifest["layers"]]


def test_overview_marks_provisional_targets(pilot_env: BuildOutput) -> None:
    at = _app().run()
    markdown = _texts(at.markdown)
    assert any(":orange-badge[voorlopig]" in text for text in markdown)
    assert any("Doel 2030" in text for text in markdown)


def test_overview_shows_sources(pilot_env: BuildOutput) -> None:
    at = _app().run()
    assert len(at.expander) == len(pilot_env.kpis)
    captions = _texts(at.caption)
    assert any(text.startswith("Bron doel: provisional") for text in captions)


def test_switch_to_english(pilot_env: BuildOutput) -> None:
    at = _app().run()
    at.selectbox(key="language_select").set_value("en").run()
    assert not at.exception
    assert at.title[0].value.startswith("Overview: Noordoostpolder")
    assert "no data" in [metric.value for metric in at.metric]

    at.switch_page("views/map.py").run()
    assert not at.exception
    assert at.title[0].value == "Map"
    assert at.selectbox[0].label == "KPI on the map"


def test_map_page_runs_every_kpi(pilot_env: BuildOutput) -> None:
    at = _app().run()
    at.switch_page("views/map.py").run()
    assert not at.exception
    assert at.title[0].value == "Kaart"
    select = at.selectbox[0]
    assert len(select.options) == len(pilot_env.kpis)

    for kpi_id in pilot_env.kpis["kpi_id"]:
        at.selectbox[0].set_value(kpi_id).run()
        assert not at.exception, kpi_id
        status = pilot_env.kpis.set_index("kpi_id").loc[kpi_id, "status"]
        warnings = _texts(at.warning)
        if status == "gap":
            assert any("kan niet op de kaart" in text for text in warnings), kpi_id
        else:
            assert not warnings, kpi_id


def test_map_page_keeps_kpi(pilot_env: BuildOutput) -> None:
    at = _app().run()
    at.switch_page("views/map.py").run()
    at.selectbox[0].set_value("crop_diversity_shannon").run()
    at.run()
    assert at.selectbox[0].value == "crop_diversity_shannon"
    assert at.session_state["map_kpi"] == "crop_diversity_shannon"
    assert any("gewasgroep" in text for text in _texts(at.info))


def test_area_from_query(
    pilot_env: BuildOutput, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEO_DASHBOARD_AREA")
    at = _app()
    at.query_params["area"] = pilot_env.area_id
    at.run()
    assert not at.exception
    assert at.title[0].value.startswith("Overzicht: Noordoostpolder")


def test_first_built_area_by_default(
    pilot_env: BuildOutput, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEO_DASHBOARD_AREA")
    at = _app().run()
    assert not at.exception
    assert len(at.metric) == len(pilot_env.kpis)


def test_missing_build_explained(
    pilot_env: BuildOutput, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(tmp_path))
    at = _app().run()
    assert not at.exception
    assert "heeft nog geen build" in at.error[0].value
    assert at.code[0].value == "geo-dashboard build noordoostpolder"
    assert not at.metric


def test_no_area_at_all_explained(
    pilot_env: BuildOutput, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GEO_DASHBOARD_AREA")
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(tmp_path))
    at = _app().run()
    assert not at.exception
    assert "Er is nog geen gebied met een build" in at.error[0].value


def test_invalid_area_rejected(pilot_env: BuildOutput) -> None:
    at = _app()
    at.query_params["area"] = "../secret"
    at.run()
    assert not at.exception
    assert "geen geldige gebieds-id" in at.error[0].value
    assert not at.code


def test_scenarios_page_runs(pilot_env: BuildOutput) -> None:
    at = _app().run()
    at.switch_page("views/scenarios.py").run()
    assert not at.exception


def test_cycles_page_runs(pilot_env: BuildOutput) -> None:
    at = _app().run()
    at.switch_page("views/cycles.py").run()
    assert not at.exception
