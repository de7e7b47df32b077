"""``geo-dashboard add-layer`` on copies of the real layers and configs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.warp
from typer.testing import CliRunner

from geo_dashboard.build import build_area
from geo_dashboard.catalog import CATALOG_FILE, load_catalog
from geo_dashboard.cli import app
from geo_dashboard.config import load_area_config
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import read_build
from geo_dashboard.paths import ProjectPaths

runner = CliRunner()

GH_NATURA = "groene_hart/natura2000.gpkg"
GH_SOMERS = "groene_hart/somers_veen_emissie_percelen.gpkg"
LH_NH3 = "laag_holland/nh3_concentratie_2023_1km.tif"
PROVENANCE = ["--source", "copy of a shipped layer", "--licence", "CC0 1.0"]


def _env(paths: ProjectPaths) -> dict[str, str]:
    return {
        "GEO_DASHBOARD_LAYERS": str(paths.layers),
        "GEO_DASHBOARD_CONFIGS": str(paths.configs),
        "GEO_DASHBOARD_BUILDS": str(paths.builds),
    }


def _snapshot(paths: ProjectPaths) -> dict[str, bytes]:
    files = [paths.layers / CATALOG_FILE, *sorted(paths.configs.glob("*.yaml"))]
    return {str(path): path.read_bytes() for path in files}


def _add(paths: ProjectPaths, file: Path, *arguments: str):
    return runner.invoke(app, ["add-layer", str(file), *arguments], env=_env(paths))


def test_nnn_layer_turns_gap_into_value(sandbox: ProjectPaths) -> None:
    before = build_area("groene_hart", sandbox).kpis.set_index("kpi_id")
    assert before.loc["farmland_in_nnn", "status"] == "gap"

    # The Natura 2000 file is used as an NNN map, so the new KPI must equal
    # the farmland area inside Natura 2000 computed from the same parcels.
    result = _add(
        sandbox,
        sandbox.layers / GH_NATURA,
        "--id",
        "gh_nnn_test",
        "--role",
        "nnn",
        "--year",
        "2026",
        "--area",
        "groene_hart",
        *PROVENANCE,
    )
    assert result.exit_code == 0, result.output
    assert "removed from data_gaps: nnn" in result.output

    catalog = load_catalog(sandbox.layers)
    entry = catalog.layer("gh_nnn_test")
    assert entry.file == "groene_hart/gh_nnn_test.gpkg"
    assert entry.year == 2026
    assert entry.processing.startswith("Added with geo-dashboard add-layer.")
    assert "already in EPSG:28992" in entry.processing
    config = load_area_config(
        sandbox.configs, "groene_hart", catalog, load_kpi_library()
    )
    assert config.layer_ref("nnn").layer == "gh_nnn_test"
    assert "nnn" not in config.data_gaps
    text = config.path.read_text(encoding="utf-8")
    assert text.startswith("# Peat-meadow area near Bodegraven-Woerden")

    validate = runner.invoke(app, ["validate", "groene_hart"], env=_env(sandbox))
    assert validate.exit_code == 0, validate.output
    build = runner.invoke(app, ["build", "groene_hart"], env=_env(sandbox))
    assert build.exit_code == 0, build.output
    output = read_build(sandbox.builds, "groene_hart")
    kpis = output.kpis.set_index("kpi_id")
    parcels = output.parcels
    expected = float((parcels["area_ha"] * parcels["n2000_share"]).sum())
    assert expected > 0
    assert kpis.loc["farmland_in_nnn", "status"] != "gap"
    assert kpis.loc["farmland_in_nnn", "value"] == pytest.approx(expected, rel=1e-9)


def test_peat_emission_matches_original(sandbox: ProjectPaths) -> None:
    original = build_area("groene_hart", sandbox).kpis.set_index("kpi_id")
    expected = original.loc["peat_co2_emission", "value"]

    # Take the emission layer out of a copy of the Groene Hart config, so the
    # emission has to come from the imported layer.
    config_path = sandbox.configs / "groene_hart.yaml"
    text = config_path.read_text(encoding="utf-8")
    text = text.replace("  peat_emission: gh_somers_peat_emission\n", "")
    text = text.replace("  peat_emission_rate: emission_t\n", "")
    text = text.replace(
        "data_gaps:\n", "data_gaps:\n  peat_emission: SOMERS emissions\n"
    )
    config_path.write_text(text, encoding="utf-8")
    gap = build_area("groene_hart", sandbox).kpis.set_index("kpi_id")
    assert gap.loc["peat_co2_emission", "status"] == "gap"

    result = _add(
        sandbox,
        sandbox.layers / GH_SOMERS,
        "--id",
        "gh_somers_copy",
        "--role",
        "peat_emission",
        "--unit",
        "kg CO2-eq/ha/yr",
        "--year",
        "2025",
        "--area",
        "groene_hart",
        *PROVENANCE,
    )
    assert result.exit_code == 0, result.output
    after = build_area("groene_hart", sandbox).kpis.set_index("kpi_id")
    assert after.loc["peat_co2_emission", "value"] == pytest.approx(expected, rel=1e-6)


def test_raster_is_reprojected_and_compressed(
    sandbox: ProjectPaths, tmp_path: Path
) -> None:
    source = sandbox.layers / LH_NH3
    etrs = tmp_path / "nh3_etrs.tif"
    with rasterio.open(source) as dataset:
        transform, width, height = rasterio.warp.calculate_default_transform(
            dataset.crs, "EPSG:3035", dataset.width, dataset.height, *dataset.bounds
        )
        profile = dataset.profile | {
            "crs": "EPSG:3035",
            "transform": transform,
            "width": width,
            "height": height,
        }
        original = dataset.read(1, masked=True)
        with rasterio.open(etrs, "w", **profile) as out:
            rasterio.warp.reproject(
                rasterio.band(dataset, 1),
                rasterio.band(out, 1),
                dst_crs="EPSG:3035",
                resampling=rasterio.warp.Resampling.nearest,
            )

    result = _add(
        sandbox,
        etrs,
        "--id",
        "lh_nh3_etrs",
        "--role",
        "nh3_concentration",
        "--unit",
        "µg/m³",
        "--year",
        "2023",
        *PROVENANCE,
    )
    assert result.exit_code == 0, result.output
    entry = load_catalog(sandbox.layers).layer("lh_nh3_etrs")
    assert entry.file == "added/lh_nh3_etrs.tif"
    assert entry.kind == "raster"
    assert "reprojected from EPSG:3035 to EPSG:28992" in entry.processing
    with rasterio.open(sandbox.layers / entry.file) as written:
        assert written.crs.to_epsg() == 28992
        assert written.compression.name.lower() == "deflate"
        assert written.nodata == -999
        values = written.read(1, masked=True)
    assert float(values.mean()) == pytest.approx(float(original.mean()), rel=0.05)
    assert np.isclose(float(values.max()), float(original.max()))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--id", "x_new", "--role", "hedgerows"],
            "role 'hedgerows' is unknown; valid roles: parcels",
        ),
        (
            ["--id", "gh_natura2000", "--role", "nnn"],
            "layer id 'gh_natura2000' is already in",
        ),
        (["--id", "Bad-Id", "--role", "nnn"], "layer id 'Bad-Id' is invalid"),
        (
            [
                "--id",
                "x_new",
                "--role",
                "nnn",
                "--area",
                "noordoostpolder",
                "--source",
                " ",
                "--licence",
                "CC0 1.0",
            ],
            "--source missing",
        ),
        (
            ["--id", "x_new", "--role", "natura2000", "--area", "groene_hart"],
            "role 'natura2000' already has layer 'gh_natura2000'",
        ),
        (
            ["--id", "x_new", "--role", "n_deposition", "--unit", "µg/m³"],
            "unit 'µg/m³' does not fit role 'n_deposition', which needs 'mol N/ha/yr'",
        ),
        (
            ["--id", "x_new", "--role", "nnn", "--area", "atlantis"],
            "atlantis.yaml not found",
        ),
    ],
)
def test_bad_request_leaves_files(
    sandbox: ProjectPaths, arguments: list[str], message: str
) -> None:
    before = _snapshot(sandbox)
    extra = [] if "--source" in arguments else PROVENANCE
    result = _add(sandbox, sandbox.layers / GH_NATURA, *arguments, *extra)
    assert result.exit_code == 2
    assert message in result.output
    assert _snapshot(sandbox) == before
    assert not (sandbox.layers / "added").exists()


def test_missing_column_names_column_and_file(sandbox: ProjectPaths) -> None:
    before = _snapshot(sandbox)
    file = sandbox.layers / GH_NATURA
    result = _add(
        sandbox,
        file,
        "--id",
        "x_emission",
        "--role",
        "peat_emission",
        "--unit",
        "kg CO2-eq/ha/yr",
        "--area",
        "noordoostpolder",
        *PROVENANCE,
    )
    assert result.exit_code == 2
    assert f"{file} (layer 'natura2000') has no column 'emission_t'" in result.output
    assert _snapshot(sandbox) == before
    assert not (sandbox.layers / "noordoostpolder" / "x_emission.gpkg").exists()


def test_missing_parcel_id_column(sandbox: ProjectPaths) -> None:
    before = _snapshot(sandbox)
    file = sandbox.layers / GH_SOMERS
    result = _add(
        sandbox,
        file,
        "--id",
        "x_parcels",
        "--role",
        "parcels",
        "--area",
        "laag_holland",
        "--column",
        "parcel_id=gid",
        *PROVENANCE,
    )
    assert result.exit_code == 2
    assert "has no column 'gid'" in result.output
    assert "--column parcel_id=NAME" in result.output
    assert _snapshot(sandbox) == before


def test_parcels_with_columns_fill_gaps(sandbox: ProjectPaths, tmp_path: Path) -> None:
    # The Groene Hart parcels, moved into Laag Holland: add-layer rejects a
    # parcel layer that does not overlap the area.
    parcels = gpd.read_file(sandbox.layers / GH_SOMERS).to_crs("EPSG:28992")
    parcels["geometry"] = parcels.geometry.translate(xoff=15_000, yoff=45_000)
    moved = tmp_path / "lh_parcels.gpkg"
    parcels.to_file(moved)
    result = _add(
        sandbox,
        moved,
        "--id",
        "lh_parcels_test",
        "--role",
        "parcels",
        "--area",
        "laag_holland",
        "--column",
        "parcel_id=PARCEL_ID",
        *PROVENANCE,
    )
    assert result.exit_code == 0, result.output
    catalog = load_catalog(sandbox.layers)
    config = load_area_config(
        sandbox.configs, "laag_holland", catalog, load_kpi_library()
    )
    assert config.parcel_fields.parcel_id == "PARCEL_ID"
    assert "parcels" not in config.data_gaps
    assert "crop_codes" in config.data_gaps


def test_file_without_crs(sandbox: ProjectPaths, tmp_path: Path) -> None:
    sites = gpd.read_file(sandbox.layers / GH_NATURA)
    shapefile = tmp_path / "sites.shp"
    sites[["naam", "geometry"]].to_file(shapefile)
    shapefile.with_suffix(".prj").unlink()
    before = _snapshot(sandbox)
    result = _add(
        sandbox,
        shapefile,
        "--id",
        "x_sites",
        "--role",
        "nnn",
        "--area",
        "groene_hart",
        *PROVENANCE,
    )
    assert result.exit_code == 2
    assert "has no CRS" in result.output
    assert _snapshot(sandbox) == before


def test_raster_without_crs(sandbox: ProjectPaths, tmp_path: Path) -> None:
    with rasterio.open(sandbox.layers / LH_NH3) as dataset:
        profile = dataset.profile
        data = dataset.read(1)
    profile.pop("crs")
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", **profile) as out:
        out.write(data, 1)
    before = _snapshot(sandbox)
    result = _add(
        sandbox,
        bare,
        "--id",
        "x_grid",
        "--role",
        "nh3_concentration",
        "--unit",
        "µg/m³",
        *PROVENANCE,
    )
    assert result.exit_code == 2
    assert f"raster {bare} has no CRS" in result.output
    assert _snapshot(sandbox) == before


@pytest.mark.parametrize(
    ("role", "unit", "message"),
    [
        ("nnn", None, "as a vector file"),
        ("nh3_concentration", "µg/m³", "as a raster"),
    ],
)
def test_unreadable_file(
    sandbox: ProjectPaths, tmp_path: Path, role: str, unit: str | None, message: str
) -> None:
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(b"SQLite format 3\x00 truncated")
    before = _snapshot(sandbox)
    arguments = ["--id", "x_broken", "--role", role, *PROVENANCE]
    if unit:
        arguments += ["--unit", unit]
    result = _add(sandbox, broken, *arguments)
    assert result.exit_code == 2
    assert f"cannot read {broken} {message}" in result.output
    assert _snapshot(sandbox) == before
    assert not (sandbox.layers / "added").exists()


def test_layer_outside_area_rejected(sandbox: ProjectPaths) -> None:
    before = _snapshot(sandbox)
    result = _add(
        sandbox,
        sandbox.layers / "noordoostpolder/natura2000.gpkg",
        "--id",
        "nop_as_gh_nnn",
        "--role",
        "nnn",
        "--year",
        "2024",
        "--area",
        "groene_hart",
        *PROVENANCE,
    )
    assert result.exit_code == 2, result.output
    assert "no feature lies inside area 'groene_hart'" in result.output
    assert "area bounds" in result.output
    assert _snapshot(sandbox) == before


def test_raster_outside_area_rejected(sandbox: ProjectPaths) -> None:
    before = _snapshot(sandbox)
    result = _add(
        sandbox,
        sandbox.layers / "noordoostpolder/nh3_concentratie_2023_1km.tif",
        "--id",
        "nop_as_gh_deposition",
        "--role",
        "n_deposition",
        "--unit",
        "mol N/ha/yr",
        "--area",
        "groene_hart",
        *PROVENANCE,
    )
    assert result.exit_code == 2, result.output
    assert "groene_hart" in result.output
    assert "Traceback" not in result.output
    assert _snapshot(sandbox) == before


@pytest.mark.parametrize("year", ["99999", "1200"])
def test_invalid_year_exits_2(sandbox: ProjectPaths, year: str) -> None:
    result = _add(
        sandbox,
        sandbox.layers / GH_NATURA,
        "--id",
        "gh_nnn_year",
        "--role",
        "nnn",
        "--year",
        year,
        *PROVENANCE,
    )
    assert result.exit_code == 2, result.output
    assert f"--year {year} is invalid" in result.output
    assert "Traceback" not in result.output


def test_role_help_lists_roles() -> None:
    result = runner.invoke(app, ["add-layer", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "peat_emission" in result.output
    assert "(required)" not in result.output
