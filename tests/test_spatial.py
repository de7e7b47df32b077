"""Per-parcel spatial statistics checked against direct shapely and raster computations."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from shapely.affinity import translate

from geo_dashboard.catalog import Catalog
from geo_dashboard.spatial import (
    adjacent_line_length,
    area_share_inside,
    area_weighted_attribute,
    distance_to_nearest,
    zonal_statistics,
)

PILOT_NH3 = "nop_nh3_2023"


def _read(catalog: Catalog, layer_id: str) -> gpd.GeoDataFrame:
    entry = catalog.layer(layer_id)
    return gpd.read_file(catalog.path(entry), layer=entry.layer)


@pytest.fixture(scope="module")
def peat_parcels(catalog: Catalog) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Real Groene Hart parcels and the real peat map units that partly cover them."""
    parcels = _read(catalog, "gh_somers_peat_emission")
    soil = _read(catalog, "gh_bro_soilmap_sample")
    peat = soil[soil["veen_klasse"] == "veengrond"]
    return parcels, peat


def test_parcel_area_matches_published_area(catalog: Catalog) -> None:
    parcels = _read(catalog, "nop_brp_parcels_2023")
    computed = shapely.area(parcels.geometry.values) / 10_000
    large = parcels["area_ha"] > 0.1
    relative = np.abs(computed[large] - parcels["area_ha"][large]) / parcels["area_ha"][large]
    assert relative.max() < 0.001


def test_share_inside_matches_direct_intersection(peat_parcels) -> None:
    parcels, peat = peat_parcels
    shares = area_share_inside(parcels, peat)
    union = shapely.union_all(peat.geometry.values)

    partial = shares[(shares > 0.05) & (shares < 0.95)]
    assert len(partial) >= 5, "expected real parcels that are partly on peat"
    for index in list(partial.index[:10]) + list(shares.index[:10]):
        parcel = parcels.geometry.loc[index]
        direct = parcel.intersection(union).area / parcel.area
        assert shares.loc[index] == pytest.approx(direct, rel=1e-3, abs=1e-9)


def test_share_inside_bounds_and_no_double_count(peat_parcels) -> None:
    parcels, peat = peat_parcels
    doubled = gpd.GeoDataFrame(geometry=list(peat.geometry) * 2, crs=peat.crs)
    shares = area_share_inside(parcels, doubled)
    assert shares.between(0.0, 1.0).all()
    assert np.allclose(shares, area_share_inside(parcels, peat))


def test_distance_to_nearest_matches_shapely(catalog: Catalog) -> None:
    parcels = _read(catalog, "nop_brp_parcels_2023").iloc[::200]
    natura = _read(catalog, "nop_natura2000")
    distance = distance_to_nearest(parcels, natura)
    union = shapely.union_all(natura.geometry.values)
    for index, parcel in parcels.geometry.items():
        assert distance.loc[index] == pytest.approx(parcel.distance(union), abs=0.01)


def test_distance_to_empty_layer_is_missing(catalog: Catalog) -> None:
    parcels = _read(catalog, "nop_brp_parcels_2023").head(3)
    empty = gpd.GeoDataFrame(geometry=[], crs=parcels.crs)
    assert distance_to_nearest(parcels, empty).isna().all()


def test_area_weighted_attribute_matches_direct(peat_parcels) -> None:
    parcels, _ = peat_parcels
    # A shifted copy of the real emission polygons overlaps each parcel with
    # up to four neighbours, so each result is a genuine weighted mean.
    shifted = parcels.copy()
    shifted["geometry"] = shifted.geometry.translate(37.0, 23.0)
    result = area_weighted_attribute(parcels, shifted, "emission_t")
    for index in parcels.index[:15]:
        parcel = parcels.geometry.loc[index]
        overlap = shifted.geometry.intersection(parcel).area
        if overlap.sum() == 0:
            assert np.isnan(result.loc[index])
            continue
        direct = (overlap * shifted["emission_t"]).sum() / overlap.sum()
        assert result.loc[index] == pytest.approx(direct, rel=1e-9)


def _cell_weighted_mean(parcel: shapely.Geometry, path) -> tuple[float, float]:
    """Area-weighted mean over raster cells, computed cell by cell."""
    with rasterio.open(path) as dataset:
        values = dataset.read(1, masked=True)
        transform = dataset.transform
        weighted = 0.0
        covered = 0.0
        for row in range(dataset.height):
            for col in range(dataset.width):
                if values.mask[row, col]:
                    continue
                # North-up grid: column steps east by a, row steps south by e < 0.
                west = transform.c + col * transform.a
                north = transform.f + row * transform.e
                cell = shapely.box(west, north + transform.e, west + transform.a, north)
                overlap = parcel.intersection(cell).area
                weighted += overlap * float(values[row, col])
                covered += overlap
    return weighted / covered, covered / parcel.area


def test_zonal_mean_matches_cell_by_cell(catalog: Catalog) -> None:
    parcels = _read(catalog, "nop_brp_parcels_2023")
    path = catalog.path(catalog.layer(PILOT_NH3))
    largest = parcels.loc[parcels.area.sort_values().index[-3:]]
    stats = zonal_statistics(largest, path)
    for index, parcel in largest.geometry.items():
        expected, coverage = _cell_weighted_mean(parcel, path)
        assert stats.loc[index, "mean"] == pytest.approx(expected, rel=1e-6)
        assert stats.loc[index, "data_coverage"] == pytest.approx(coverage, rel=1e-6)


def test_zonal_mean_parcel_smaller_than_cell(catalog: Catalog) -> None:
    parcels = _read(catalog, "nop_brp_parcels_2023")
    path = catalog.path(catalog.layer(PILOT_NH3))
    small = parcels[parcels["area_ha"] < 0.01].head(5)
    stats = zonal_statistics(small, path)
    with rasterio.open(path) as dataset:
        values = dataset.read(1)
        for index, parcel in small.geometry.items():
            expected, _ = _cell_weighted_mean(parcel, path)
            assert stats.loc[index, "mean"] == pytest.approx(expected, rel=1e-6)
            minx, miny, maxx, maxy = parcel.bounds
            if dataset.index(minx, miny) == dataset.index(maxx, maxy):
                # Inside one cell, the mean is that cell's value.
                row, col = dataset.index(minx, miny)
                assert stats.loc[index, "mean"] == pytest.approx(values[row, col])


def test_zonal_mean_parcel_partly_outside_raster(catalog: Catalog) -> None:
    parcels = _read(catalog, "nop_brp_parcels_2023")
    path = catalog.path(catalog.layer(PILOT_NH3))
    with rasterio.open(path) as dataset:
        left = dataset.bounds.left
    parcel = parcels.loc[parcels.area.idxmax()].geometry
    # Move a real parcel so that the raster's western edge cuts it.
    minx, _, maxx, _ = parcel.bounds
    moved = translate(parcel, xoff=left - (minx + maxx) / 2)
    frame = gpd.GeoDataFrame(geometry=[moved], crs=parcels.crs)
    stats = zonal_statistics(frame, path)
    expected, coverage = _cell_weighted_mean(moved, path)
    inside = moved.intersection(shapely.box(left, -1e7, 1e7, 1e7)).area / moved.area
    assert 0.1 < inside < 0.9
    assert stats["mean"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert stats["data_coverage"].iloc[0] == pytest.approx(inside, rel=1e-6)
    assert coverage == pytest.approx(inside, rel=1e-6)


def test_zonal_share_above_threshold(catalog: Catalog) -> None:
    natura = _read(catalog, "nop_natura2000")
    path = catalog.path(catalog.layer(PILOT_NH3))
    stats = zonal_statistics(natura, path, thresholds=(1.0, 3.0, 100.0))
    covered = stats["data_coverage"] > 0
    assert stats.loc[covered, "share_above_1"].between(0, 1).all()
    assert (stats.loc[covered, "share_above_1"] >= stats.loc[covered, "share_above_3"]).all()
    assert (stats.loc[covered, "share_above_100"] == 0).all()


def test_zonal_outside_raster_is_missing(catalog: Catalog) -> None:
    path = catalog.path(catalog.layer(PILOT_NH3))
    far = gpd.GeoDataFrame(geometry=[shapely.box(100, 400_000, 200, 400_100)], crs=28992)
    stats = zonal_statistics(far, path)
    assert np.isnan(stats["mean"].iloc[0])
    assert stats["data_coverage"].iloc[0] == 0


def test_adjacent_line_length_counts_banks(catalog: Catalog) -> None:
    parcels = _read(catalog, "nop_brp_parcels_2023")
    parcel = parcels.loc[[parcels.area.idxmax()]]
    minx, miny, maxx, maxy = parcel.total_bounds
    # A ditch along the parcel's bounding box edge, 2 m outside it.
    ditch = shapely.LineString([(minx - 2, miny), (minx - 2, maxy)])
    water = gpd.GeoDataFrame(geometry=[ditch], crs=parcels.crs)
    length = adjacent_line_length(parcel, water, distance_m=5)
    direct = ditch.intersection(parcel.geometry.iloc[0].buffer(5)).length
    assert length.iloc[0] == pytest.approx(direct)
    assert adjacent_line_length(parcel, water, distance_m=1).iloc[0] <= length.iloc[0]
