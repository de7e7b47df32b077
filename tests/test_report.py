"""The HTML report of a cycle on the real pilot build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geo_dashboard.paths import ProjectPaths
from geo_dashboard.report import default_report_name, render_report, write_report
from geo_dashboard.store import (
    CycleNotFoundError,
    Store,
    add_reflection,
    close_cycle,
    set_gap,
    set_target,
    start_cycle,
)
from tests import test_store

# The store fixtures of test_store: a SQLite file and a PostgreSQL database.
db_url = test_store.db_url
store = test_store.store
pilot_store = test_store.pilot_store

PILOT = "noordoostpolder"
NITRATE = "nitrate_risk_arable_share"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture()
def second_cycle(pilot_store: Store) -> Store:
    """The pilot store with a closed second cycle: one target change, reflections."""
    start_cycle(pilot_store, PILOT, "najaar <b>2026</b>", "anna & co")
    set_target(
        pilot_store,
        PILOT,
        NITRATE,
        value=45.0,
        year=2030,
        rationale="rotation pilot <img src=x onerror=alert(2)>",
        by="anna",
    )
    add_reflection(pilot_store, PILOT, "lesson", HOSTILE, "anna", kpi_id=NITRATE)
    add_reflection(
        pilot_store,
        PILOT,
        "evaluation",
        "Buffer strips",
        "anna",
        measure="buffer strips",
        effective="partly",
        feasible="yes",
        evidence='"two farms"',
    )
    set_gap(
        pilot_store,
        PILOT,
        "layer",
        "nnn",
        by="anna",
        supplier="provincie",
        sourcing_cost_eur=2000,
        handling_cost_eur=500,
        status="requested",
    )
    close_cycle(pilot_store, PILOT, "anna")
    return pilot_store


def test_report_escapes_hostile_text(
    second_cycle: Store, pilot_paths: ProjectPaths
) -> None:
    page = render_report(second_cycle, pilot_paths, PILOT, 2, "en")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "rotation pilot &lt;img src=x onerror=alert(2)&gt;" in page
    assert "najaar &lt;b&gt;2026&lt;/b&gt;" in page
    assert "anna &amp; co" in page
    assert "&quot;two farms&quot;" in page


def test_report_has_all_sections(
    second_cycle: Store, pilot_paths: ProjectPaths
) -> None:
    page = render_report(second_cycle, pilot_paths, PILOT, "1.0", "en")
    assert "Cycle report noordoostpolder, version 1.0" in page
    assert "Arable land in high nitrate-leaching crops" in page
    assert "50.0% (2027) → 45.0% (2030)" in page
    assert page.count("<svg") >= 8
    assert "target path since v0.1" in page
    assert "target path since v1.0" in page
    assert re.search(
        r'<img class="map" alt="[^"]+" src="data:image/png;base64,[A-Za-z0-9+/]{1000,}',
        page,
    )
    assert "Lessons learned" in page
    assert "Measure evaluations" in page
    assert "Effective: partly" in page
    assert "€ 2,500" in page
    assert "nop_brp_parcels_2023" in page
    assert "Values frozen at closing" in page


def test_report_loads_nothing_from_network(
    second_cycle: Store, pilot_paths: ProjectPaths
) -> None:
    page = render_report(second_cycle, pilot_paths, PILOT, 2)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<link" not in page


def test_sketch_report_in_dutch(pilot_store: Store, pilot_paths: ProjectPaths) -> None:
    page = render_report(pilot_store, pilot_paths, PILOT, 1, "nl")
    assert '<html lang="nl">' in page
    assert "open · schets" in page
    assert "de KPI&#x27;s en doelen komen uit de gebiedsconfiguratie" in page
    assert "De cyclus is open" in page
    assert "Voor deze cyclus zijn geen reflecties vastgelegd." in page


def test_report_without_build_folder(pilot_store: Store, tmp_path: Path) -> None:
    paths = ProjectPaths(layers=tmp_path, configs=tmp_path, builds=tmp_path / "none")
    page = render_report(pilot_store, paths, PILOT, 1, "en")
    assert "No map, because the build of this cycle is no longer on disk." in page
    assert "data:image/png" not in page


def test_write_report_replaces_file(
    second_cycle: Store, pilot_paths: ProjectPaths, tmp_path: Path
) -> None:
    out = tmp_path / "reports" / default_report_name(PILOT, "1.0")
    out.parent.mkdir()
    out.write_text("old", encoding="utf-8")
    written = write_report(second_cycle, pilot_paths, PILOT, 2, out, "en")
    assert written == out
    assert out.name == "report-noordoostpolder-v1.0.html"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [path.name for path in out.parent.iterdir()] == [out.name]


def test_report_unknown_cycle(pilot_store: Store, pilot_paths: ProjectPaths) -> None:
    with pytest.raises(CycleNotFoundError, match="cycle '4' not found"):
        render_report(pilot_store, pilot_paths, PILOT, 4)
