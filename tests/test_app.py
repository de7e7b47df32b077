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


def _html_bodies(at: AppTest) -> list[str]:
    return [element.proto.body for element in at.get("html")]


def test_map_kpi_select_follows_language(pilot_env: BuildOutput) -> None:
    at = _app().run()
    at.switch_page("views/map.py").run()
    at.selectbox(key="map_kpi_select_nl").set_value("nh3_concentration_farmland").run()
    at.selectbox(key="language_select").set_value("en").run()
    assert not at.exception
    # A widget per language, so the browser draws the English labels afresh.
    keys = [select.key for select in at.selectbox]
    assert "map_kpi_select_en" in keys
    assert "map_kpi_select_nl" not in keys
    select = at.selectbox(key="map_kpi_select_en")
    assert select.value == "nh3_concentration_farmland"
    assert "NH3 concentration over farmland" in select.options
    assert at.session_state["map_kpi"] == "nh3_concentration_farmland"

    at.selectbox(key="language_select").set_value("nl").run()
    select = at.selectbox(key="map_kpi_select_nl")
    assert select.value == "nh3_concentration_farmland"
    assert "NH3-concentratie boven landbouwgrond" in select.options


def test_page_language_attribute_follows_choice(pilot_env: BuildOutput) -> None:
    at = _app().run()
    dutch = '<script>document.documentElement.lang = "nl";</script>'
    assert _html_bodies(at) == [dutch]
    at.selectbox(key="language_select").set_value("en").run()
    english = '<script>document.documentElement.lang = "en";</script>'
    assert _html_bodies(at) == [english]
    assert at.get("html")[0].proto.unsafe_allow_javascript


def test_invalid_area_escaped_once(pilot_env: BuildOutput) -> None:
    at = _app()
    at.query_params["area"] = "<b>Noord & Oost</b>"
    at.run()
    assert not at.exception
    message = at.error[0].value
    # Markdown shows \< as <, so the user reads the area as it was typed.
    assert "'\\<b\\>Noord & Oost\\</b\\>'" in message
    assert "\\\\" not in message
    assert "&amp;" not in message
    assert "&lt;" not in message


def test_unreadable_rules_message_translated(
    pilot_env: BuildOutput,
    pilot_paths: ProjectPaths,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    configs = tmp_path / "area_configs"
    configs.mkdir()
    source = pilot_paths.configs / f"{pilot_env.area_id}.yaml"
    text = source.read_text(encoding="utf-8")
    (configs / source.name).write_text(text + "\nprivacy: [not, a, mapping]\n")
    monkeypatch.setenv("GEO_DASHBOARD_CONFIGS", str(configs))
    with caplog.at_level(logging.ERROR, logger="geo_dashboard"):
        at = _app().run()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("De privacyregels van dit gebied kunnen niet worden")
    assert "noordoostpolder\\.yaml" in message
    # The library's English error is in the log, not on the page.
    logged = [
        record.getMessage()
        for record in caplog.records
        if record.getMessage().startswith("privacy rules of area noordoostpolder")
    ]
    assert len(logged) == 1
    assert "privacy" in logged[0]
    assert logged[0].split(": ", 1)[1] not in message


def test_scenarios_page_dutch_without_english_reasons(pilot_env: BuildOutput) -> None:
    at = _app().run()
    at.switch_page("views/scenarios.py").run()
    assert not at.exception
    captions = _texts(at.caption)
    unavailable = [text for text in captions if text.startswith("Niet te gebruiken")]
    assert any("de perceeltabel heeft geen kolom" in text for text in unavailable)
    assert not any("the parcel table" in text for text in captions)
    for table in at.dataframe:
        cells = table.value.astype(str).to_numpy().ravel().tolist()
        assert "None" not in cells
        assert "nan" not in cells


def test_scenario_rule_error_in_dutch(pilot_env: BuildOutput) -> None:
    at = _app().run()
    at.switch_page("views/scenarios.py").run()
    label = "Alleen waar (formule, optioneel)"
    where = next(box for box in at.text_input if box.label == label)
    where.input("onbekende_kolom > 1")
    submit = next(button for button in at.button if button.label == "Toevoegen")
    submit.click().run()
    assert not at.exception
    errors = _texts(at.error)
    assert len(errors) == 1
    # The message is escaped for Markdown, so "(" and "_" carry a backslash.
    assert "onbekende kolom\\(men\\) onbekende\\_kolom" in errors[0]
    assert "unknown column" not in errors[0]
    assert at.session_state["scenario_steps"] == []
