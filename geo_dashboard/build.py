"""One area's build: catalogue and area config in, per-parcel and KPI tables out."""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from typing import Literal
from dataclasses import asdict
from datetime import UTC, datetime

import geopandas as gpd

from geo_dashboard import __version__
from geo_dashboard.attributes import LayerContext, nature_table, parcel_table
from geo_dashboard.catalog import file_digest, load_catalog
from geo_dashboard.config import load_area_config
from geo_dashboard.kpi_table import area_kpi_table, farm_kpi_table
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import (
    BuildOutput,
    discard,
    new_build_folder,
    publish,
    write_tables,
)
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import record_build
from geo_dashboard.store.targets import apply_store_targets

logger = logging.getLogger(__name__)

# Steps reported to the progress callback, in order.
BUILD_STEPS = (
    "config",
    "parcels",
    "natura2000",
    "nnn",
    "peat_soil",
    "surface_water",
    "peat_emission",
    "nh3_concentration",
    "n_deposition",
    "nature sites",
    "kpis",
    "write",
)


def build_area(
    area_id: str,
    paths: ProjectPaths | None = None,
    on_step: Callable[[str], None] | None = None,
    engine: Literal["local", "dask"] = "local",
    scheduler: str | None = None,
) -> BuildOutput:
    """Build ``area_id`` and publish the result as its current build.

    Parameters
    ----------
    area_id
        Name of a config in the configs folder, e.g. ``"noordoostpolder"``.
    paths
        Folders of layers, configs and builds; from the environment by default.
    on_step
        Called with the name of each step in :data:`BUILD_STEPS` as it starts.
    engine
        ``local`` computes the per-parcel table in this process; ``dask``
        partitions it over a dask cluster, with the same result.
    scheduler
        Address of a running dask scheduler (``tcp://host:8786``); without
        it the ``dask`` engine starts a local cluster.

    Raises
    ------
    ConfigError, LayerError, LayerNotFoundError, LayerReadError
        On invalid input. The previous build output stays as it was.
    """
    paths = paths or ProjectPaths.from_env()
    step = on_step or (lambda name: None)

    step("config")
    catalog = load_catalog(paths.layers)
    library = load_kpi_library()
    config = apply_store_targets(
        load_area_config(paths.configs, area_id, catalog, library), paths
    )
    logger.info("building area %s from %s", area_id, config.path)

    context = LayerContext(config=config, catalog=catalog)
    if engine == "dask":
        # Imported here so that a single-process build does not import dask.
        from geo_dashboard.scale import build_parcels_dask

        parcels, boundary = build_parcels_dask(context, step, scheduler=scheduler)
    else:
        parcels, boundary = parcel_table(context, step)
    nature = nature_table(context, boundary, step)

    step("kpis")
    kpis = area_kpi_table(config, library, catalog, {"parcels": parcels, "nature": nature})
    farm_kpis = (
        farm_kpi_table(config, library, parcels) if "farm_id" in parcels else None
    )

    step("write")
    output = BuildOutput(
        area_id=area_id,
        folder=paths.builds / area_id,
        parcels=parcels,
        nature=nature,
        boundary=gpd.GeoDataFrame(
            {"area_id": [area_id]}, geometry=[boundary], crs=parcels.crs
        ),
        kpis=kpis,
        farm_kpis=farm_kpis,
        manifest=_manifest(config, catalog, context, parcels, nature),
    )
    folder = new_build_folder(paths.builds, area_id)
    try:
        write_tables(folder, output)
        output.folder = publish(folder)
    except BaseException:
        discard(folder)
        raise

    # The store keeps every build's KPI values; the first build opens v0.1.
    record_build(paths, output)
    return output


def _provenance(entry, catalog) -> dict:
    return {
        "id": entry.id,
        "file": entry.file,
        "sha256": file_digest(catalog.path(entry)),
        "year": entry.year,
        "publisher": entry.publisher,
        "licence": entry.licence,
    }


def _manifest(config, catalog, context: LayerContext, parcels, nature) -> dict:
    layers = [_provenance(catalog.layer(layer_id), catalog) for layer_id in context.used_layers]
    tables = [
        _provenance(entry, catalog)
        for entry in catalog.tables
        if entry.id in context.used_tables
    ]
    return {
        "area_id": config.id,
        "area_name": config.name.model_dump(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "geo_dashboard_version": __version__,
        "python": platform.python_version(),
        "crs": "EPSG:28992",
        "parcel_count": len(parcels),
        "parcel_area_ha": float(parcels["area_ha"].sum()),
        "nature_site_parts": len(nature),
        "layers": layers,
        "tables": tables,
        "data_gaps": config.data_gaps,
        "repairs": [asdict(report) for report in context.repairs if report.changed],
    }
