"""``geo-dashboard new-area`` on copies of the real layers and configs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from typer.testing import CliRunner

from geo_dashboard.catalog import CATALOG_FILE, load_catalog
from geo_dashboard.cli import app
from geo_dashboard.config import load_area_config
from geo_dashboard.errors import ConfigError, LayerError
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import read_build
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.scaffold import AreaRequest, new_area
from geo_dashboard.staged_writes import StagedWrites

runner = CliRunner()

LH_BOUNDARY = "laag_holland/boundary_gemeenten_union.gpkg"
GH_BOUNDARY = "groene_hart/boundary_sample_extent.gpkg"
PROVENANCE = ["--source", "union of municipality outlines", "--licence", "unknown"]


def _env(paths: ProjectPaths) -> dict[str, str]:
    return {
        "GEO_DASHBOARD_LAYERS": str(paths.layers),
        "GEO_DASHBOARD_CONFIGS": str(paths.configs),
        "GEO_DASHBOARD_BUILDS": str(paths.builds),
    }


def _snapshot(paths: ProjectPaths) -> dict[str, bytes]:
    files = [paths.layers / CATALOG_FILE, *sorted(paths.configs.glob("*.yaml"))]
    return {str(path): path.read_bytes() for path in files}


def _new_area(paths: ProjectPaths, area: str, boundary: Path, *extra: str):
    arguments = ["new-area", area, "--boundary", str(boundary), *PROVENANCE, *extra]
    return runner.invoke(app, arguments, env=_env(paths))


def test_laag_holland_validates_and_builds(sandbox: ProjectPaths) -> None:
    result = _new_area(
        sandbox, "lh_new", sandbox.layers / LH_BOUNDARY, "--name", "Laag Holland nieuw"
    )
    assert result.exit_code == 0, result.output
    assert "natura2000: lh_natura2000" in result.output
    assert "nh3_concentration: lh_nh3_2023" in result.output

    catalog = load_catalog(sandbox.layers)
    entry = catalog.layer("lh_new_boundary")
    assert entry.file == "lh_new/boundary.gpkg"
    assert entry.crs == "EPSG:28992"
    assert entry.source == "union of municipality outlines"
    assert entry.licence == "unknown"
    assert "new-area" in entry.processing
    assert pyogrio.read_info(catalog.path(entry), layer="boundary")["features"] == 1

    config = load_area_config(sandbox.configs, "lh_new", catalog, load_kpi_library())
    assert config.name.nl == "Laag Holland nieuw"
    assert config.layer_ref("natura2000").layer == "lh_natura2000"
    assert config.layer_ref("municipalities").layer == "lh_gemeenten"
    assert "parcels" in config.data_gaps
    assert "peat_soil" in config.data_gaps
    assert "crop_codes" in config.data_gaps
    assert all(kpi.target.basis == "provisional" for kpi in config.kpis)
    text = config.path.read_text(encoding="utf-8")
    assert "TODO: every baseline and target below is an empty placeholder" in text

    validate = runner.invoke(app, ["validate", "lh_new"], env=_env(sandbox))
    assert validate.exit_code == 0, validate.output
    assert "valid" in validate.output

    build = runner.invoke(app, ["build", "lh_new"], env=_env(sandbox))
    assert build.exit_code == 0, build.output
    assert "gap: no parcels" in build.output
    kpis = read_build(sandbox.builds, "lh_new").kpis.set_index("kpi_id")
    assert kpis.loc["natura2000_nh3_above_1ug", "value"] == pytest.approx(100.0)
    assert kpis.loc["farmland_in_nnn", "status"] == "gap"
    assert kpis.loc["farmland_in_nnn", "missing_layers"] == "parcels, nnn"


def test_groene_hart_boundary_finds_parcels(sandbox: ProjectPaths) -> None:
    result = _new_area(sandbox, "gh_new", sandbox.layers / GH_BOUNDARY)
    assert result.exit_code == 0, result.output
    catalog = load_catalog(sandbox.layers)
    config = load_area_config(sandbox.configs, "gh_new", catalog, load_kpi_library())
    assert config.layer_ref("parcels").layer == "gh_somers_peat_emission"
    assert config.parcel_fields.parcel_id == "PARCEL_ID"
    peat = config.layer_ref("peat_soil")
    assert peat.layer == "gh_bro_soilmap_sample"
    assert peat.where == "veen_klasse == 'veengrond'"
    assert set(config.data_gaps) == {
        "nnn",
        "surface_water",
        "n_deposition",
        "crop_codes",
    }

    build = runner.invoke(app, ["build", "gh_new"], env=_env(sandbox))
    assert build.exit_code == 0, build.output
    assert "Built gh_new: 619 parcels" in build.output
    assert "gap: no nnn" in build.output


def test_boundary_in_wgs84_is_reprojected(
    sandbox: ProjectPaths, tmp_path: Path
) -> None:
    source = gpd.read_file(sandbox.layers / LH_BOUNDARY).to_crs(4326)
    wgs84 = tmp_path / "outline.geojson"
    source.to_file(wgs84, driver="GeoJSON")
    result = _new_area(sandbox, "lh_wgs", wgs84)
    assert result.exit_code == 0, result.output
    entry = load_catalog(sandbox.layers).layer("lh_wgs_boundary")
    assert "reprojected from EPSG:4326 to EPSG:28992" in entry.processing
    written = gpd.read_file(sandbox.layers / entry.file)
    assert written.crs.to_epsg() == 28992
    assert written.area.sum() / 1e6 == pytest.approx(391.4, abs=0.5)


@pytest.mark.parametrize("area_id", ["../etc", "a/b", "two words", "gebiéd", "Upper"])
def test_area_id_with_path_characters(area_id: str, sandbox: ProjectPaths) -> None:
    before = _snapshot(sandbox)
    result = _new_area(sandbox, area_id, sandbox.layers / LH_BOUNDARY)
    assert result.exit_code == 2
    assert f"area id {area_id!r} is invalid" in result.output
    assert _snapshot(sandbox) == before
    assert not (sandbox.layers / area_id).exists()


def test_existing_config_needs_force(sandbox: ProjectPaths) -> None:
    before = _snapshot(sandbox)
    result = _new_area(sandbox, "laag_holland", sandbox.layers / LH_BOUNDARY)
    assert result.exit_code == 2
    assert "laag_holland.yaml already exists. Pass --force" in result.output
    assert _snapshot(sandbox) == before


def test_force_replaces_config_and_boundary(sandbox: ProjectPaths) -> None:
    first = _new_area(sandbox, "lh_new", sandbox.layers / LH_BOUNDARY)
    assert first.exit_code == 0, first.output
    again = _new_area(sandbox, "lh_new", sandbox.layers / GH_BOUNDARY)
    assert again.exit_code == 2
    assert "already exists" in again.output

    forced = _new_area(sandbox, "lh_new", sandbox.layers / GH_BOUNDARY, "--force")
    assert forced.exit_code == 0, forced.output
    catalog = load_catalog(sandbox.layers)
    assert catalog.layer_ids.count("lh_new_boundary") == 1
    config = load_area_config(sandbox.configs, "lh_new", catalog, load_kpi_library())
    assert config.layer_ref("parcels").layer == "gh_somers_peat_emission"


def test_missing_provenance_named(sandbox: ProjectPaths) -> None:
    before = _snapshot(sandbox)
    arguments = ["new-area", "lh_new", "--boundary", str(sandbox.layers / LH_BOUNDARY)]
    result = runner.invoke(app, arguments, env=_env(sandbox))
    assert result.exit_code == 2
    assert "--source and --licence missing" in result.output
    assert _snapshot(sandbox) == before


def test_points_boundary_rejected(sandbox: ProjectPaths, tmp_path: Path) -> None:
    outline = gpd.read_file(sandbox.layers / LH_BOUNDARY)
    points = outline.set_geometry(outline.representative_point())
    path = tmp_path / "points.gpkg"
    points.to_file(path, layer="points")
    before = _snapshot(sandbox)
    result = _new_area(sandbox, "lh_new", path)
    assert result.exit_code == 2
    assert "features are Point, not polygons" in result.output
    assert _snapshot(sandbox) == before
    assert not (sandbox.layers / "lh_new").exists()


def test_boundary_outside_netherlands(sandbox: ProjectPaths, tmp_path: Path) -> None:
    outline = gpd.read_file(sandbox.layers / LH_BOUNDARY)
    # Shifted 1,000 km east: valid RD numbers, but far outside the country.
    outline = outline.set_geometry(outline.translate(xoff=1_000_000))
    path = tmp_path / "far.gpkg"
    outline.to_file(path, layer="far")
    before = _snapshot(sandbox)
    with pytest.raises(LayerError, match="outside the Netherlands"):
        new_area(
            sandbox,
            AreaRequest("lh_far", path, source="s", licence="l"),
        )
    assert _snapshot(sandbox) == before


def test_unreadable_boundary(sandbox: ProjectPaths, tmp_path: Path) -> None:
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"not a geopackage")
    before = _snapshot(sandbox)
    result = _new_area(sandbox, "lh_new", path)
    assert result.exit_code == 2
    assert f"cannot read {path} as a vector file" in result.output
    assert _snapshot(sandbox) == before


def test_failed_check_rolls_back_every_file(sandbox: ProjectPaths) -> None:
    before = _snapshot(sandbox)
    catalog_path = sandbox.layers / CATALOG_FILE
    config_path = sandbox.configs / "laag_holland.yaml"
    new_layer = sandbox.layers / "rollback" / "boundary.gpkg"
    writes = StagedWrites()
    writes.temporary_path(new_layer).write_bytes(b"layer")
    writes.write_text(catalog_path, "layers: []\n")
    writes.write_text(config_path, "id: changed\n")

    def failing_check() -> None:
        raise ConfigError("written config does not load")

    with pytest.raises(ConfigError, match="does not load"):
        writes.commit(check=failing_check)
    assert _snapshot(sandbox) == before
    assert not new_layer.exists()
    assert not new_layer.parent.exists()
    leftovers = [p.name for p in sandbox.layers.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.parametrize("area_id", ["tables", "ambitions", "measures", "added"])
def test_reserved_folder_id_rejected(sandbox: ProjectPaths, area_id: str) -> None:
    before = _snapshot(sandbox)
    result = _new_area(sandbox, area_id, sandbox.layers / LH_BOUNDARY)
    assert result.exit_code == 2, result.output
    assert f"area id {area_id!r} is reserved" in result.output
    assert _snapshot(sandbox) == before
    assert not (sandbox.layers / area_id / "boundary.gpkg").exists()


def test_new_area_invalid_year(sandbox: ProjectPaths) -> None:
    result = _new_area(
        sandbox, "lh_year", sandbox.layers / LH_BOUNDARY, "--year", "1200"
    )
    assert result.exit_code == 2, result.output
    assert "--year 1200 is invalid" in result.output
    assert "Traceback" not in result.output
