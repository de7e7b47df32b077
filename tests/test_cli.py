"""The command line on the real pilot layers."""

from __future__ import annotations

import io

import pandas as pd
from typer.testing import CliRunner

from geo_dashboard.cli import app
from geo_dashboard.paths import ProjectPaths

runner = CliRunner()


def _env(paths: ProjectPaths) -> dict[str, str]:
    return {
        "GEO_DASHBOARD_LAYERS": str(paths.layers),
        "GEO_DASHBOARD_CONFIGS": str(paths.configs),
        "GEO_DASHBOARD_BUILDS": str(paths.builds),
    }


def test_build_prints_kpi_table(sandbox: ProjectPaths) -> None:
    result = runner.invoke(app, ["build", "noordoostpolder"], env=_env(sandbox))
    assert result.exit_code == 0, result.output
    assert "Built noordoostpolder: 1698 parcels, 3269.4 ha" in result.output
    assert "Crop diversity (Shannon index)" in result.output
    assert "gap: no peat_emission" in result.output


def test_kpis_as_csv(sandbox: ProjectPaths) -> None:
    runner.invoke(app, ["build", "noordoostpolder"], env=_env(sandbox))
    result = runner.invoke(app, ["kpis", "noordoostpolder", "--csv"], env=_env(sandbox))
    assert result.exit_code == 0
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 12


def test_validate_reports_gaps(sandbox: ProjectPaths) -> None:
    result = runner.invoke(app, ["validate", "noordoostpolder"], env=_env(sandbox))
    assert result.exit_code == 0
    assert "valid" in result.output
    assert "peat_soil" in result.output


def test_unknown_area_exits_2(sandbox: ProjectPaths) -> None:
    result = runner.invoke(app, ["build", "atlantis"], env=_env(sandbox))
    assert result.exit_code == 2
    assert "atlantis.yaml not found" in result.output


def test_kpis_without_build(sandbox: ProjectPaths) -> None:
    result = runner.invoke(app, ["kpis", "noordoostpolder"], env=_env(sandbox))
    assert result.exit_code == 2
    assert "geo-dashboard build noordoostpolder" in result.output


def test_areas_lists_pilot(sandbox: ProjectPaths) -> None:
    result = runner.invoke(app, ["areas"], env=_env(sandbox))
    assert "noordoostpolder" in result.stdout.split()


def test_export_pdf(sandbox: ProjectPaths, tmp_path) -> None:
    runner.invoke(app, ["build", "noordoostpolder"], env=_env(sandbox))
    target = tmp_path / "rapport.pdf"
    result = runner.invoke(
        app, ["export", "noordoostpolder", "-f", "pdf", "-o", str(target), "--lang", "en"],
        env=_env(sandbox),
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:5] == b"%PDF-"


def test_export_unknown_format(sandbox: ProjectPaths, tmp_path) -> None:
    runner.invoke(app, ["build", "noordoostpolder"], env=_env(sandbox))
    result = runner.invoke(
        app, ["export", "noordoostpolder", "-f", "doc", "-o", str(tmp_path / "x.doc")],
        env=_env(sandbox),
    )
    assert result.exit_code == 2
    assert "export format 'doc' is not supported" in result.output


def test_validate_finds_unreadable_layer(sandbox: ProjectPaths) -> None:
    path = sandbox.layers / "noordoostpolder" / "natura2000.gpkg"
    path.write_bytes(path.read_bytes()[:5000])
    result = runner.invoke(app, ["validate", "noordoostpolder"], env=_env(sandbox))
    assert result.exit_code == 2
    assert "layer 'nop_natura2000': cannot read" in result.output


def test_validate_finds_missing_layer(sandbox: ProjectPaths) -> None:
    (sandbox.layers / "noordoostpolder" / "nh3_concentratie_2023_1km.tif").unlink()
    result = runner.invoke(app, ["validate", "noordoostpolder"], env=_env(sandbox))
    assert result.exit_code == 2
    assert "nh3_concentratie_2023_1km.tif not found" in result.output
