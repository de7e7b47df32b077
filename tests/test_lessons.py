"""Lessons across areas: the query over every area's reflections, and the page.

Each test works on a copy of the store that the session's builds of the
three areas wrote, with reflections added to the open v0.1 cycles.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.lessons import (
    NO_THEME,
    area_names,
    evaluation_table,
    filter_options,
    lesson_table,
    list_lessons,
    measure_label,
    measure_names,
)
from geo_dashboard.output import BuildOutput
from geo_dashboard.store import Store, add_reflection, open_store
from tests.conftest import REPO

LIBRARY = load_kpi_library()
MAIN = REPO / "geo_dashboard" / "app" / "main.py"
TIMEOUT_S = 120
HOSTILE = "<script>alert(1)</script> **vet** [klik](javascript:alert(1)) <b>x</b>"
PLAS_DRAS = "plas-dras"


@pytest.fixture()
def store_file(all_builds: dict[str, BuildOutput], tmp_path: Path) -> Path:
    """A copy of the session's store, with reflections in all three areas."""
    source = all_builds["groene_hart"].folder.parent.parent / "dashboard.sqlite"
    target = tmp_path / "dashboard.sqlite"
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    with open_store(f"sqlite:///{target}") as store:
        _add_reflections(store)
    return target


@pytest.fixture()
def store(store_file: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{store_file}") as opened:
        yield opened


def _add_reflections(store: Store) -> None:
    add_reflection(
        store,
        "noordoostpolder",
        "lesson",
        "Nitrate risk fell where farmers grew catch crops.",
        "anna",
        kpi_id="nitrate_risk_arable_share",
    )
    add_reflection(
        store,
        "groene_hart",
        "evaluation",
        "Raised water levels on two pilot parcels.",
        "bram",
        kpi_id="peat_co2_emission",
        measure=f"  {PLAS_DRAS} ",
        effective="yes",
        feasible="partly",
        evidence="SOMERS run with raised ditch levels",
    )
    add_reflection(
        store,
        "noordoostpolder",
        "evaluation",
        "Tried on one parcel only.",
        "anna",
        measure=PLAS_DRAS,
        effective="unknown",
        feasible="no",
    )
    add_reflection(store, "laag_holland", "dilemma", HOSTILE, "<i>carla</i>")


# --- Query --------------------------------------------------------------------


def test_lessons_of_all_areas_newest_first(store: Store) -> None:
    lessons = list_lessons(store, LIBRARY)
    assert [lesson.area_id for lesson in lessons] == [
        "laag_holland",
        "noordoostpolder",
        "groene_hart",
        "noordoostpolder",
    ]
    assert {lesson.cycle_version for lesson in lessons} == {"0.1"}


def test_filter_by_area(store: Store) -> None:
    lessons = list_lessons(store, LIBRARY, areas=["groene_hart"])
    assert [lesson.text for lesson in lessons] == [
        "Raised water levels on two pilot parcels."
    ]


def test_filter_by_theme(store: Store) -> None:
    climate = list_lessons(store, LIBRARY, themes=["climate"])
    assert [lesson.area_id for lesson in climate] == ["groene_hart"]
    water = list_lessons(store, LIBRARY, themes=["water"])
    assert [lesson.kpi_id for lesson in water] == ["nitrate_risk_arable_share"]
    without = list_lessons(store, LIBRARY, themes=[NO_THEME])
    assert [lesson.kind for lesson in without] == ["dilemma", "evaluation"]


def test_filter_by_measure_trims_spaces(store: Store) -> None:
    lessons = list_lessons(store, LIBRARY, measures=[f" {PLAS_DRAS}"])
    assert [lesson.area_id for lesson in lessons] == ["noordoostpolder", "groene_hart"]
    assert {lesson.measure for lesson in lessons} == {PLAS_DRAS}


def test_filter_by_kind_and_area(store: Store) -> None:
    lessons = list_lessons(
        store, LIBRARY, kinds=["evaluation"], areas=["noordoostpolder"]
    )
    assert [lesson.feasible for lesson in lessons] == ["no"]


def test_filter_options(store: Store) -> None:
    options = filter_options(list_lessons(store, LIBRARY))
    assert options["area"] == ["groene_hart", "laag_holland", "noordoostpolder"]
    assert options["theme"] == ["climate", NO_THEME, "water"]
    assert options["measure"] == [PLAS_DRAS]
    assert options["kind"] == ["dilemma", "evaluation", "lesson"]


def test_area_names_from_store(store: Store) -> None:
    names = area_names(store, "en")
    assert names["laag_holland"] == "Laag Holland"
    assert set(names) == {"groene_hart", "laag_holland", "noordoostpolder"}


def test_lesson_table_keeps_text_literal(store: Store) -> None:
    table = lesson_table(list_lessons(store, LIBRARY), LIBRARY, {}, "nl")
    first = table.iloc[0]
    assert first["Tekst"] == HOSTILE
    assert first["Door"] == "<i>carla</i>"
    assert first["Thema"] == "zonder KPI"
    assert first["Soort"] == "Open dilemma's"
    groene_hart = table[table["Gebied"] == "groene_hart"].iloc[0]
    assert groene_hart["Thema"] == "Klimaat"
    assert groene_hart["Effectief"] == "ja"
    assert groene_hart["Haalbaar"] == "deels"


def test_evaluation_counts(store: Store) -> None:
    names = {"groene_hart": "Groene Hart", "noordoostpolder": "Noordoostpolder"}
    table = evaluation_table(list_lessons(store, LIBRARY), names, "en")
    assert len(table) == 1
    row = table.iloc[0]
    assert row["Measure"] == PLAS_DRAS
    assert row["Evaluations"] == 2
    assert row["Areas"] == "Groene Hart, Noordoostpolder"
    assert row["Effective"] == "yes 1 · unknown 1"
    assert row["Feasible"] == "partly 1 · no 1"


def test_measure_names_from_area_libraries(store: Store) -> None:
    names = measure_names(["groene_hart", "unknown_area"], REPO / "area_configs", "nl")
    assert names["groene_hart"]["raise_ditch_water_peat"] == (
        "Slootpeil verhogen in veenweide"
    )
    # An area without overrides gets the names of the shared library.
    assert names["unknown_area"]["herb_rich_grassland"] == (
        "Kruidenrijk grasland (extensief)"
    )
    assert measure_label(names, "raise_ditch_water_peat", None) == (
        "Slootpeil verhogen in veenweide"
    )
    assert measure_label(names, PLAS_DRAS, "groene_hart") == PLAS_DRAS


def test_tables_show_measure_names(store: Store) -> None:
    add_reflection(
        store,
        "groene_hart",
        "evaluation",
        "Peil verhoogd op twee percelen.",
        "bram",
        measure="raise_ditch_water_peat",
        effective="yes",
        feasible="yes",
    )
    lessons = list_lessons(store, LIBRARY)
    names = measure_names(["groene_hart"], REPO / "area_configs", "en")
    table = lesson_table(lessons, LIBRARY, {}, "en", names)
    assert "Raise ditch water level on peat" in list(table["Measure"])
    assert "raise_ditch_water_peat" not in list(table["Measure"])
    assert PLAS_DRAS in list(table["Measure"])
    evaluations = evaluation_table(lessons, {}, "en", names)
    assert sorted(evaluations["Measure"]) == [
        "Raise ditch water level on peat",
        PLAS_DRAS,
    ]


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


@pytest.fixture()
def app_env(
    monkeypatch: pytest.MonkeyPatch,
    all_builds: dict[str, BuildOutput],
    store_file: Path,
) -> None:
    builds_dir = all_builds["groene_hart"].folder.parent.parent
    monkeypatch.setenv("GEO_DASHBOARD_LAYERS", str(REPO / "layers"))
    monkeypatch.setenv("GEO_DASHBOARD_CONFIGS", str(REPO / "area_configs"))
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(builds_dir))
    monkeypatch.setenv("GEO_DASHBOARD_AREA", "groene_hart")
    monkeypatch.setenv("GEO_DASHBOARD_DB", f"sqlite:///{store_file}")


def _run_page(language: str) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)
    at.session_state["language"] = language
    at.run()
    at.switch_page("views/lessons.py").run()
    return at


def _shown_markup(at: AppTest) -> list[str]:
    elements = [*at.markdown, *at.caption, *at.info, *at.error, *at.title]
    return [str(element.value) for element in elements]


@pytest.mark.slow
@pytest.mark.parametrize("language", ["nl", "en"])
def test_lessons_page_renders(language: str, app_env: None) -> None:
    at = _run_page(language)
    assert not at.exception
    assert not at.error
    lessons = at.dataframe[0].value
    assert len(lessons) == 4
    text_column = "Tekst" if language == "nl" else "Text"
    # The data table shows the hostile text literally; no Markdown or HTML
    # element of the page carries it.
    assert HOSTILE in list(lessons[text_column])
    for markup in _shown_markup(at):
        assert "<script>" not in markup
        assert "javascript:" not in markup
    evaluations = at.dataframe[1].value
    assert len(evaluations) == 1


@pytest.mark.slow
def test_lessons_page_filters(app_env: None) -> None:
    at = _run_page("en")
    at.multiselect(key="lessons_themes").select("climate").run()
    assert not at.exception
    lessons = at.dataframe[0].value
    assert list(lessons["Area"]) == [
        "Groene Hart, Bodegraven-Nieuwerbrug peat-meadow block"
    ]
    at.multiselect(key="lessons_themes").unselect("climate").run()
    at.multiselect(key="lessons_areas").select("laag_holland").run()
    lessons = at.dataframe[0].value
    assert list(lessons["Kind"]) == ["Open dilemmas"]
    at.multiselect(key="lessons_kinds").select("lesson").run()
    assert [i.value for i in at.info] == ["No reflections match these filters."]


@pytest.mark.slow
def test_lessons_page_without_reflections(
    monkeypatch: pytest.MonkeyPatch, all_builds: dict[str, BuildOutput], tmp_path: Path
) -> None:
    builds_dir = all_builds["groene_hart"].folder.parent.parent
    monkeypatch.setenv("GEO_DASHBOARD_LAYERS", str(REPO / "layers"))
    monkeypatch.setenv("GEO_DASHBOARD_CONFIGS", str(REPO / "area_configs"))
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(builds_dir))
    monkeypatch.setenv("GEO_DASHBOARD_DB", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    at = _run_page("nl")
    assert not at.exception
    assert [i.value for i in at.info] == [
        "Nog geen reflecties vastgelegd in enig gebied."
    ]


@pytest.mark.slow
def test_lessons_page_names_measures(app_env: None, store_file: Path) -> None:
    with open_store(f"sqlite:///{store_file}") as opened:
        add_reflection(
            opened,
            "groene_hart",
            "evaluation",
            "Peil verhoogd op twee percelen.",
            "bram",
            measure="raise_ditch_water_peat",
            effective="yes",
            feasible="yes",
        )
    at = _run_page("nl")
    assert not at.exception
    measures = list(at.dataframe[0].value["Maatregel"])
    assert "Slootpeil verhogen in veenweide" in measures
    assert "raise_ditch_water_peat" not in measures
    options = at.multiselect(key="lessons_measures").options
    assert "Slootpeil verhogen in veenweide" in options
