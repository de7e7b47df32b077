"""The per-parcel step of a build, partitioned over a dask cluster.

The single-process build computes the parcel table with
:func:`geo_dashboard.attributes.parcel_table`. This module runs that same
function once per spatial partition of the parcels, on the workers of a dask
cluster, and joins the partitions back into one table equal to the
single-process one:

1. The driver (the process that calls :func:`build_parcels_dask`) reads the
   parcel layer, checks the parcel ids, computes the area outline and keeps
   the parcels that the clip to the outline keeps.
2. The driver runs the parcel step on one parcel. That run reads the other
   layers the step needs (Natura 2000, NNN, peat, water, ...) through the
   driver's :class:`LayerContext`. Repairs and used layers are therefore
   recorded exactly as in a single-process build, and the run gives the
   column types of the result.
3. The parcels are sorted along a Hilbert curve and written as GeoParquet,
   one file per partition, so each partition covers a compact area.
4. dask-geopandas reads the partitions on the workers and each one runs the
   parcel step against the layers read in step 2, which are sent to every
   worker once.
5. The driver puts the rows back in the order of the parcel layer.

The partitions clip their parcels to the area outline computed by the
driver, written next to the partitions, so they cut the parcels exactly as
the single-process build does and check rasters against the same outline.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from distributed import Client, LocalCluster

from geo_dashboard.attributes import (
    LayerContext,
    _check_unique_ids,
    parcel_table,
    read_boundary,
)
from geo_dashboard.catalog import Catalog
from geo_dashboard.config import AreaConfig
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.spatial import clip_to_boundary

logger = logging.getLogger(__name__)

# Workers of the local cluster: one single-threaded worker process per core.
LOCAL_WORKERS = os.cpu_count() or 1
# Parcels per partition when npartitions is not given. At the single-process
# rates in docs/benchmarks.md (0.1 to 0.2 ms per parcel) a partition takes a
# few seconds, much longer than dask's per-task overhead.
PARTITION_SIZE = 20_000
# Suffix of the catalogue id of the area outline written for the partitions.
OUTLINE_SUFFIX = "area_outline"
# Seconds to wait for the scheduler of an existing cluster.
CONNECT_TIMEOUT_S = 30

Step = Callable[[str], None]


class ClusterError(GeoDashboardError, ConnectionError):
    """The dask cluster cannot be reached or failed to start."""


@dataclass
class _SharedInputs:
    """Inputs every partition needs besides its parcels, sent to each worker once."""

    config: AreaConfig
    catalog: Catalog
    layers: dict[str, gpd.GeoDataFrame | None]
    empty_table: gpd.GeoDataFrame


@dataclass
class _PartitionContext(LayerContext):
    """Layer context whose parcel layer is one partition of the parcels.

    With ``source`` set, other vector roles are read through ``source`` and
    kept in ``layers``, and used layers are recorded there too. Without it,
    roles are served from ``layers`` and read from file only when missing.
    """

    partition: gpd.GeoDataFrame | None = None
    layers: dict[str, gpd.GeoDataFrame | None] = field(default_factory=dict)
    source: LayerContext | None = None

    def read_role(
        self, role: str, columns: list[str] | None = None
    ) -> gpd.GeoDataFrame | None:
        if role == "parcels":
            assert self.partition is not None
            return _select_columns(self.partition, columns)
        if self.source is not None:
            self.layers[role] = self.source.read_role(role, columns)
            return self.layers[role]
        if role in self.layers:
            return self.layers[role]
        return super().read_role(role, columns)

    def record_use(self, layer_id: str, table: bool = False) -> None:
        # The outline written for the partitions is no input of the build.
        if self.source is not None and layer_id != self.config.boundary.layer:
            self.source.record_use(layer_id, table=table)
        super().record_use(layer_id, table=table)


def build_parcels_dask(
    context: LayerContext,
    step: Step | None = None,
    *,
    scheduler: str | None = None,
    npartitions: int | None = None,
    workers: int = LOCAL_WORKERS,
    partition_dir: Path | None = None,
) -> tuple[gpd.GeoDataFrame, shapely.Geometry]:
    """Compute the per-parcel table on a dask cluster, partitioned in space.

    Returns the same table and boundary as
    :func:`geo_dashboard.attributes.parcel_table`, and records the same
    repairs and used layers in ``context``.

    Parameters
    ----------
    context
        Layer context of the build: area config and catalogue. Its layers
        are read here; the nature table can reuse them afterwards.
    step
        Called with ``"parcels"`` when the step starts.
    scheduler
        Address of the scheduler of a running cluster, e.g.
        ``"tcp://10.0.0.5:8786"``. Its workers must import the same version
        of geo_dashboard and read the layer files and ``partition_dir`` at
        the same paths as this process. None starts a local cluster of
        ``workers`` single-threaded processes, stopped when the step ends.
    npartitions
        Number of spatial partitions; by default one per
        :data:`PARTITION_SIZE` parcels and at least one per local worker.
    workers
        Worker processes of the local cluster, one per core by default;
        ignored with ``scheduler``.
    partition_dir
        Folder for the partitioned GeoParquet. A temporary folder, removed
        afterwards, by default; a cluster on other machines needs a folder
        on storage that all of them mount. The ``parcels.parquet`` subfolder
        is replaced on every call.

    Returns
    -------
    parcels : GeoDataFrame
        One row per parcel, in EPSG:28992, in the order of the parcel layer.
    boundary : shapely.Geometry
        The area outline in EPSG:28992.

    Raises
    ------
    ConfigError, LayerError, LayerNotFoundError, LayerReadError
        On invalid input, as the single-process build.
    ClusterError
        When the scheduler cannot be reached or the local cluster fails to
        start.
    ValueError
        When ``npartitions`` or ``workers`` is less than 1.
    """
    for name, value in (("npartitions", npartitions), ("workers", workers)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, got {value!r}.")
    step = step or _no_step

    step("parcels")
    # NOTE: the driver reads the whole parcel layer, so read_vector's feature
    # limit and the driver's memory bound the number of parcels.
    raw = context.read_role("parcels", columns=_parcel_columns(context.config))
    if raw is None or raw.empty:
        # Nothing to partition; the single-process step builds or rejects it.
        return parcel_table(context, step)
    id_column = context.config.parcel_fields.parcel_id
    layer_id = context.config.layer_ref("parcels").layer  # type: ignore[union-attr]
    _check_unique_ids(raw, id_column, layer_id)
    boundary = read_boundary(context, raw)
    inside = raw.loc[clip_to_boundary(raw, boundary).index]
    if inside.empty:
        return parcel_table(context, step)

    count = npartitions or max(workers, -(-len(inside) // PARTITION_SIZE))
    count = min(count, len(inside))

    started = time.perf_counter()
    with _partition_folder(partition_dir) as folder:
        config, catalog = _with_outline(context, boundary, folder / "outline.gpkg")
        inputs = _prepare_inputs(context, config, catalog, inside)
        path = write_partitions(inside, folder / "parcels.parquet", count)
        with _connect(scheduler, workers) as client:
            shared = client.scatter(inputs, broadcast=True)
            partitions = dask_geopandas.read_parquet(path)
            tables = partitions.map_partitions(
                _partition_table, shared, meta=inputs.empty_table
            )
            result = client.compute(tables).result()
    logger.info(
        "computed %d parcels in %d partitions in %.1f s",
        len(result),
        count,
        time.perf_counter() - started,
    )
    return _in_layer_order(result, inside[id_column]), boundary


def write_partitions(parcels: gpd.GeoDataFrame, path: Path, npartitions: int) -> Path:
    """Write parcels as GeoParquet partitions in Hilbert-curve order.

    Parameters
    ----------
    parcels
        Parcels in EPSG:28992.
    path
        Folder to write ``part.<n>.parquet`` files into; replaced if present.
    npartitions
        Number of files. Each contains a run of the Hilbert-sorted parcels, so
        partitions differ in size by at most one parcel.

    Returns
    -------
    Path
        ``path``, readable with :func:`dask_geopandas.read_parquet`, which
        takes each file's extent as its spatial partition.
    """
    # Sorting by the Hilbert distance of the parcel envelopes' centres keeps
    # neighbouring parcels in the same partition; ties keep the layer order.
    distance = parcels.geometry.hilbert_distance(total_bounds=parcels.total_bounds)
    order = np.lexsort((np.arange(len(parcels)), distance.to_numpy()))
    ordered = parcels.iloc[order]

    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    for number, rows in enumerate(np.array_split(np.arange(len(ordered)), npartitions)):
        ordered.iloc[rows].to_parquet(
            path / f"part.{number}.parquet", write_covering_bbox=True
        )
    logger.debug(
        "wrote %d parcels in %d partitions to %s", len(parcels), npartitions, path
    )
    return path


def _parcel_columns(config: AreaConfig) -> list[str]:
    # The same columns parcel_table reads from the parcel layer.
    fields = config.parcel_fields
    names = (
        fields.parcel_id,
        fields.crop_code,
        fields.farm_id,
        fields.peat_emission_rate,
    )
    return [name for name in names if name]


def _select_columns(
    frame: gpd.GeoDataFrame, columns: list[str] | None
) -> gpd.GeoDataFrame:
    if columns is None:
        return frame
    return frame[[*columns, frame.geometry.name]]


def _with_outline(
    context: LayerContext, boundary: shapely.Geometry, path: Path
) -> tuple[AreaConfig, Catalog]:
    """Return config and catalogue copies whose boundary layer is ``boundary``.

    The outline is written to ``path`` and added to the catalogue copy, and
    the config copy no longer clips it to the parcel extent, so every
    partition reads the area's outline instead of computing its own.
    """
    entry = context.catalog.layer(context.config.boundary.layer)
    outline = entry.model_copy(
        update={
            "id": f"{entry.id}_{OUTLINE_SUFFIX}",
            # An absolute path: the outline is no file of the layers folder.
            "file": str(path.resolve()),
            "layer": "outline",
            "crs": "EPSG:28992",
            "encoding": None,
        }
    )
    gpd.GeoDataFrame(geometry=[boundary], crs=28992).to_file(
        path, layer=outline.layer, engine="pyogrio"
    )
    catalog = context.catalog.model_copy(
        update={"layers": [*context.catalog.layers, outline]}
    )
    config = context.config.model_copy(
        update={
            "boundary": context.config.boundary.model_copy(
                update={"layer": outline.id, "clip_to_parcel_extent": False}
            )
        }
    )
    return config, catalog


def _prepare_inputs(
    context: LayerContext,
    config: AreaConfig,
    catalog: Catalog,
    inside: gpd.GeoDataFrame,
) -> _SharedInputs:
    """Run the parcel step on one parcel to read the layers it needs."""
    sample = _PartitionContext(
        config=config, catalog=catalog, partition=inside.iloc[:1], source=context
    )
    table, _ = parcel_table(sample, _no_step)
    return _SharedInputs(
        config=config,
        catalog=catalog,
        layers=sample.layers,
        empty_table=table.iloc[:0],
    )


def _partition_table(
    partition: gpd.GeoDataFrame, inputs: _SharedInputs
) -> gpd.GeoDataFrame:
    """Compute the parcel table of one partition; runs on a worker."""
    if partition.empty:
        return inputs.empty_table
    context = _PartitionContext(
        config=inputs.config,
        catalog=inputs.catalog,
        partition=partition,
        layers=inputs.layers,
    )
    table, _ = parcel_table(context, _no_step)
    return table


def _in_layer_order(table: gpd.GeoDataFrame, layer_ids: pd.Series) -> gpd.GeoDataFrame:
    """Sort partition results into the order of the parcel layer."""
    position = pd.Index(layer_ids.astype(str)).get_indexer(table["parcel_id"])
    if len(table) != len(layer_ids) or (position < 0).any():
        raise RuntimeError(
            f"the partitions returned {len(table)} parcels for {len(layer_ids)} "
            "parcels inside the boundary; the partitioned step lost or added "
            "parcels. Build with the single-process engine and report this."
        )
    return table.iloc[np.argsort(position)].reset_index(drop=True)


@contextmanager
def _connect(scheduler: str | None, workers: int) -> Iterator[Client]:
    """Yield a client of the cluster at ``scheduler`` or of a new local cluster."""
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except OSError as err:
            raise ClusterError(
                f"cannot connect to the dask scheduler at {scheduler!r}: {err}. "
                "Check the address and that the scheduler is running, or leave "
                "out the scheduler to start a local cluster."
            ) from err
        logger.info("connected to dask scheduler %s", scheduler)
        with client:
            yield client
        return

    try:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # A free port on loopback; the dashboard itself needs bokeh.
            dashboard_address="127.0.0.1:0",
        )
    except (OSError, RuntimeError) as err:
        raise ClusterError(f"cannot start a local dask cluster: {err}") from err
    logger.info("started a local dask cluster of %d workers", workers)
    with cluster, Client(cluster) as client:
        yield client


@contextmanager
def _partition_folder(folder: Path | None) -> Iterator[Path]:
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        yield Path(folder)
        return
    temporary = Path(tempfile.mkdtemp(prefix="geo-dashboard-partitions-"))
    try:
        yield temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _no_step(name: str) -> None:
    """Progress callback that reports nothing."""
