"""Properties of the spatial core, checked with generated inputs around real parcels."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_dashboard.catalog import Catalog
from geo_dashboard.kpis import aggregate, load_kpi_library
from geo_dashboard.output import BuildOutput
from geo_dashboard.spatial import area_share_inside, distance_to_nearest, zonal_statistics
from tests.conftest import REPO

LIBRARY = load_kpi_library()
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def parcels(catalog: Catalog) -> gpd.GeoDataFrame:
    entry = catalog.layer("nop_brp_parcels_2023")
    gdf = gpd.read_file(catalog.path(entry), layer=entry.layer)
    return gdf[gdf["area_ha"] > 1].head(200).reset_index(drop=True)


def _zones(parcels: gpd.GeoDataFrame, dx: float, dy: float, size: float) -> gpd.GeoDataFrame:
    """Square zones on a grid over the parcels, shifted by (dx, dy)."""
    xmin, ymin, xmax, ymax = parcels.total_bounds
    xs = np.arange(xmin + dx, xmax, 2 * size)
    ys = np.arange(ymin + dy, ymax, 2 * size)
    boxes = [shapely.box(x, y, x + size, y + size) for x in xs for y in ys]
    return gpd.GeoDataFrame(geometry=boxes, crs=parcels.crs)


offsets = st.floats(min_value=0, max_value=500)
sizes = st.floats(min_value=50, max_value=800)


@SETTINGS
@given(dx=offsets, dy=offsets, size=sizes)
def test_share_in_unit_interval(parcels, dx: float, dy: float, size: float) -> None:
    share = area_share_inside(parcels, _zones(parcels, dx, dy, size))
    assert share.between(0.0, 1.0).all()


@SETTINGS
@given(dx=offsets, dy=offsets, size=sizes)
def test_inside_and_outside_sum_to_area(parcels, dx: float, dy: float, size: float) -> None:
    zones = _zones(parcels, dx, dy, size)
    union = shapely.union_all(zones.geometry.values)
    share = area_share_inside(parcels, zones)
    outside = shapely.area(shapely.difference(parcels.geometry.values, union))
    total = share * parcels.area + outside
    np.testing.assert_allclose(total, parcels.area, rtol=1e-6)


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_results_independent_of_order(parcels, catalog: Catalog, seed: int) -> None:
    order = np.random.default_rng(seed).permutation(len(parcels))
    shuffled = parcels.iloc[order]
    zones = _zones(parcels, 100, 100, 300)
    raster = catalog.path(catalog.layer("nop_nh3_2023"))
    a = area_share_inside(parcels, zones)
    b = area_share_inside(shuffled, zones).loc[a.index]
    np.testing.assert_allclose(a, b)
    d1 = distance_to_nearest(parcels, zones)
    d2 = distance_to_nearest(shuffled, zones).loc[d1.index]
    np.testing.assert_allclose(d1, d2)
    z1 = zonal_statistics(parcels, raster)["mean"]
    z2 = zonal_statistics(shuffled, raster)["mean"].loc[z1.index]
    np.testing.assert_allclose(z1, z2)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:3035", "EPSG:32631"])
def test_results_independent_of_delivery_crs(parcels, catalog: Catalog, crs: str) -> None:
    zones = _zones(parcels, 120, 80, 400)
    # The round trip through another CRS moves vertices by micrometres, so
    # results agree to about 1e-6 relative, not exactly.
    delivered = parcels.to_crs(crs).to_crs(28992)
    zones_delivered = zones.to_crs(crs).to_crs(28992)
    np.testing.assert_allclose(
        area_share_inside(delivered, zones_delivered), area_share_inside(parcels, zones), atol=1e-5
    )
    raster = catalog.path(catalog.layer("nop_nh3_2023"))
    np.testing.assert_allclose(
        zonal_statistics(delivered, raster)["mean"], zonal_statistics(parcels, raster)["mean"],
        rtol=1e-5,
    )


@SETTINGS
@given(cell=st.sampled_from([250.0, 500.0, 1000.0, 2000.0]))
def test_farm_sums_equal_area_total(pilot_build: BuildOutput, cell: float) -> None:
    # Any grouping of parcels into farms must add up to the area total.
    parcels = pilot_build.parcels
    points = parcels.geometry.representative_point()
    farms = (np.floor(points.x / cell).astype(int).astype(str) + "-"
             + np.floor(points.y / cell).astype(int).astype(str))
    grouped = parcels.assign(farm_id=farms.to_numpy())
    for kpi_id in ("nitrate_risk_arable_share", "agri_environment_share"):
        kpi = LIBRARY.get(kpi_id)
        numerators = grouped.groupby("farm_id").apply(
            lambda farm, kpi=kpi: float(farm.eval(kpi.value).sum()), include_groups=False
        )
        denominators = grouped.groupby("farm_id").apply(
            lambda farm, kpi=kpi: float(farm.eval(kpi.weight).sum()), include_groups=False
        )
        area_value = aggregate(kpi, parcels)
        assert 100 * numerators.sum() / denominators.sum() == pytest.approx(area_value)
    assert grouped.groupby("farm_id")["area_ha"].sum().sum() == pytest.approx(parcels["area_ha"].sum())


def test_repo_root_fixture_points_at_layers() -> None:
    assert (REPO / "layers" / "catalog.yaml").is_file()
