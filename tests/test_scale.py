"""The partitioned dask engine: same parcel table as the single-process build."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster

from geo_dashboard import scale
from geo_dashboard.attributes import LayerContext, parcel_table
from geo_dashboard.catalog import Catalog
from geo_dashboard.config import load_area_config
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.scale import ClusterError, build_parcels_dask, write_partitions

# The pilot has crop codes, Natura 2000 and an NH3 grid; Groene Hart adds
# peat emissions from the parcel layer, a filtered peat-soil layer and
# parcels with repaired geometries.
AREAS = ["noordoostpolder", "groene_hart"]


def _context(repo_paths: ProjectPaths, catalog: Catalog, area: str) -> LayerContext:
    config = load_area_config(repo_paths.configs, area, catalog, load_kpi_library())
    return LayerContext(config=config, catalog=catalog)


def _assert_same_parcels(expected: gpd.GeoDataFrame, actual: gpd.GeoDataFrame) -> None:
    assert list(actual.columns) == list(expected.columns)
    assert actual.crs == expected.crs
    pd.testing.assert_frame_equal(
        pd.DataFrame(actual.drop(columns="geometry")),
        pd.DataFrame(expected.drop(columns="geometry")),
        check_exact=False,
        rtol=1e-9,
        atol=1e-9,
    )
    same_shape = actual.geometry.geom_equals_exact(expected.geometry, tolerance=1e-6)
    assert same_shape.all()


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """A local two-worker cluster, reached by its scheduler address."""
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as local:
        yield local


@pytest.mark.slow
@pytest.mark.parametrize("area", AREAS)
def test_dask_parcels_equal_single_process(
    area: str, repo_paths: ProjectPaths, catalog: Catalog, cluster: LocalCluster
) -> None:
    single = _context(repo_paths, catalog, area)
    expected, expected_boundary = parcel_table(single, lambda name: None)

    partitioned = _context(repo_paths, catalog, area)
    parcels, boundary = build_parcels_dask(
        partitioned, scheduler=cluster.scheduler_address, npartitions=3
    )

    _assert_same_parcels(expected, parcels)
    assert boundary.equals(expected_boundary)
    assert partitioned.used_layers == single.used_layers
    assert partitioned.used_tables == single.used_tables
    assert partitioned.repairs == single.repairs


@pytest.mark.slow
def test_dask_engine_starts_local_cluster(
    repo_paths: ProjectPaths, catalog: Catalog, tmp_path: Path
) -> None:
    expected, _ = parcel_table(
        _context(repo_paths, catalog, "noordoostpolder"), lambda name: None
    )
    steps: list[str] = []
    parcels, _ = build_parcels_dask(
        _context(repo_paths, catalog, "noordoostpolder"),
        steps.append,
        workers=2,
        partition_dir=tmp_path,
    )
    _assert_same_parcels(expected, parcels)
    assert steps == ["parcels"]
    assert len(list((tmp_path / "parcels.parquet").glob("part.*.parquet"))) == 2


def test_partitions_are_spatial_runs(catalog: Catalog, tmp_path: Path) -> None:
    entry = catalog.layer("nop_brp_parcels_2023")
    parcels = gpd.read_file(catalog.path(entry), layer=entry.layer)
    path = write_partitions(parcels, tmp_path / "parts", npartitions=4)

    partitions = dask_geopandas.read_parquet(path)
    assert partitions.npartitions == 4
    sizes = [len(partitions.get_partition(number).compute()) for number in range(4)]
    # Sizes differ by at most one parcel; all parcels are written once.
    assert max(sizes) - min(sizes) <= 1
    written = partitions.compute()
    assert sorted(written["gid"]) == sorted(parcels["gid"])

    # Hilbert runs are compact: the four partition extents together cover
    # much less than four times the whole extent.
    extents = partitions.spatial_partitions
    assert extents is not None
    whole = parcels.total_bounds
    whole_area = (whole[2] - whole[0]) * (whole[3] - whole[1])
    assert extents.area.sum() < 2 * whole_area


def test_unreachable_scheduler_raises(
    repo_paths: ProjectPaths, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe socket is closed.
    with pytest.raises(ClusterError, match="cannot connect to the dask scheduler"):
        build_parcels_dask(
            _context(repo_paths, catalog, "noordoostpolder"),
            scheduler=f"tcp://127.0.0.1:{port}",
        )


@pytest.mark.parametrize("argument", ["npartitions", "workers"])
def test_partition_counts_below_one_raise(
    argument: str, repo_paths: ProjectPaths, catalog: Catalog
) -> None:
    context = _context(repo_paths, catalog, "noordoostpolder")
    with pytest.raises(ValueError, match=f"{argument} must be at least 1, got 0"):
        build_parcels_dask(context, **{argument: 0})


def test_rows_return_in_layer_order() -> None:
    table = gpd.GeoDataFrame(
        {"parcel_id": ["c", "a", "b"], "value": [3.0, 1.0, 2.0]},
        geometry=gpd.points_from_xy([3, 1, 2], [0, 0, 0]),
        crs=28992,
    )
    ordered = scale._in_layer_order(table, pd.Series(["a", "b", "c"]))
    assert list(ordered["parcel_id"]) == ["a", "b", "c"]
    np.testing.assert_array_equal(ordered["value"], [1.0, 2.0, 3.0])
    assert list(ordered.index) == [0, 1, 2]


def test_lost_parcel_raises() -> None:
    table = gpd.GeoDataFrame(
        {"parcel_id": ["a", "b"]},
        geometry=gpd.points_from_xy([1, 2], [0, 0]),
        crs=28992,
    )
    with pytest.raises(RuntimeError, match="returned 2 parcels for 3 parcels"):
        scale._in_layer_order(table, pd.Series(["a", "b", "c"]))
