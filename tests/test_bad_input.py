"""Bad input: each kind fails with a message naming the file, layer, key or value,
and leaves the previous build untouched; safe repairs are made and counted.

Every case starts from a sandbox copy of the real layers with one good
build, breaks one thing and builds again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.transform
import shapely
from shapely.affinity import translate

from geo_dashboard.build import build_area
from geo_dashboard.errors import (
    ConfigError,
    LayerError,
    LayerNotFoundError,
    LayerReadError,
    UnknownIdError,
)
from geo_dashboard.output import current_build_folder, read_build
from geo_dashboard.paths import ProjectPaths
from tests.editing import edit_config, rewrite_raster, rewrite_vector, set_catalog

PILOT = "noordoostpolder"
PARCELS = ("noordoostpolder/brp_gewaspercelen_2023.gpkg", "brp_gewaspercelen")
NATURA = ("noordoostpolder/natura2000.gpkg", "natura2000")
NH3 = "noordoostpolder/nh3_concentratie_2023_1km.tif"


@dataclass(frozen=True)
class Case:
    """One kind of bad input, how to make it, and the error it must give."""

    kind: str
    make: Callable[[ProjectPaths], None]
    error: type[Exception]
    message: str


def _parcels(paths: ProjectPaths, edit, **options) -> None:
    rewrite_vector(paths.layers / PARCELS[0], PARCELS[1], edit, **options)


def _natura(paths: ProjectPaths, edit, **options) -> None:
    rewrite_vector(paths.layers / NATURA[0], NATURA[1], edit, **options)


def _config(edit) -> Callable[[ProjectPaths], None]:
    return lambda paths: edit_config(paths, PILOT, edit)


def _write_config(text: str) -> Callable[[ProjectPaths], None]:
    return lambda paths: (paths.configs / f"{PILOT}.yaml").write_text(text, encoding="utf-8")


def _truncate(rel: str, size: int) -> Callable[[ProjectPaths], None]:
    def make(paths: ProjectPaths) -> None:
        path = paths.layers / rel
        path.write_bytes(path.read_bytes()[:size])

    return make


def _drop_crs(gdf):
    return gdf.set_crs(None, allow_override=True)


def _swap_axes(gdf):
    wgs84 = gdf.to_crs(4326)
    return wgs84.set_geometry(wgs84.geometry.map(lambda g: shapely.ops.transform(lambda x, y: (y, x), g)))


def _points_among_polygons(gdf):
    gdf = gdf.copy()
    gdf.loc[[3, 7], "geometry"] = gdf.geometry.loc[[3, 7]].centroid
    return gdf


def _move_parcels_away(gdf):
    return gdf.set_geometry(gdf.geometry.translate(60_000, 0))


def _raster_all_nodata(values, profile):
    return np.full_like(values, profile["nodata"]), profile


def _raster_elsewhere(values, profile):
    transform = profile["transform"]
    profile["transform"] = transform * transform.translation(-60, 0)  # 60 cells west
    return values, profile


def _duplicate_id(gdf):
    gdf.loc[1, "gid"] = gdf.loc[0, "gid"]
    return gdf


def _no_ids(gdf):
    gdf["gid"] = gdf["gid"].astype("float64")
    gdf.loc[[2, 5], "gid"] = np.nan
    return gdf


def _no_parcel_clip(config: dict) -> None:
    config["boundary"]["clip_to_parcel_extent"] = False


def _empty(gdf):
    return gdf.iloc[0:0]


def _latin1_natura(paths: ProjectPaths) -> None:
    """Replace the Natura 2000 layer by a GeoJSON file saved as Latin-1."""
    natura = gpd.read_file(paths.layers / NATURA[0], layer=NATURA[1])
    target = paths.layers / "noordoostpolder" / "natura2000.geojson"
    natura.to_file(target, driver="GeoJSON")
    text = target.read_bytes().replace(b"De Wieden", "De Wiéden".encode("latin-1"))
    target.write_bytes(text)
    set_catalog(paths, "nop_natura2000", file="noordoostpolder/natura2000.geojson",
                layer="natura2000")


def _write_raster_unit(unit: str) -> Callable[[ProjectPaths], None]:
    return lambda paths: set_catalog(paths, "nop_nh3_2023", unit=unit)


CASES = [
    Case("missing file", lambda p: (p.layers / NATURA[0]).unlink(), LayerNotFoundError,
         r"layer 'nop_natura2000': file .*natura2000\.gpkg not found\. Restore the file"),
    Case("truncated vector file", _truncate(NATURA[0], 5000), LayerReadError,
         r"layer 'nop_natura2000': cannot read .*natura2000\.gpkg"),
    Case("truncated raster file", _truncate(NH3, 600), LayerReadError,
         r"layer 'nop_nh3_2023': cannot read raster .*nh3_concentratie_2023_1km\.tif"),
    Case("no CRS, catalogue wrong",
         lambda p: (_natura(p, _drop_crs), set_catalog(p, "nop_natura2000", crs="EPSG:4326")),
         LayerError, r"labelled EPSG:4326 \(degrees\) but its bounds are .* look like metres"),
    Case("RD coordinates labelled WGS84",
         lambda p: (_natura(p, lambda g: g.set_crs(4326, allow_override=True)),
                    set_catalog(p, "nop_natura2000", crs="EPSG:4326")),
         LayerError, r"nop_natura2000.*labelled EPSG:4326 \(degrees\) but its bounds"),
    Case("CRS differs from catalogue", lambda p: set_catalog(p, "nop_natura2000", crs="EPSG:3035"),
         LayerError, r"is in EPSG:28992 but the catalogue says EPSG:3035"),
    Case("invalid CRS in catalogue", lambda p: set_catalog(p, "nop_natura2000", crs="EPSG:999999"),
         LayerError, r"catalogue CRS 'EPSG:999999' is not a valid CRS"),
    Case("longitude and latitude swapped",
         lambda p: (_natura(p, _swap_axes), set_catalog(p, "nop_natura2000", crs="EPSG:4326")),
         LayerError, r"has longitude and latitude swapped"),
    Case("mixed geometry types", lambda p: _parcels(p, _points_among_polygons), LayerError,
         r"nop_brp_parcels_2023': 2 features are Point, not polygons \(rows 3, 7\)"),
    Case("duplicate parcel ids", lambda p: _parcels(p, _duplicate_id), LayerError,
         r"parcel ids in column 'gid' are not unique, e\.g\. \d+"),
    Case("parcels without id", lambda p: _parcels(p, _no_ids), LayerError,
         r"2 parcels have no id in column 'gid'"),
    Case("parcels entirely outside the area",
         lambda p: (_parcels(p, _move_parcels_away), _config(_no_parcel_clip)(p)),
         LayerError, r"no parcel lies inside the boundary of area 'noordoostpolder'"),
    Case("raster with different CRS than catalogue",
         lambda p: set_catalog(p, "nop_nh3_2023", crs="EPSG:3035"),
         LayerError, r"raster .* is in EPSG:28992 but the catalogue says EPSG:3035"),
    Case("raster all nodata", lambda p: rewrite_raster(p.layers / NH3, _raster_all_nodata),
         LayerError, r"nop_nh3_2023': raster .* has no data cells inside the area boundary"),
    Case("raster not covering the area", lambda p: rewrite_raster(p.layers / NH3, _raster_elsewhere),
         LayerError, r"nop_nh3_2023': raster .* has no data cells inside the area boundary"),
    Case("empty layer", lambda p: _natura(p, _empty), LayerError,
         r"layer 'nop_natura2000': .* has no features\. Use a layer with data"),
    Case("layer name not in file", lambda p: set_catalog(p, "nop_natura2000", layer="natura"),
         LayerReadError, r"cannot read .*natura2000\.gpkg \(layer 'natura'\)"),
    Case("wrong column name",
         _config(lambda d: d["parcel_fields"].update(crop_code="gewas_code")),
         LayerError, r"nop_brp_parcels_2023': .*gewas_code"),
    Case("units mismatch", _write_raster_unit("mol/ha/yr"), ConfigError,
         r"layers\.nh3_concentration: layer 'nop_nh3_2023' has unit 'mol/ha/yr' but role "
         r"'nh3_concentration' needs 'µg/m³'"),
    Case("YAML syntax error", _write_config("id: noordoostpolder\nname: {nl: x\n"), ConfigError,
         r"noordoostpolder\.yaml is not valid YAML at line 3"),
    Case("unknown KPI id", _config(lambda d: d["kpis"][0].update(id="happiness")), UnknownIdError,
         r"kpis\.0\.id: KPI 'happiness' is not defined"),
    Case("unknown layer id", _config(lambda d: d["layers"].update(parcels="brp_2099")), UnknownIdError,
         r"layers\.parcels: layer 'brp_2099' is not in the catalogue"),
    Case("target year before baseline year",
         _config(lambda d: d["kpis"][3]["target"].update(year=2010)), ConfigError,
         r"kpis\.3: .*target year 2010 is not after baseline year 2023"),
    Case("target share above 100 %",
         _config(lambda d: d["kpis"][8]["target"].update(value=150.0)), ConfigError,
         r"kpis\.8\.target\.value \(nitrate_risk_arable_share\): 150 % is above 100"),
    Case("negative target area",
         _config(lambda d: d["kpis"][0]["target"].update(value=-20.0)), ConfigError,
         r"kpis\.0\.target\.value \(farmland_within_1km_natura2000\): -20 ha is negative"),
    Case("unknown key in config", _config(lambda d: d.update(colour="green")), ConfigError,
         r"colour: unknown key; remove it"),
    Case("catalogue syntax error",
         lambda p: (p.layers / "catalog.yaml").write_text("layers: [\n", encoding="utf-8"),
         ConfigError, r"catalog\.yaml is not valid YAML"),
    Case("catalogue path leaving the layers folder",
         lambda p: set_catalog(p, "nop_natura2000", file="../../etc/passwd"), ConfigError,
         r"file '\.\./\.\./etc/passwd' must be a path relative to the layers folder"),
    Case("unsafe formula in config",
         _config(lambda d: d["layers"].update(natura2000={"layer": "nop_natura2000",
                                                          "where": "open('x').read()"})),
         ConfigError, r"uses (Call|Attribute), which is not allowed"),
    Case("layer larger than the feature limit",
         lambda p: os.environ.__setitem__("GEO_DASHBOARD_MAX_FEATURES", "1000"), LayerError,
         r"nop_brp_parcels_2023': .* has 1,698 features, more than the limit of 1,000"),
    Case("non-UTF-8 attribute text", lambda p: _latin1_natura(p), LayerReadError,
         r"nop_natura2000': attribute text in .*natura2000\.geojson is not valid UTF-8 "
         r".*Set 'encoding' in its catalogue entry"),
]


@pytest.fixture()
def built_sandbox(sandbox: ProjectPaths, monkeypatch: pytest.MonkeyPatch) -> ProjectPaths:
    """A sandbox with one good build, whose files a failed build must not touch."""
    monkeypatch.delenv("GEO_DASHBOARD_MAX_FEATURES", raising=False)
    build_area(PILOT, sandbox)
    yield sandbox
    os.environ.pop("GEO_DASHBOARD_MAX_FEATURES", None)


def _snapshot(paths: ProjectPaths) -> dict[str, object]:
    folder = current_build_folder(paths.builds, PILOT)
    return {p.name: os.stat(p).st_mtime_ns for p in folder.iterdir()} | {"folder": str(folder)}


def test_matrix_has_at_least_25_kinds() -> None:
    assert len({case.kind for case in CASES}) >= 25


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_bad_input_rejected(case: Case, built_sandbox: ProjectPaths) -> None:
    before = _snapshot(built_sandbox)
    case.make(built_sandbox)

    with pytest.raises(case.error, match=case.message):
        build_area(PILOT, built_sandbox)

    assert _snapshot(built_sandbox) == before
    leftovers = [p.name for p in (built_sandbox.builds / PILOT).iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert len(read_build(built_sandbox.builds, PILOT).parcels) == 1698


def _manifest_repairs(paths: ProjectPaths) -> dict[str, dict]:
    manifest = build_area(PILOT, paths).manifest
    return {report["layer_id"]: report for report in manifest["repairs"]}


def test_self_intersecting_geometry_repaired(sandbox: ProjectPaths) -> None:
    def bowtie(gdf):
        minx, miny, maxx, maxy = gdf.geometry.iloc[0].bounds
        gdf.loc[0, "geometry"] = shapely.Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])
        return gdf

    _parcels(sandbox, bowtie)
    repairs = _manifest_repairs(sandbox)
    assert repairs["nop_brp_parcels_2023"]["repaired"] == 1


def test_empty_geometries_dropped_and_counted(sandbox: ProjectPaths) -> None:
    def blank(gdf):
        gdf.loc[[0, 1, 2], "geometry"] = shapely.MultiPolygon()
        return gdf

    _parcels(sandbox, blank)
    output = build_area(PILOT, sandbox)
    assert len(output.parcels) == 1695
    repairs = {r["layer_id"]: r for r in output.manifest["repairs"]}
    assert repairs["nop_brp_parcels_2023"]["dropped_empty"] == 3


def test_3d_geometries_flattened(sandbox: ProjectPaths, pilot_build) -> None:
    _parcels(sandbox, lambda gdf: gdf.set_geometry(shapely.force_3d(gdf.geometry.values, 1.5)))
    output = build_area(PILOT, sandbox)
    assert not shapely.has_z(output.parcels.geometry.values).any()
    assert output.parcels["area_ha"].sum() == pytest.approx(pilot_build.parcels["area_ha"].sum())


def test_geometry_collection_keeps_polygon_part(sandbox: ProjectPaths) -> None:
    def collect(gdf):
        polygon = gdf.geometry.iloc[0]
        gdf.loc[0, "geometry"] = shapely.GeometryCollection([polygon, polygon.centroid])
        return gdf

    _parcels(sandbox, collect)
    output = build_area(PILOT, sandbox)
    assert len(output.parcels) == 1698


def test_parcels_partly_outside_are_clipped(sandbox: ProjectPaths) -> None:
    def shift_some(gdf):
        gdf.loc[:9, "geometry"] = gdf.geometry.loc[:9].translate(50_000, 0)
        return gdf

    _parcels(sandbox, shift_some)
    edit_config(sandbox, PILOT, _no_parcel_clip)
    output = build_area(PILOT, sandbox)
    assert len(output.parcels) == 1688


def test_unknown_crop_codes_counted(sandbox: ProjectPaths, caplog) -> None:
    def unknown(gdf):
        gdf.loc[[0, 1], "gewascode"] = 99999
        return gdf

    _parcels(sandbox, unknown)
    output = build_area(PILOT, sandbox)
    assert (output.parcels["land_use"] == "unknown").sum() == 2
    assert "2 parcels have crop codes missing from the crop table (99999)" in caplog.text


def test_raster_without_nodata_still_builds(sandbox: ProjectPaths) -> None:
    def no_nodata(values, profile):
        profile["nodata"] = None
        return values, profile

    rewrite_raster(sandbox.layers / NH3, no_nodata)
    output = build_area(PILOT, sandbox)
    assert output.parcels["nh3_mean"].notna().all()


def test_raster_in_other_crs_gives_close_means(sandbox: ProjectPaths, pilot_build) -> None:
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    def to_laea(values, profile):
        transform, width, height = calculate_default_transform(
            profile["crs"], "EPSG:3035", profile["width"], profile["height"],
            *rasterio.transform.array_bounds(profile["height"], profile["width"], profile["transform"]),
            resolution=250,
        )
        target = np.full((height, width), profile["nodata"], dtype=values.dtype)
        reproject(values, target, src_transform=profile["transform"], src_crs=profile["crs"],
                  dst_transform=transform, dst_crs="EPSG:3035", src_nodata=profile["nodata"],
                  dst_nodata=profile["nodata"], resampling=Resampling.nearest)
        profile.update(crs="EPSG:3035", transform=transform, width=width, height=height)
        return target, profile

    rewrite_raster(sandbox.layers / NH3, to_laea)
    set_catalog(sandbox, "nop_nh3_2023", crs="EPSG:3035")
    output = build_area(PILOT, sandbox)
    original = pilot_build.kpis.set_index("kpi_id").loc["nh3_concentration_farmland", "value"]
    warped = output.kpis.set_index("kpi_id").loc["nh3_concentration_farmland", "value"]
    # Nearest-neighbour resampling to a 250 m grid shifts cell edges, so the
    # area mean moves a little but stays close.
    assert warped == pytest.approx(original, rel=0.02)
    assert output.parcels["nh3_coverage"].min() > 0.99


def test_boundary_moved_away_is_rejected(sandbox: ProjectPaths) -> None:
    boundary_path = sandbox.layers / "noordoostpolder" / "boundary_aoi.gpkg"
    rewrite_vector(boundary_path, "boundary", lambda g: g.set_geometry(g.geometry.map(lambda x: translate(x, 200_000))))
    with pytest.raises(LayerError):
        build_area(PILOT, sandbox)


def test_latin1_layer_reads_with_catalogue_encoding(sandbox: ProjectPaths) -> None:
    _latin1_natura(sandbox)
    set_catalog(sandbox, "nop_natura2000", encoding="latin-1")
    output = build_area(PILOT, sandbox)
    assert "IJsselmeer" in set(output.nature["site"])
