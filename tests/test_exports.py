"""Exports of the pilot build open in the usual tools and keep their content."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geo_dashboard.errors import UnknownIdError
from geo_dashboard.exports import EXPORT_FORMATS, export
from geo_dashboard.output import BuildOutput


def test_geopackage_opens_with_crs(pilot_build: BuildOutput, tmp_path) -> None:
    path = export(pilot_build, "gpkg", tmp_path / "percelen.gpkg")
    parcels = gpd.read_file(path)
    assert parcels.crs.to_epsg() == 28992
    assert len(parcels) == 1698
    assert {"perceel_id", "opp_ha", "gewas", "nh3_ugm3"} <= set(parcels.columns)
    assert parcels["opp_ha"].sum() == pytest.approx(
        pilot_build.parcels["area_ha"].sum()
    )


def test_csv_keeps_gaps_empty(pilot_build: BuildOutput, tmp_path) -> None:
    path = export(pilot_build, "csv", tmp_path / "kpis.csv", language="en")
    table = pd.read_csv(path, encoding="utf-8-sig")
    assert len(table) == len(pilot_build.kpis)
    gaps = table[table["status"] == "gap"]
    assert gaps["value"].isna().all()
    assert "Crop diversity (Shannon index)" in set(table["name"])


def test_excel_has_kpis_and_sources(pilot_build: BuildOutput, tmp_path) -> None:
    path = export(pilot_build, "xlsx", tmp_path / "kpis.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert set(sheets) == {"KPIs", "bronnen"}
    assert "RVO (Rijksdienst voor Ondernemend Nederland)" in set(
        sheets["bronnen"]["publisher"]
    )


def test_png_is_an_image(pilot_build: BuildOutput, tmp_path) -> None:
    path = export(
        pilot_build, "png", tmp_path / "kaart.png", kpi_id="nh3_concentration_farmland"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000


def test_pdf_has_table_date_and_sources(pilot_build: BuildOutput, tmp_path) -> None:
    pypdf = pytest.importorskip("pypdf")
    path = export(
        pilot_build, "pdf", tmp_path / "rapport.pdf", kpi_id="crop_diversity_shannon"
    )
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Gewasdiversiteit" in text
    assert "Bronnen" in text
    assert "RVO" in text


def test_gap_kpi_map_says_gap(pilot_build: BuildOutput, tmp_path) -> None:
    path = export(pilot_build, "png", tmp_path / "gap.png", kpi_id="peat_co2_emission")
    assert path.is_file()


def test_unknown_format_rejected(pilot_build: BuildOutput, tmp_path) -> None:
    with pytest.raises(
        ValueError, match=r"export format 'shp' is not supported; use one of gpkg"
    ):
        export(pilot_build, "shp", tmp_path / "x.shp")


def test_failed_export_leaves_no_file(pilot_build: BuildOutput, tmp_path) -> None:
    with pytest.raises(UnknownIdError, match=r"KPI 'no_such_kpi' is not defined"):
        export(pilot_build, "png", tmp_path / "kaart.png", kpi_id="no_such_kpi")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_every_format_writes(pilot_build: BuildOutput, tmp_path, fmt: str) -> None:
    assert export(pilot_build, fmt, tmp_path / f"out.{fmt}").stat().st_size > 0


@pytest.mark.parametrize(
    ("fmt", "name", "found"),
    [
        ("pdf", "x.csv", "suffix '.csv'"),
        ("csv", "kpis.xlsx", "suffix '.xlsx'"),
        ("gpkg", "percelen", "no suffix"),
    ],
)
def test_suffix_must_match_format(
    pilot_build: BuildOutput, tmp_path, fmt: str, name: str, found: str
) -> None:
    target = tmp_path / name
    expected = Path(name).with_suffix(f".{fmt}").name
    with pytest.raises(ValueError, match=re.escape(found)) as raised:
        export(pilot_build, fmt, target)
    assert f"the format is '{fmt}'" in str(raised.value)
    assert f"name the file '{expected}'" in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_suffix_case_ignored(pilot_build: BuildOutput, tmp_path) -> None:
    path = export(pilot_build, "csv", tmp_path / "KPIS.CSV")
    assert path.stat().st_size > 0


def test_cli_rejects_mismatched_suffix(pilot_paths, pilot_build, tmp_path) -> None:
    from typer.testing import CliRunner

    from geo_dashboard.cli import app

    target = tmp_path / "x.csv"
    env = {"GEO_DASHBOARD_BUILDS": str(pilot_paths.builds)}
    result = CliRunner().invoke(
        app, ["export", pilot_build.area_id, "-f", "pdf", "-o", str(target)], env=env
    )
    assert result.exit_code == 2
    # The console wraps long lines, so the words are compared unwrapped.
    message = " ".join(result.output.split())
    assert "has suffix '.csv' but the format is 'pdf'" in message
    assert not target.exists()
