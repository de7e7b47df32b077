"""Per-parcel and per-nature-site attributes, computed from the area's layers.

Each attribute needs one layer role. When the area has no layer for that
role, the attribute column is left out, so KPIs that need it become data
gaps instead of zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo_dashboard.catalog import Catalog
from geo_dashboard.config import AreaConfig
from geo_dashboard.crops import classify_crops, load_crop_table
from geo_dashboard.errors import LayerError
from geo_dashboard.expressions import evaluate
from geo_dashboard.farms import attach_farms, read_register
from geo_dashboard.layer_io import (
    RepairReport,
    check_raster,
    check_raster_covers,
    read_vector,
    repair_polygons,
)
from geo_dashboard.spatial import (
    adjacent_line_length,
    area_share_inside,
    area_weighted_attribute,
    clip_to_boundary,
    distance_to_nearest,
    zonal_statistics,
)

logger = logging.getLogger(__name__)

# UNECE critical levels for the annual mean NH3 concentration, in µg/m³:
# 1 for lichens and bryophytes, 3 for higher plants.
NH3_CRITICAL_LEVELS = (1.0, 3.0)

Step = Callable[[str], None]


@dataclass
class LayerContext:
    """Layers read for one build, and what was repaired in them."""

    config: AreaConfig
    catalog: Catalog
    repairs: list[RepairReport] = field(default_factory=list)
    used_layers: list[str] = field(default_factory=list)
    used_tables: list[str] = field(default_factory=list)
    _cache: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    _raster_cache: dict[str, tuple[shapely.Geometry, Path]] = field(
        default_factory=dict
    )

    def read_role(
        self, role: str, columns: list[str] | None = None
    ) -> gpd.GeoDataFrame | None:
        """Read, repair and filter the vector layer of ``role``, or None if absent.

        Each role is read once per build; later calls return the same frame.
        """
        ref = self.config.layer_ref(role)
        if ref is None:
            return None
        if role in self._cache:
            return self._cache[role]
        entry = self.catalog.layer(ref.layer)
        gdf = read_vector(self.catalog, entry, columns=columns)
        if role != "surface_water":
            gdf, report = repair_polygons(gdf, entry.id)
            self.repairs.append(report)
        if ref.where:
            keep = evaluate(ref.where, gdf, f"layers.{role}.where").astype(bool)
            gdf = gdf.loc[keep]
        self.record_use(entry.id)
        self._cache[role] = gdf
        return gdf

    def record_use(self, layer_id: str, table: bool = False) -> None:
        """Note that the build used a catalogue layer (or table) as input."""
        if layer_id not in self.used_layers and not table:
            self.used_layers.append(layer_id)
        if table and layer_id not in self.used_tables:
            self.used_tables.append(layer_id)

    def raster_role(self, role: str, boundary: shapely.Geometry) -> Path | None:
        """Check the raster layer of ``role`` over the area and return its path.

        Returns None when the area has no layer in that role.
        """
        ref = self.config.layer_ref(role)
        if ref is None:
            return None
        # The parcel and nature-site steps check the same raster over the
        # same boundary, so the second check is skipped.
        checked = self._raster_cache.get(role)
        if checked is not None and shapely.equals_exact(checked[0], boundary, 0.0):
            return checked[1]
        entry = self.catalog.layer(ref.layer)
        path = check_raster(self.catalog, entry)
        check_raster_covers(path, entry.id, boundary)
        self.record_use(entry.id)
        self._raster_cache[role] = (boundary, path)
        return path


def read_boundary(
    context: LayerContext, parcels: gpd.GeoDataFrame | None
) -> shapely.Geometry:
    """Return the area outline as one polygon in EPSG:28992."""
    config = context.config
    entry = context.catalog.layer(config.boundary.layer)
    gdf, report = repair_polygons(read_vector(context.catalog, entry), entry.id)
    context.repairs.append(report)
    context.record_use(entry.id)
    if gdf.empty:
        raise LayerError(
            f"boundary layer {entry.id!r} has no polygon; add the area outline."
        )
    outline = shapely.union_all(gdf.geometry.values)
    if config.boundary.clip_to_parcel_extent and parcels is not None:
        outline = shapely.intersection(outline, shapely.box(*parcels.total_bounds))
    if outline.is_empty:
        raise LayerError(
            f"boundary layer {entry.id!r} does not overlap the parcel layer; "
            "check that both cover the same area."
        )
    return outline


def parcel_table(
    context: LayerContext, step: Step
) -> tuple[gpd.GeoDataFrame, shapely.Geometry]:
    """Build the per-parcel attribute table of the area."""
    config = context.config
    fields = config.parcel_fields
    wanted = [
        name
        for name in (
            fields.parcel_id,
            fields.crop_code,
            fields.farm_id,
            fields.peat_emission_rate,
        )
        if name
    ]

    step("parcels")
    raw = context.read_role("parcels", columns=wanted)
    if raw is None:
        # An area without parcels still gets its boundary and nature sites;
        # every parcel KPI becomes a data gap.
        boundary = read_boundary(context, None)
        empty = gpd.GeoDataFrame(
            {"parcel_id": pd.Series(dtype=str), "area_ha": pd.Series(dtype=float)},
            geometry=gpd.GeoSeries([], crs=28992),
        )
        return empty, boundary
    layer_id = context.config.layer_ref("parcels").layer  # type: ignore[union-attr]
    _check_unique_ids(raw, fields.parcel_id, layer_id)
    boundary = read_boundary(context, raw)
    clipped = clip_to_boundary(raw, boundary)
    if clipped.empty:
        raise LayerError(
            f"layer {layer_id!r}: no parcel lies inside the boundary of area "
            f"{config.id!r}; check the boundary and parcel layers."
        )

    parcels = gpd.GeoDataFrame(
        {"parcel_id": clipped[fields.parcel_id].astype(str).to_numpy()},
        geometry=clipped.geometry.values,
        crs=clipped.crs,
    )
    parcels["area_ha"] = shapely.area(parcels.geometry.values) / 10_000
    if fields.farm_id:
        parcels["farm_id"] = clipped[fields.farm_id].astype(str).to_numpy()
    elif config.farm_register:
        entry = next(t for t in context.catalog.tables if t.id == config.farm_register)
        parcels = attach_farms(parcels, read_register(context.catalog.path(entry)))
        context.record_use(entry.id, table=True)
    if fields.crop_code:
        crops = classify_crops(
            clipped[fields.crop_code].reset_index(drop=True),
            load_crop_table(),
            layer_id,
        )
        parcels = parcels.join(crops)
    if fields.peat_emission_rate:
        parcels["peat_emission_rate"] = (
            clipped[fields.peat_emission_rate].astype(float).to_numpy()
        )

    _add_vector_attributes(context, parcels, step)
    _add_raster_attributes(context, parcels, boundary, step)
    if "peat_emission_rate" in parcels:
        # The rate is per hectare per year; the total is in tonnes per year.
        parcels["peat_emission_t"] = (
            parcels["peat_emission_rate"] * parcels["area_ha"] / 1000
        )
    return parcels, boundary


def _check_unique_ids(gdf: gpd.GeoDataFrame, column: str, layer_id: str) -> None:
    ids = gdf[column]
    if ids.isna().any():
        raise LayerError(
            f"layer {layer_id!r}: {int(ids.isna().sum())} parcels have no id in "
            f"column {column!r}; give every parcel an id."
        )
    duplicated = ids[ids.duplicated()].astype(str).unique().tolist()
    if duplicated:
        raise LayerError(
            f"layer {layer_id!r}: parcel ids in column {column!r} are not unique, "
            f"e.g. {', '.join(duplicated[:5])}; make them unique."
        )


def _add_vector_attributes(
    context: LayerContext, parcels: gpd.GeoDataFrame, step: Step
) -> None:
    config = context.config
    step("natura2000")
    natura = context.read_role("natura2000")
    if natura is not None:
        parcels["n2000_share"] = area_share_inside(parcels, natura)
        parcels["n2000_distance_m"] = distance_to_nearest(parcels, natura)

    step("nnn")
    nnn = context.read_role("nnn")
    if nnn is not None:
        parcels["nnn_share"] = area_share_inside(parcels, nnn)

    step("peat_soil")
    peat = context.read_role("peat_soil")
    if peat is not None:
        parcels["peat_share"] = area_share_inside(parcels, peat)

    step("surface_water")
    water = context.read_role("surface_water")
    if water is not None:
        parcels["water_length_m"] = adjacent_line_length(
            parcels, water, config.water_adjacency_m
        )

    step("peat_emission")
    ref = config.layer_ref("peat_emission")
    if ref is not None and "peat_emission_rate" not in parcels:
        column = config.parcel_fields.peat_emission_rate or "emission_t"
        emission = context.read_role("peat_emission", columns=[column])
        assert emission is not None
        parcels["peat_emission_rate"] = area_weighted_attribute(
            parcels, emission, column
        )


def _add_raster_attributes(
    context: LayerContext,
    parcels: gpd.GeoDataFrame,
    boundary: shapely.Geometry,
    step: Step,
) -> None:
    step("nh3_concentration")
    nh3 = context.raster_role("nh3_concentration", boundary)
    if nh3 is not None:
        stats = zonal_statistics(parcels, nh3)
        parcels["nh3_mean"] = stats["mean"]
        parcels["nh3_coverage"] = stats["data_coverage"]

    step("n_deposition")
    deposition = context.raster_role("n_deposition", boundary)
    if deposition is not None:
        parcels["n_deposition_mean"] = zonal_statistics(parcels, deposition)["mean"]


def nature_table(
    context: LayerContext, boundary: shapely.Geometry, step: Step
) -> gpd.GeoDataFrame:
    """Build the table of Natura 2000 sites within the area's nature context.

    The context is the boundary buffered by ``nature_context_m``; each site
    is clipped to it. Columns: site name, nitrogen-sensitive flag, area and
    NH3 statistics (mean and share above each UNECE critical level).
    """
    step("nature sites")
    natura = context.read_role("natura2000")
    columns = ["site", "n_sensitive", "area_ha"]
    if natura is None:
        return gpd.GeoDataFrame(
            columns=[*columns, "geometry"], geometry="geometry", crs=28992
        )

    context_zone = shapely.buffer(boundary, context.config.nature_context_m)
    sites = clip_to_boundary(natura, context_zone)
    table = gpd.GeoDataFrame(
        {
            "site": sites["naam"].astype(str).to_numpy() if "naam" in sites else "",
            "n_sensitive": (
                sites["stikstofgevoelig"].fillna(False).astype(bool).to_numpy()
                if "stikstofgevoelig" in sites
                else True
            ),
        },
        geometry=sites.geometry.values,
        crs=sites.crs,
    )
    table["area_ha"] = shapely.area(table.geometry.values) / 10_000

    nh3 = context.raster_role("nh3_concentration", boundary)
    if nh3 is not None:
        stats = zonal_statistics(table, nh3, thresholds=NH3_CRITICAL_LEVELS)
        table["nh3_mean"] = stats["mean"].to_numpy()
        table["nh3_coverage"] = stats["data_coverage"].to_numpy()
        for level in NH3_CRITICAL_LEVELS:
            name = f"share_above_{level:g}"
            table[f"nh3_{name}"] = stats[name].to_numpy()
    return pd.DataFrame(table).pipe(gpd.GeoDataFrame, geometry="geometry", crs=28992)
