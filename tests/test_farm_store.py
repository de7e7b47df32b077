"""Farm data, consent and the farm register in the store and on the command line."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import inspect
from typer.testing import CliRunner

from geo_dashboard.cli import app
from geo_dashboard.farm_import import read_farm_data
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import (
    Store,
    StoreError,
    StoreInputError,
    consent_history,
    consent_state,
    farm_data,
    import_farm_data,
    list_farm_imports,
    open_store,
    set_consent,
)
from geo_dashboard.store.engine import alembic_config, create_store_engine
from tests import farm_fixtures
from tests.conftest import REPO
from tests.farm_fixtures import FARM_A, FARM_B

farm_store = farm_fixtures.farm_store
store_url = farm_fixtures.store_url

runner = CliRunner()
REGISTER = REPO / "layers" / "noordoostpolder" / "illustrative_farm_register.csv"
PRIVACY_TABLES = {
    "farm_data_imports",
    "farm_data_values",
    "farm_consents",
    "users",
    "user_farms",
    "user_sessions",
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _env(paths: ProjectPaths, url: str) -> dict[str, str]:
    return {
        "GEO_DASHBOARD_LAYERS": str(paths.layers),
        "GEO_DASHBOARD_CONFIGS": str(paths.configs),
        "GEO_DASHBOARD_BUILDS": str(paths.builds),
        "GEO_DASHBOARD_DB": url,
    }


def _row_count(url: str, table: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _import(store: Store, path: Path, area: str = "noordoostpolder") -> None:
    table = read_farm_data(path, known_farms={FARM_A, FARM_B})
    import_farm_data(
        store, area, table, file_name=path.name, sha256="0" * 64, by="anna"
    )


# --- Schema -------------------------------------------------------------------


def test_migration_adds_and_removes_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dashboard.sqlite'}"
    with open_store(url):
        pass
    engine = create_store_engine(url)
    assert PRIVACY_TABLES <= set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    tables = set(inspect(engine).get_table_names())
    assert not PRIVACY_TABLES & tables
    assert "cycles" in tables
    engine.dispose()


# --- Farm data in the store ---------------------------------------------------


def test_import_stores_figures(farm_store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bedrijven.csv",
        "farm_id;year;n_soil_surplus_kg_ha;nh3_emission_kg_ha\n"
        f"{FARM_A};2023;112,5;40\n"
        f"{FARM_B};2023;80;\n",
    )
    _import(farm_store, path)
    table = farm_data(farm_store, "noordoostpolder").set_index("farm_id")
    assert table.loc[FARM_A, "n_soil_surplus_kg_ha"] == 112.5
    assert table.loc[FARM_A, "nh3_emission_kg_ha"] == 40.0
    assert pd.isna(table.loc[FARM_B, "nh3_emission_kg_ha"])
    assert pd.isna(table.loc[FARM_B, "grazing_days"])
    (record,) = list_farm_imports(farm_store, "noordoostpolder")
    assert (record.file_name, record.row_count, record.value_count) == (
        "bedrijven.csv",
        2,
        3,
    )


def test_newer_import_corrects_fields(farm_store: Store, tmp_path: Path) -> None:
    _import(
        farm_store,
        _write(
            tmp_path / "a.csv",
            f"farm_id,year,n_soil_surplus_kg_ha,nh3_emission_kg_ha\n{FARM_A},2023,112.5,40\n",
        ),
    )
    _import(
        farm_store,
        _write(
            tmp_path / "b.csv", f"farm_id,year,nh3_emission_kg_ha\n{FARM_A},2023,38\n"
        ),
    )
    row = farm_data(farm_store, "noordoostpolder").iloc[0]
    assert row["nh3_emission_kg_ha"] == 38.0
    assert row["n_soil_surplus_kg_ha"] == 112.5
    assert len(list_farm_imports(farm_store, "noordoostpolder")) == 2


def test_store_rejects_table_without_year(farm_store: Store, store_url: str) -> None:
    table = pd.DataFrame({"farm_id": [FARM_A], "nh3_emission_kg_ha": [40.0]})
    with pytest.raises(StoreInputError, match="no column 'year'"):
        import_farm_data(
            farm_store,
            "noordoostpolder",
            table,
            file_name="x.csv",
            sha256="0",
            by="anna",
        )
    assert _row_count(store_url, "farm_data_imports") == 0


def test_import_into_unknown_area(farm_store: Store) -> None:
    table = pd.DataFrame({"farm_id": [FARM_A], "year": [2023]})
    with pytest.raises(StoreError, match="area 'elders' is not in the dashboard store"):
        import_farm_data(
            farm_store, "elders", table, file_name="x.csv", sha256="0", by="a"
        )


def test_farm_ids_not_logged(
    farm_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _import(farm_store, _write(tmp_path / "a.csv", f"farm_id,year\n{FARM_A},2023\n"))
    set_consent(farm_store, "noordoostpolder", FARM_A, "aggregates", True, "boer-a")
    assert "imported farm data" in caplog.text
    assert "consent for purpose aggregates given" in caplog.text
    assert "ILLUSTRATIEF" not in caplog.text


# --- Farm data import on the command line -------------------------------------


def test_cli_rejects_malformed_file(
    pilot_paths: ProjectPaths, pilot_build: BuildOutput, store_url: str, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "bedrijven.csv",
        "farm_id,year,nh3_emission_kg_ha,grazing_days\n"
        f"{FARM_A},2023,40,120\n"
        f"{FARM_B},2023,veel,120\n"
        f"ILLUSTRATIEF-0-0,2023,12,400\n",
    )
    result = runner.invoke(
        app,
        ["farms", "import", "noordoostpolder", str(path)],
        env=_env(pilot_paths, store_url),
    )
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "nothing was imported" in output
    assert "row 3, column 'nh3_emission_kg_ha': 'veel' is not a number" in output
    assert "row 4, column 'grazing_days': '400' is outside 0..366" in output
    assert (
        "row 4, column 'farm_id': farm 'ILLUSTRATIEF-0-0' is not in the farm register"
        in output
    )
    assert _row_count(store_url, "farm_data_imports") == 0
    assert _row_count(store_url, "farm_data_values") == 0


def test_cli_imports_valid_file(
    pilot_paths: ProjectPaths, store_url: str, farm_store: Store, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "bedrijven.csv",
        f"farm_id;year;ghg_emission_t_co2e\n{FARM_A};2023;1.234,5\n{FARM_B};2023;800\n",
    )
    result = runner.invoke(
        app,
        ["farms", "import", "noordoostpolder", str(path), "--by", "anna"],
        env=_env(pilot_paths, store_url),
    )
    assert result.exit_code == 0, result.output
    assert "Imported 2 rows (2 values) from bedrijven.csv" in result.output
    table = farm_data(farm_store, "noordoostpolder").set_index("farm_id")
    assert table.loc[FARM_A, "ghg_emission_t_co2e"] == 1234.5
    listing = runner.invoke(
        app, ["farms", "imports", "noordoostpolder"], env=_env(pilot_paths, store_url)
    )
    assert "bedrijven.csv" in listing.output


# --- Consent ------------------------------------------------------------------


def test_consent_history_kept(farm_store: Store) -> None:
    area = "noordoostpolder"
    set_consent(farm_store, area, FARM_A, "farmers", True, "boer-a")
    set_consent(farm_store, area, FARM_A, "farmers", False, "boer-a")
    set_consent(farm_store, area, FARM_A, "aggregates", True, "boer-a")
    assert consent_state(farm_store, area) == {FARM_A: frozenset({"aggregates"})}
    history = consent_history(farm_store, area, FARM_A)
    assert [(c.purpose, c.granted) for c in history] == [
        ("farmers", True),
        ("farmers", False),
        ("aggregates", True),
    ]
    assert all(c.changed_by == "boer-a" for c in history)
    assert all(c.changed_at.tzinfo is not None for c in history)


@pytest.mark.parametrize(
    ("purpose", "by", "match"),
    [
        ("everyone", "boer-a", "consent purpose 'everyone' is invalid"),
        ("farmers", "  ", "who makes the change is required"),
    ],
)
def test_invalid_consent_rejected(
    farm_store: Store, purpose: str, by: str, match: str
) -> None:
    with pytest.raises(StoreInputError, match=match):
        set_consent(farm_store, "noordoostpolder", FARM_A, purpose, True, by)
    assert consent_history(farm_store, "noordoostpolder") == []


def test_cli_consent_and_listing(pilot_paths: ProjectPaths, store_url: str) -> None:
    env = _env(pilot_paths, store_url)
    result = runner.invoke(
        app,
        [
            "farms",
            "consent",
            "noordoostpolder",
            FARM_A,
            "--purpose",
            "coordinator",
            "--grant",
            "--by",
            "anna",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    listing = runner.invoke(app, ["farms", "consents", "noordoostpolder"], env=env)
    assert FARM_A in listing.output
    unknown = runner.invoke(
        app,
        [
            "farms",
            "consent",
            "noordoostpolder",
            "ILLUSTRATIEF-0-0",
            "--purpose",
            "farmers",
            "--grant",
        ],
        env=env,
    )
    assert unknown.exit_code == 2
    assert "is not in the farm register" in unknown.output


# --- The illustrative register ------------------------------------------------


def _illustrate_env(sandbox: ProjectPaths, pilot_paths: ProjectPaths, url: str) -> dict:
    return _env(
        ProjectPaths(
            layers=sandbox.layers, configs=sandbox.configs, builds=pilot_paths.builds
        ),
        url,
    )


def test_illustrate_regenerates_register(
    sandbox: ProjectPaths,
    pilot_paths: ProjectPaths,
    pilot_build: BuildOutput,
    store_url: str,
) -> None:
    target = sandbox.layers / "noordoostpolder" / "illustrative_farm_register.csv"
    target.write_text("parcel_id,farm_id\n1,ILLUSTRATIEF-1-1\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["farms", "illustrate", "noordoostpolder"],
        env=_illustrate_env(sandbox, pilot_paths, store_url),
    )
    assert result.exit_code == 0, result.output
    assert "1698 parcels in 56 illustrative farms" in result.output
    assert target.read_bytes() == REGISTER.read_bytes()


def test_illustrate_keeps_real_register(
    sandbox: ProjectPaths,
    pilot_paths: ProjectPaths,
    pilot_build: BuildOutput,
    store_url: str,
) -> None:
    target = sandbox.layers / "noordoostpolder" / "illustrative_farm_register.csv"
    target.write_text("parcel_id,farm_id\n3068,NL-0001\n", encoding="utf-8")
    env = _illustrate_env(sandbox, pilot_paths, store_url)
    refused = runner.invoke(app, ["farms", "illustrate", "noordoostpolder"], env=env)
    assert refused.exit_code == 2
    assert "may describe real farms" in " ".join(refused.output.split())
    assert "NL-0001" in target.read_text(encoding="utf-8")

    forced = runner.invoke(
        app, ["farms", "illustrate", "noordoostpolder", "--force"], env=env
    )
    assert forced.exit_code == 0, forced.output
    assert target.read_bytes() == REGISTER.read_bytes()
