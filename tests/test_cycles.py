"""Cycles, KPI and target versions, diffs, export and the cycle commands."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from geo_dashboard.catalog import load_catalog
from geo_dashboard.cli_cycles import cycle_app, export_config, report
from geo_dashboard.config import AreaKpi, ValuePoint, load_area_config
from geo_dashboard.cycles_view import (
    MEASURED,
    TARGET_PATH,
    changes_table,
    diff_table,
    progress_chart,
    progress_data,
    timeline,
)
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.privacy import PUBLIC, Viewer
from geo_dashboard.store import (
    DB_ENV,
    CycleNotFoundError,
    MapViewSpec,
    Store,
    StoreError,
    StoreInputError,
    add_kpi,
    add_reflection,
    close_cycle,
    diff_cycles,
    gaps_for_kpi,
    kpi_history,
    kpi_states,
    list_cycles,
    list_gaps,
    list_reflections,
    open_store,
    retire_kpi,
    set_target,
    start_cycle,
)
from geo_dashboard.store import (
    export_config as export_area_config,
)
from geo_dashboard.store.editor import ChangeNotAllowedError, CycleEditor
from geo_dashboard.store.models import KpiVersion, MapView
from geo_dashboard.store.reflections import ClosedCycleError
from tests import test_store

# The store fixtures of test_store: a SQLite file and a PostgreSQL database.
db_url = test_store.db_url
store = test_store.store
pilot_store = test_store.pilot_store

PILOT = "noordoostpolder"
NITRATE = "nitrate_risk_arable_share"
RATIONALE = "agreed with the water board: 2027 is not reachable"


def _second_cycle(store: Store) -> None:
    start_cycle(store, PILOT, "najaar 2026", "anna")
    set_target(
        store, PILOT, NITRATE, value=45.0, year=2030, rationale=RATIONALE, by="anna"
    )
    add_reflection(
        store,
        PILOT,
        "lesson",
        "Leaching risk depends on the rotation",
        "anna",
        kpi_id=NITRATE,
    )
    close_cycle(store, PILOT, "anna")


def test_cycle_round_trip_diff(pilot_store: Store) -> None:
    _second_cycle(pilot_store)
    cycles = list_cycles(pilot_store, PILOT)
    assert [(c.number, c.version, c.status) for c in cycles] == [
        (1, "0.1", "closed"),
        (2, "1.0", "closed"),
    ]

    diff = diff_cycles(pilot_store, PILOT, 1, 2)
    nitrate = next(d for d in diff.kpis if d.kpi_id == NITRATE)
    assert nitrate.target_changed
    assert (nitrate.target_a, nitrate.target_year_a) == (50.0, 2027)
    assert (nitrate.target_b, nitrate.target_year_b) == (45.0, 2030)
    assert nitrate.kind == "unchanged"
    assert [d.kpi_id for d in diff.kpis if d.target_changed] == [NITRATE]

    assert len(diff.changes) == 1
    change = diff.changes[0]
    assert change.change == "set_target"
    assert change.rationale == RATIONALE
    assert change.changed_by == "anna"
    assert change.old is not None and change.old.target_value == 50.0
    assert change.new.target_value == 45.0
    assert change.cycle_version == "1.0"
    assert diff.layers == []


def test_diff_order_and_versions(pilot_store: Store) -> None:
    _second_cycle(pilot_store)
    by_version = diff_cycles(pilot_store, PILOT, "v1.0", "0.1")
    assert (by_version.cycle_a.number, by_version.cycle_b.number) == (1, 2)
    assert len(by_version.changes) == 1
    same = diff_cycles(pilot_store, PILOT, 2, 2)
    assert same.changes == []
    with pytest.raises(CycleNotFoundError, match=r"Its cycles: 1 \(v0.1\), 2 \(v1.0\)"):
        diff_cycles(pilot_store, PILOT, 1, 7)


def test_open_cycle_diff_is_live(pilot_store: Store) -> None:
    start_cycle(pilot_store, PILOT, "najaar 2026", "anna")
    set_target(
        pilot_store,
        PILOT,
        NITRATE,
        value=45.0,
        year=2030,
        rationale=RATIONALE,
        by="anna",
    )
    diff = diff_cycles(pilot_store, PILOT, 1, 2)
    assert not diff.state_b.frozen
    assert diff.state_a.frozen
    assert [d.kpi_id for d in diff.kpis if d.target_changed] == [NITRATE]


@pytest.mark.parametrize("rationale", ["", "   ", None])
def test_change_without_rationale_rejected(pilot_store: Store, rationale) -> None:
    before = len(kpi_history(pilot_store, PILOT))
    with pytest.raises(StoreInputError, match="a rationale is required"):
        set_target(
            pilot_store,
            PILOT,
            NITRATE,
            value=45.0,
            year=2030,
            rationale=rationale,
            by="anna",
        )
    with pytest.raises(StoreInputError, match="a rationale is required"):
        retire_kpi(pilot_store, PILOT, NITRATE, rationale=rationale, by="anna")
    assert len(kpi_history(pilot_store, PILOT)) == before


def test_change_without_author_rejected(pilot_store: Store) -> None:
    with pytest.raises(StoreInputError, match="pass --by NAME"):
        set_target(
            pilot_store,
            PILOT,
            NITRATE,
            value=45.0,
            year=2030,
            rationale=RATIONALE,
            by=" ",
        )


def test_change_needs_open_cycle(pilot_store: Store) -> None:
    close_cycle(pilot_store, PILOT, "anna")
    with pytest.raises(StoreError, match="has no open cycle"):
        set_target(
            pilot_store,
            PILOT,
            NITRATE,
            value=45.0,
            year=2030,
            rationale=RATIONALE,
            by="anna",
        )
    with pytest.raises(StoreError, match="no open cycle to close"):
        close_cycle(pilot_store, PILOT, "anna")


@pytest.mark.parametrize(
    ("kpi", "year", "value", "message"),
    [
        (NITRATE, 2020, 45.0, "target year 2020 is not after baseline year 2023"),
        ("atlantis_share", 2030, 45.0, "KPI 'atlantis_share' is not in the KPI set"),
        (NITRATE, 2030, float("inf"), "target value inf is not a finite number"),
    ],
)
def test_invalid_target_rejected(
    pilot_store: Store, kpi: str, year: int, value: float, message: str
) -> None:
    with pytest.raises(StoreInputError, match=message):
        set_target(
            pilot_store,
            PILOT,
            kpi,
            value=value,
            year=year,
            rationale=RATIONALE,
            by="anna",
        )


def test_retire_and_add_kpi_show_in_diff(pilot_store: Store) -> None:
    start_cycle(pilot_store, PILOT, "najaar 2026", "anna")
    retire_kpi(
        pilot_store,
        PILOT,
        "farmland_on_peat",
        rationale="no peat in the block",
        by="anna",
    )
    close_cycle(pilot_store, PILOT, "anna")
    start_cycle(pilot_store, PILOT, "voorjaar 2027", "anna")
    restored = AreaKpi(
        id="farmland_on_peat",
        baseline=ValuePoint(
            value=None, year=2023, basis="provisional", source="none yet"
        ),
        target=ValuePoint(
            value=None, year=2030, basis="provisional", source="none yet"
        ),
    )
    add_kpi(pilot_store, PILOT, restored, rationale="soil map arrived", by="anna")

    first = diff_cycles(pilot_store, PILOT, 1, 2)
    assert [d.kpi_id for d in first.of_kind("retired")] == ["farmland_on_peat"]
    second = diff_cycles(pilot_store, PILOT, 2, 3)
    assert [d.kpi_id for d in second.of_kind("added")] == ["farmland_on_peat"]
    assert [c.change for c in second.changes] == ["add_kpi"]
    with pytest.raises(StoreInputError, match="already in the KPI set"):
        add_kpi(pilot_store, PILOT, restored, rationale="again", by="anna")


def test_reflection_with_map_view(pilot_store: Store) -> None:
    view = MapViewSpec(
        kpi_id=NITRATE,
        layers=["parcels", "natura2000"],
        bounds=(5.75, 52.62, 5.85, 52.68),
    )
    add_reflection(
        pilot_store,
        PILOT,
        "evaluation",
        "Buffer strips on two farms",
        "anna",
        kpi_id=NITRATE,
        measure="buffer strips",
        effective="partly",
        feasible="yes",
        evidence="field visit",
        map_view=view,
    )
    [saved] = list_reflections(pilot_store, PILOT, 1)
    assert saved.map_view is not None
    assert saved.map_view.layers == ["parcels", "natura2000"]
    assert (saved.map_view.west, saved.map_view.north) == (5.75, 52.68)
    assert saved.cycle.version == "0.1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "wish"}, "reflection kind 'wish' is invalid"),
        ({"text": "  "}, "the reflection text is required"),
        ({"kpi_id": "atlantis"}, "kpi 'atlantis' is not a KPI of area"),
        ({"effective": "maybe"}, "assessment 'effective' 'maybe' is invalid"),
        ({"map_view": MapViewSpec(bounds=(6.0, 52.0, 5.0, 53.0))}, "map bounds"),
    ],
)
def test_invalid_reflection_rejected(
    pilot_store: Store, kwargs: dict, message: str
) -> None:
    arguments = {"kind": "lesson", "text": "a lesson", "by": "anna"} | kwargs
    with pytest.raises(StoreInputError, match=message):
        add_reflection(pilot_store, PILOT, **arguments)
    assert list_reflections(pilot_store, PILOT) == []


def test_reflection_on_closed_cycle_rejected(pilot_store: Store) -> None:
    start_cycle(pilot_store, PILOT, "najaar 2026", "anna")
    for cycle in (1, "0.1", "v0.1"):
        with pytest.raises(ClosedCycleError, match=r"cycle 1 \(v0.1\) .* was closed"):
            add_reflection(
                pilot_store, PILOT, "lesson", "too late", "anna", cycle=cycle
            )
    assert list_reflections(pilot_store, PILOT) == []

    # The open cycle still takes reflections, by default and by number.
    add_reflection(pilot_store, PILOT, "lesson", "in time", "anna", cycle=2)
    assert [r.cycle.number for r in list_reflections(pilot_store, PILOT)] == [2]


def test_reflection_without_open_cycle_rejected(pilot_store: Store) -> None:
    close_cycle(pilot_store, PILOT, "anna")
    view = MapViewSpec(layers=["parcels"], bounds=(5.75, 52.62, 5.85, 52.68))
    with pytest.raises(ClosedCycleError, match="has no open cycle") as caught:
        add_reflection(pilot_store, PILOT, "lesson", "late", "anna", map_view=view)
    assert "geo-dashboard cycle start noordoostpolder" in str(caught.value)
    assert list_reflections(pilot_store, PILOT) == []
    with pilot_store.read() as session:
        views = session.scalar(select(func.count()).select_from(MapView))
    assert views == 0


COORDINATOR = Viewer(role="coordinator", name="anna")
NOT_EDITORS = [
    PUBLIC,
    Viewer(role="planner", name="piet"),
    Viewer(role="farmer", farms=frozenset({"ILLUSTRATIEF-173-526"}), name="boer.a"),
]


@pytest.mark.parametrize("viewer", NOT_EDITORS, ids=lambda viewer: viewer.role)
def test_editor_rejects_other_roles(pilot_store: Store, viewer: Viewer) -> None:
    gaps_before = [(g.subject, g.version) for g in list_gaps(pilot_store, PILOT)]
    editor = CycleEditor(pilot_store, viewer)
    attempts = {
        "start a cycle": lambda: editor.start_cycle(PILOT, "najaar 2026", "x"),
        "close a cycle": lambda: editor.close_cycle(PILOT, "x"),
        "change a target": lambda: editor.set_target(
            PILOT, NITRATE, value=45.0, year=2030, rationale=RATIONALE, by="x"
        ),
        "retire a KPI": lambda: editor.retire_kpi(
            PILOT, NITRATE, rationale=RATIONALE, by="x"
        ),
        "add a reflection": lambda: editor.add_reflection(
            PILOT, "lesson", "a lesson", "x"
        ),
        "record a data gap": lambda: editor.set_gap(
            PILOT, "layer", "nnn", by="x", status="requested"
        ),
    }
    for action, attempt in attempts.items():
        with pytest.raises(ChangeNotAllowedError, match=f"cannot {action}"):
            attempt()

    assert [(c.number, c.status) for c in list_cycles(pilot_store, PILOT)] == [
        (1, "open")
    ]
    assert len(kpi_history(pilot_store, PILOT, NITRATE)) == 1
    assert list_reflections(pilot_store, PILOT) == []
    gaps_after = [(g.subject, g.version) for g in list_gaps(pilot_store, PILOT)]
    assert gaps_after == gaps_before


def test_editor_lets_coordinator_change(pilot_store: Store) -> None:
    editor = CycleEditor(pilot_store, COORDINATOR)
    editor.start_cycle(PILOT, "najaar 2026", "anna")
    editor.set_target(
        PILOT, NITRATE, value=45.0, year=2030, rationale=RATIONALE, by="anna"
    )
    editor.retire_kpi(PILOT, "farmland_on_peat", rationale="no peat", by="anna")
    editor.add_reflection(PILOT, "lesson", "a lesson", "anna", kpi_id=NITRATE)
    editor.set_gap(PILOT, "layer", "nnn", by="anna", status="requested")
    editor.close_cycle(PILOT, "anna")

    diff = diff_cycles(pilot_store, PILOT, 1, 2)
    assert [c.change for c in diff.changes] == ["set_target", "retire_kpi"]
    assert [r.text for r in list_reflections(pilot_store, PILOT, 2)] == ["a lesson"]
    nnn = next(gap for gap in list_gaps(pilot_store, PILOT) if gap.subject == "nnn")
    assert nnn.status == "requested"


def test_gaps_for_kpi_links_register(
    pilot_store: Store, pilot_build: BuildOutput
) -> None:
    row = pilot_build.kpis.set_index("kpi_id").loc["farmland_in_nnn"]
    entries = gaps_for_kpi(
        list_gaps(pilot_store, PILOT),
        "farmland_in_nnn",
        str(row["missing_layers"]).split(","),
    )
    assert [entry.subject for entry in entries] == ["nnn"]


def test_export_config_has_new_target(
    pilot_store: Store, pilot_paths: ProjectPaths, tmp_path: Path
) -> None:
    _second_cycle(pilot_store)
    text = export_area_config(pilot_store, pilot_paths, PILOT)
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / f"{PILOT}.yaml").write_text(text, encoding="utf-8")

    config = load_area_config(
        configs, PILOT, load_catalog(pilot_paths.layers), load_kpi_library()
    )
    nitrate = next(kpi for kpi in config.kpis if kpi.id == NITRATE)
    assert (nitrate.target.value, nitrate.target.year) == (45.0, 2030)
    assert nitrate.target.source == RATIONALE
    assert set(config.data_gaps) == set(
        yaml.safe_load(
            (pilot_paths.configs / f"{PILOT}.yaml").read_text(encoding="utf-8")
        )["data_gaps"]
    )
    assert len(config.kpis) == len(kpi_states(pilot_store, PILOT))


# --- View data for the Cycles page -------------------------------------------------


def test_progress_data_has_both_target_paths(pilot_store: Store) -> None:
    _second_cycle(pilot_store)
    data = progress_data(pilot_store, PILOT, NITRATE)
    paths = data[data["series"] == TARGET_PATH]
    assert list(dict.fromkeys(paths["path"])) == ["v0.1", "v1.0"]
    newest = paths[paths["path"] == "v1.0"]
    assert list(newest["year"]) == [2023, 2030]
    assert list(newest["value"]) == [58.5, 45.0]
    measured = data[data["series"] == MEASURED]
    assert list(measured["cycle"]) == ["v0.1", "v1.0"]
    assert set(measured["year"]) == {2023}

    chart = progress_chart(data, "Nitrate", "%", "en").to_dict()
    assert len(chart["layer"]) == 2


def test_gap_kpi_has_no_measured_points(pilot_store: Store) -> None:
    data = progress_data(pilot_store, PILOT, "farmland_in_nnn")
    assert data[data["series"] == MEASURED].empty


def test_timeline_and_tables(pilot_store: Store) -> None:
    _second_cycle(pilot_store)
    rows = timeline(pilot_store, PILOT, "en")
    assert list(rows["version"]) == ["v0.1", "v1.0"]
    assert list(rows["changes"]) == [0, 1]
    assert list(rows["reflections"]) == [0, 1]
    assert rows.loc[0, "status"] == "closed · sketch"

    diff = diff_cycles(pilot_store, PILOT, 1, 2)
    library = load_kpi_library()
    table = diff_table(diff, library, "nl")
    assert table["target_changed"].sum() == 1
    changes = changes_table(diff, library, "nl")
    assert list(changes["rationale"]) == [RATIONALE]
    assert changes.loc[0, "old_new"] == "50,0% (2027) → 45,0% (2030)"


# --- Command line -----------------------------------------------------------------


@pytest.fixture()
def cli() -> typer.Typer:
    """The cycle commands on an app of their own, as the main CLI registers them."""
    app = typer.Typer()
    app.add_typer(cycle_app, name="cycle")
    app.command("export-config")(export_config)
    app.command("report")(report)
    return app


@pytest.fixture()
def cli_env(
    db_url: str, pilot_store: Store, pilot_paths: ProjectPaths
) -> dict[str, str]:
    return {
        DB_ENV: db_url,
        "GEO_DASHBOARD_LAYERS": str(pilot_paths.layers),
        "GEO_DASHBOARD_CONFIGS": str(pilot_paths.configs),
        "GEO_DASHBOARD_BUILDS": str(pilot_paths.builds),
        "GEO_DASHBOARD_USER": "cli-user",
    }


def test_cli_second_cycle(
    cli: typer.Typer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, list(args), env=cli_env)

    result = run("cycle", "start", PILOT, "--name", "najaar 2026")
    assert result.exit_code == 0, result.output
    assert "Closed cycle 1 (v0.1)" in result.output
    assert "Started cycle 2 (v1.0)" in result.output

    result = run(
        "cycle",
        "set-target",
        PILOT,
        NITRATE,
        "--value",
        "45",
        "--year",
        "2030",
        "--rationale",
        "",
        "--by",
        "anna",
    )
    assert result.exit_code == 2
    assert "a rationale is required" in result.output

    result = run(
        "cycle",
        "set-target",
        PILOT,
        NITRATE,
        "--value",
        "45",
        "--year",
        "2030",
        "--rationale",
        RATIONALE,
        "--by",
        "anna",
    )
    assert result.exit_code == 0, result.output
    result = run(
        "cycle",
        "reflect",
        PILOT,
        "--kind",
        "decision",
        "--text",
        "Start a rotation pilot",
        "--kpi",
        NITRATE,
        "--map-layers",
        "parcels",
        "--map-bounds",
        "5.75,52.62,5.85,52.68",
    )
    assert result.exit_code == 0, result.output
    result = run("cycle", "close", PILOT)
    assert result.exit_code == 0, result.output

    result = run("cycle", "list", PILOT)
    assert "najaar 2026" in result.output
    assert "cli-user" in result.output

    result = run("cycle", "diff", PILOT, "1", "2")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "agreed with the water" in flat
    assert "50.00 (2027)" in flat
    assert "45.00 (2030)" in flat

    out = tmp_path / "report.html"
    result = run("report", PILOT, "--cycle", "2", "--out", str(out), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "Start a rotation pilot" in out.read_text(encoding="utf-8")

    result = run("export-config", PILOT)
    assert result.exit_code == 0, result.output
    exported = yaml.safe_load(result.stdout)
    nitrate = next(kpi for kpi in exported["kpis"] if kpi["id"] == NITRATE)
    assert nitrate["target"]["value"] == 45.0


def test_cli_errors_exit_2(cli: typer.Typer, cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["cycle", "diff", PILOT, "1", "5"], env=cli_env)
    assert result.exit_code == 2
    assert "cycle '5' not found" in result.output
    result = runner.invoke(
        cli, ["cycle", "reflect", PILOT, "--kind", "wish", "--text", "x"], env=cli_env
    )
    assert result.exit_code == 2
    assert "reflection kind 'wish' is invalid" in result.output
    result = runner.invoke(
        cli, ["report", PILOT, "--cycle", "1", "--lang", "de"], env=cli_env
    )
    assert result.exit_code == 2
    assert "--lang 'de' is invalid" in result.output


def test_cli_reflect_on_closed_cycle(
    cli: typer.Typer, cli_env: dict[str, str], db_url: str
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["cycle", "start", PILOT, "--name", "najaar 2026"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    reflect = ["cycle", "reflect", PILOT, "--kind", "lesson", "--text", "too late"]

    result = runner.invoke(cli, [*reflect, "--cycle", "1"], env=cli_env)
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "cycle 1 (v0.1) of area 'noordoostpolder' was closed" in flat
    assert "can only be added to the open cycle" in flat

    result = runner.invoke(cli, ["cycle", "close", PILOT], env=cli_env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, reflect, env=cli_env)
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "has no open cycle" in flat
    assert "geo-dashboard cycle start noordoostpolder --name NAME" in flat

    with open_store(db_url) as opened:
        assert list_reflections(opened, PILOT) == []


# --- Streamlit page -----------------------------------------------------------------

PAGE = (
    Path(__file__).resolve().parents[1]
    / "geo_dashboard"
    / "app"
    / "views"
    / "cycles.py"
)


FARM = "ILLUSTRATIEF-173-526"
PASSWORDS = {
    "anna": "gebiedsproces-nop",
    "boer.a": "akker-en-klei-2023",
    "piet": "provincie-plan-2023",
}
FORM_BUTTONS = (
    "cycles_save_reflection",
    "cycles_save_target",
    "cycles_retire",
    "cycles_save_gap",
    "cycles_start",
    "cycles_close",
)


@pytest.fixture()
def page_url(
    tmp_path: Path,
    pilot_paths: ProjectPaths,
    pilot_build: BuildOutput,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A store with the pilot build and one user per role; the app points at it."""
    from geo_dashboard.auth import add_user
    from geo_dashboard.store import record_build

    # AppTest registers the page as __main__ and leaves it there, so that later
    # spawned processes (multiprocessing, dask) would run the page again.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])

    url = f"sqlite:///{tmp_path / 'dashboard.sqlite'}"
    record_build(pilot_paths, pilot_build, url=url)
    with open_store(url) as opened:
        add_user(opened, "anna", PASSWORDS["anna"], "coordinator", by="test")
        add_user(opened, "boer.a", PASSWORDS["boer.a"], "farmer", [FARM], by="test")
        add_user(opened, "piet", PASSWORDS["piet"], "planner", by="test")
    for name, value in {
        DB_ENV: url,
        "GEO_DASHBOARD_AREA": PILOT,
        "GEO_DASHBOARD_LAYERS": str(pilot_paths.layers),
        "GEO_DASHBOARD_CONFIGS": str(pilot_paths.configs),
        "GEO_DASHBOARD_BUILDS": str(pilot_paths.builds),
    }.items():
        monkeypatch.setenv(name, value)
    return url


def _page(url: str, username: str | None):
    """Return the Cycles page in English, logged in as ``username`` (None: public)."""
    from streamlit.testing.v1 import AppTest

    from geo_dashboard.app.common import TOKEN_KEY
    from geo_dashboard.auth import login

    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["language"] = "en"
    if username is not None:
        with open_store(url) as opened:
            result = login(opened, username, PASSWORDS[username])
        assert result is not None
        app.session_state[TOKEN_KEY] = result[1]
    return app


def _button_keys(app) -> set[str]:
    return {button.key for button in app.button if button.key}


@pytest.mark.slow
@pytest.mark.parametrize("username", [None, "boer.a", "piet"])
def test_app_page_read_only_roles(page_url: str, username: str | None) -> None:
    app = _page(page_url, username).run()
    assert not app.exception
    assert app.title[0].value == "Cycles of the area process"
    # The read-only parts are there ...
    assert len(app.dataframe) >= 1
    assert len(app.selectbox) == 2
    # ... and no form that changes the store.
    assert _button_keys(app).isdisjoint(FORM_BUTTONS)
    assert len(app.text_area) == 0
    assert len(app.text_input) == 0
    infos = [info.value for info in app.info]
    assert any(info.startswith("Only the area coordinator records") for info in infos)


@pytest.mark.slow
def test_app_page_form_needs_coordinator_on_submit(page_url: str) -> None:
    from geo_dashboard.auth import deactivate_user

    app = _page(page_url, "anna").run()
    assert set(FORM_BUTTONS) <= _button_keys(app)
    app.text_input(key="cycles_new_name").input("najaar 2026")
    # The account loses its rights between showing the form and the click.
    with open_store(page_url) as opened:
        deactivate_user(opened, "anna")
    app.button(key="cycles_start").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == []
    assert _button_keys(app).isdisjoint(FORM_BUTTONS)
    with open_store(page_url) as opened:
        assert [c.number for c in list_cycles(opened, PILOT)] == [1]


@pytest.mark.slow
def test_app_page_second_cycle(page_url: str) -> None:
    app = _page(page_url, "anna").run()
    assert not app.exception
    assert app.text_input(key="cycles_author").value == "anna"
    assert [info.value for info in app.info] == []
    app.text_input(key="cycles_new_name").input("najaar 2026")
    app.button(key="cycles_start").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["Cycle v1.0 started."]

    app.selectbox(key="cycles_target_kpi").select(NITRATE).run()
    app.number_input(key=f"cycles_target_value_{NITRATE}").set_value(45.0)
    app.text_area(key="cycles_target_rationale").input("")
    app.button(key="cycles_save_target").click().run()
    assert [e.value for e in app.error][0].startswith("a rationale is required")

    app.text_area(key="cycles_target_rationale").input(RATIONALE)
    app.button(key="cycles_save_target").click().run()
    assert [s.value for s in app.success] == ["Target changed."]

    app.selectbox(key="cycles_retire_kpi").select("farmland_on_peat")
    app.text_area(key="cycles_retire_rationale").input("no peat in the block")
    app.button(key="cycles_retire").click().run()
    assert [s.value for s in app.success] == ["KPI retired. Its history is kept."]

    app.text_area(key="cycles_reflection_text").input("<b>lesson</b> from the app")
    app.button(key="cycles_save_reflection").click().run()
    assert [s.value for s in app.success] == ["Reflection saved."]
    assert not app.exception

    with open_store(page_url) as opened:
        diff = diff_cycles(opened, PILOT, 1, 2)
        reflections = list_reflections(opened, PILOT, 2)
    changes = [(c.kpi_id, c.change, c.rationale, c.changed_by) for c in diff.changes]
    assert changes == [
        (NITRATE, "set_target", RATIONALE, "anna"),
        ("farmland_on_peat", "retire_kpi", "no peat in the block", "anna"),
    ]
    assert diff.changes[0].new.target_value == 45.0
    assert [r.text for r in reflections] == ["<b>lesson</b> from the app"]

    # Closing the cycle leaves no open cycle, so the reflection is rejected.
    app.button(key="cycles_close").click().run()
    assert [s.value for s in app.success] == ["Cycle v1.0 closed."]
    app.text_area(key="cycles_reflection_text").input("after the close")
    app.button(key="cycles_save_reflection").click().run()
    errors = [error.value for error in app.error]
    assert len(errors) == 1
    assert "has no open cycle" in errors[0]
    with open_store(page_url) as opened:
        assert len(list_reflections(opened, PILOT)) == 1


def _add_account(
    store: Store, name: str, role: str, farms: tuple[str, ...] = ()
) -> None:
    from geo_dashboard.auth import add_user

    add_user(store, name, "a long enough password", role, farms, by="setup")


def _set_target(cli: typer.Typer, env: dict[str, str], by: str):
    return CliRunner().invoke(
        cli,
        [
            "cycle",
            "set-target",
            PILOT,
            NITRATE,
            "--value",
            "20",
            "--year",
            "2035",
            "--rationale",
            "test",
            "--by",
            by,
        ],
        env=env,
    )


def test_cli_change_without_users_allowed(
    cli: typer.Typer, cli_env: dict[str, str]
) -> None:
    result = _set_target(cli, cli_env, "nobody_at_all")
    assert result.exit_code == 0, result.output
    assert f"geo-dashboard build {PILOT}" in result.output


@pytest.mark.parametrize(
    ("by", "reason"),
    [
        ("fred", "has role farmer"),
        ("nobody_at_all", "is not a dashboard user"),
        ("olle", "is deactivated"),
    ],
)
def test_cli_change_needs_coordinator(
    cli: typer.Typer,
    cli_env: dict[str, str],
    pilot_store: Store,
    by: str,
    reason: str,
) -> None:
    from geo_dashboard.auth import deactivate_user

    _add_account(pilot_store, "coco", "coordinator")
    _add_account(pilot_store, "fred", "farmer", ("F1",))
    _add_account(pilot_store, "olle", "coordinator")
    deactivate_user(pilot_store, "olle")
    runner = CliRunner()
    commands = [
        ["cycle", "start", PILOT, "--name", "x", "--by", by],
        ["cycle", "close", PILOT, "--by", by],
        ["cycle", "retire-kpi", PILOT, NITRATE, "--rationale", "r", "--by", by],
        ["cycle", "reflect", PILOT, "--kind", "lesson", "--text", "t", "--by", by],
        ["cycle", "gap", PILOT, "nnn", "--missing", "map", "--by", by],
    ]
    for command in [*commands, None]:
        if command is None:
            result = _set_target(cli, cli_env, by)
        else:
            result = runner.invoke(cli, command, env=cli_env)
        assert result.exit_code == 2, (command, result.output)
        assert reason in result.output
        assert f"users add {by} --role coordinator" in result.output
    with pilot_store.read() as session:
        authors = session.scalars(select(KpiVersion.changed_by)).all()
    assert by not in authors


def test_cli_coordinator_may_change(
    cli: typer.Typer, cli_env: dict[str, str], pilot_store: Store
) -> None:
    _add_account(pilot_store, "coco", "coordinator")
    result = _set_target(cli, cli_env, "coco")
    assert result.exit_code == 0, result.output
    assert "is now 20.00 (2035)" in result.output


def test_progress_chart_axis_fits_unit(pilot_store: Store) -> None:
    data = progress_data(pilot_store, PILOT, NITRATE)
    data["value"] = 0.0
    chart = progress_chart(data, "Nitrate", "%", "nl").to_dict()
    axis = chart["layer"][0]["encoding"]["y"]["axis"]
    # Trailing zeros are dropped, so an axis of zeros reads "0".
    assert axis["format"] == ".1~f"
    hectares = progress_chart(data, "Area", "ha", "nl").to_dict()
    assert hectares["layer"][1]["encoding"]["y"]["axis"]["format"] == ",.0~f"


@pytest.mark.slow
def test_app_page_forms_without_enter_hint(page_url: str) -> None:
    app = _page(page_url, "anna")
    app.session_state["language"] = "nl"
    app.run()
    assert not app.exception
    forms = [node for node in app._tree if getattr(node, "type", None) == "form"]
    assert len(forms) == 5
    for form in forms:
        # Streamlit shows its English "Press Enter to submit form" otherwise.
        assert form.proto.form.enter_to_submit is False, form.proto.form.form_id
    layers = next(m for m in app.multiselect if m.label == "Kaartlagen")
    assert layers.proto.placeholder == "Kies kaartlagen"
    assert "Choose options" not in [m.proto.placeholder for m in app.multiselect]
