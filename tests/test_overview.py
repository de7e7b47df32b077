"""Overview content (KPI cards, data gaps, sources) on the real pilot build."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import BuildOutput
from geo_dashboard.overview import (
    THEME_ORDER,
    clip_progress,
    data_gaps,
    kpi_card,
    kpi_cards,
    layer_sources,
    split_roles,
)
from geo_dashboard.paths import ProjectPaths


def _cards(build: BuildOutput, language: str = "nl") -> dict:
    groups = kpi_cards(build.kpis, language, load_kpi_library())
    return {card.kpi_id: card for group in groups for card in group.cards}


def test_groups_follow_theme_order(pilot_build: BuildOutput) -> None:
    themes = [group.theme for group in kpi_cards(pilot_build.kpis, "nl")]
    assert themes == [theme for theme in THEME_ORDER if theme in themes]
    assert set(themes) == set(pilot_build.kpis["theme"])


def test_every_kpi_has_one_card(pilot_build: BuildOutput) -> None:
    groups = kpi_cards(pilot_build.kpis, "nl")
    ids = [card.kpi_id for group in groups for card in group.cards]
    assert sorted(ids) == sorted(pilot_build.kpis["kpi_id"])


def test_cards_keep_table_order_within_theme(pilot_build: BuildOutput) -> None:
    for group in kpi_cards(pilot_build.kpis, "nl"):
        table = pilot_build.kpis[pilot_build.kpis["theme"] == group.theme]
        assert [card.kpi_id for card in group.cards] == list(table["kpi_id"])


def test_group_titles_translated(pilot_build: BuildOutput) -> None:
    dutch = {group.theme: group.title for group in kpi_cards(pilot_build.kpis, "nl")}
    english = {group.theme: group.title for group in kpi_cards(pilot_build.kpis, "en")}
    assert dutch["nature"] == "Natuur"
    assert english["nature"] == "Nature"


def test_gap_card_is_never_zero(pilot_build: BuildOutput) -> None:
    cards = _cards(pilot_build)
    gap = cards["n_deposition_farmland"]
    assert gap.is_gap
    assert gap.value is None
    assert gap.value_text == "geen gegevens"
    assert "0" not in gap.value_text
    assert gap.status == "gap"
    assert gap.status_label == "Datagat"
    assert gap.progress is None
    assert gap.progress_bar is None
    assert gap.missing_roles == ["n_deposition"]


def test_measured_card_values(pilot_build: BuildOutput) -> None:
    card = _cards(pilot_build)["nh3_concentration_farmland"]
    assert not card.is_gap
    assert card.value == pytest.approx(5.2, abs=0.05)
    assert card.value_text.endswith("µg/m³")
    assert "," in card.value_text
    assert card.baseline.year == 2023
    assert card.baseline.basis == "measured"
    assert not card.baseline.provisional
    assert card.target.value == pytest.approx(4.16)
    assert card.target.year == 2030
    assert card.target.provisional
    assert card.target.basis_label == "voorlopig"
    assert card.target.source.startswith("provisional")
    assert card.description


def test_card_in_english(pilot_build: BuildOutput) -> None:
    card = _cards(pilot_build, "en")["nh3_concentration_farmland"]
    assert card.name == "NH3 concentration over farmland"
    assert "." in card.value_text
    assert card.target.basis_label == "provisional"


def test_progress_bar_within_bounds(pilot_build: BuildOutput) -> None:
    for card in _cards(pilot_build).values():
        if card.progress_bar is not None:
            assert 0.0 <= card.progress_bar <= 1.0, card.kpi_id


@pytest.mark.parametrize(
    ("progress", "expected"),
    [(None, None), (math.nan, None), (-0.4, 0.0), (0.25, 0.25), (1.7, 1.0)],
)
def test_clip_progress(progress: float | None, expected: float | None) -> None:
    assert clip_progress(progress) == expected


def test_split_roles() -> None:
    assert split_roles("nnn, peat_soil") == ["nnn", "peat_soil"]
    assert split_roles(math.nan) == []
    assert split_roles("") == []


def test_status_gap_with_value_shown_as_gap(pilot_build: BuildOutput) -> None:
    row = pilot_build.kpis.iloc[0].to_dict()
    row.update(status="gap", value=3.0, missing_layers="nnn")
    card = kpi_card(row, "nl")
    assert card.value is None
    assert card.value_text == "geen gegevens"


def test_unknown_theme_shown_last(pilot_build: BuildOutput) -> None:
    table = pilot_build.kpis.copy()
    table.loc[table.index[0], "theme"] = "zzz_new_theme"
    themes = [group.theme for group in kpi_cards(table, "nl")]
    assert themes[-1] == "zzz_new_theme"
    assert kpi_cards(table, "nl")[-1].title == "zzz_new_theme"


def test_data_gaps_name_role_and_holder(pilot_build: BuildOutput) -> None:
    gaps = data_gaps(pilot_build.kpis, pilot_build.manifest, "en")
    gap_ids = set(pilot_build.kpis.loc[pilot_build.kpis["status"] == "gap", "kpi_id"])
    assert {gap.kpi_id for gap in gaps} == gap_ids
    by_role = {gap.role: gap for gap in gaps}
    assert "nnn" in by_role
    assert by_role["nnn"].role_label == "NNN boundaries"
    assert by_role["nnn"].holder == pilot_build.manifest["data_gaps"]["nnn"]
    for gap in gaps:
        assert gap.holder == pilot_build.manifest["data_gaps"].get(gap.role)


def test_data_gap_without_holder(pilot_build: BuildOutput) -> None:
    manifest = {**pilot_build.manifest, "data_gaps": {}}
    gaps = data_gaps(pilot_build.kpis, manifest, "nl")
    assert gaps
    assert all(gap.holder is None for gap in gaps)


def test_no_gaps_when_all_measured(pilot_build: BuildOutput) -> None:
    measured = pilot_build.kpis[pilot_build.kpis["status"] != "gap"]
    assert data_gaps(measured, pilot_build.manifest, "nl") == []


def test_layer_sources_from_manifest(pilot_build: BuildOutput) -> None:
    sources = layer_sources(pilot_build.manifest)
    assert [s.layer_id for s in sources] == [
        layer["id"] for layer in pilot_build.manifest["layers"]
    ]
    for source in sources:
        assert source.licence
        assert source.publisher
        assert source.year is not None


def test_empty_kpi_table() -> None:
    empty = pd.DataFrame(columns=["kpi_id", "theme", "status", "value"])
    assert kpi_cards(empty, "nl") == []
    assert data_gaps(empty, {}, "nl") == []


# --- The page -----------------------------------------------------------------

MAIN = Path(__file__).resolve().parents[1] / "geo_dashboard" / "app" / "main.py"


@pytest.fixture()
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


@pytest.mark.slow
def test_gap_links_short_without_emoji(
    monkeypatch: pytest.MonkeyPatch,
    pilot_paths: ProjectPaths,
    pilot_build: BuildOutput,
    restore_package_logger: None,
) -> None:
    monkeypatch.setenv("GEO_DASHBOARD_LAYERS", str(pilot_paths.layers))
    monkeypatch.setenv("GEO_DASHBOARD_CONFIGS", str(pilot_paths.configs))
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(pilot_paths.builds))
    monkeypatch.setenv("GEO_DASHBOARD_AREA", pilot_build.area_id)
    at = AppTest.from_file(str(MAIN), default_timeout=120).run()
    assert not at.exception
    links = [link for link in at.page_link if "datagat" in link.value]
    assert links, "the pilot has data gaps, so the cards link to the register"
    labels = [link.value for link in links]
    # Each gap card links with a label short enough for a third of the page.
    assert "Naar datagatenregister" in labels
    for link in links:
        assert link.proto.icon == ":material/assignment:"
