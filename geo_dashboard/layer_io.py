"""Reading catalogue layers: CRS checks, geometry repair and reprojection.

All processing happens in RD New (EPSG:28992), in metres.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo_dashboard.catalog import Catalog, LayerEntry
from geo_dashboard.errors import (
    LayerError,
    LayerNotFoundError,
    LayerReadError,
)

logger = logging.getLogger(__name__)

WORK_CRS = CRS.from_epsg(28992)

# Bounds of RD New coordinates over the Netherlands with a margin, in metres.
_RD_BOUNDS = (-50_000.0, 250_000.0, 350_000.0, 700_000.0)


@dataclass
class RepairReport:
    """Counts of geometries changed or removed while reading a layer."""

    layer_id: str
    repaired: int = 0
    dropped_empty: int = 0
    dropped_non_polygon: int = 0

    @property
    def changed(self) -> int:
        return self.repaired + self.dropped_empty + self.dropped_non_polygon


def layer_path(catalog: Catalog, entry: LayerEntry) -> Path:
    """Return the file of ``entry``, raising if it does not exist."""
    path = catalog.path(entry)
    if not path.is_file():
        raise LayerNotFoundError(
            f"layer {entry.id!r}: file {path} not found. Restore the file or fix "
            f"'file' of {entry.id!r} in {catalog.root / 'catalog.yaml'}."
        )
    return path


def _declared_crs(entry: LayerEntry) -> CRS:
    try:
        return CRS.from_user_input(entry.crs)
    except CRSError as err:
        raise LayerError(
            f"layer {entry.id!r}: catalogue CRS {entry.crs!r} is not a valid CRS. "
            "Use an authority code such as 'EPSG:28992'."
        ) from err


def read_vector(
    catalog: Catalog, entry: LayerEntry, columns: list[str] | None = None
) -> gpd.GeoDataFrame:
    """Read a vector layer and return it in EPSG:28992.

    A file without CRS gets the CRS stated in the catalogue. A file whose
    CRS differs from the catalogue, or whose coordinates lie outside the
    valid range of its CRS, is rejected.

    Raises
    ------
    LayerNotFoundError, LayerReadError, LayerError
    """
    path = layer_path(catalog, entry)
    try:
        gdf = gpd.read_file(path, layer=entry.layer, columns=columns, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise LayerReadError(
            f"layer {entry.id!r}: cannot read {path} (layer {entry.layer!r}): "
            f"{err}. Check that the file is a complete GeoPackage or other "
            "vector file and that the layer name in the catalogue is right."
        ) from err
    except pyogrio.errors.FieldError as err:
        raise LayerError(
            f"layer {entry.id!r}: {path} lacks a requested column: {err}. "
            f"Requested: {', '.join(columns or [])}."
        ) from err
    if columns:
        missing = [name for name in columns if name not in gdf.columns]
        if missing:
            raise LayerError(
                f"layer {entry.id!r}: {path} has no column(s) {', '.join(missing)}; "
                f"columns present: {', '.join(c for c in gdf.columns if c != 'geometry')}. "
                "Fix the field names in the area config or the file."
            )

    declared = _declared_crs(entry)
    if gdf.crs is None:
        logger.info("layer %s has no CRS in its file; using %s", entry.id, entry.crs)
        gdf = gdf.set_crs(declared)
    elif not CRS.from_user_input(gdf.crs).equals(declared):
        raise LayerError(
            f"layer {entry.id!r}: {path} is in {gdf.crs.to_string()} but the "
            f"catalogue says {entry.crs}. Correct the catalogue entry or "
            "reproject the file."
        )
    _check_coordinates_fit_crs(gdf, entry.id, path)
    return gdf.to_crs(WORK_CRS) if not gdf.crs.equals(WORK_CRS) else gdf


def _check_coordinates_fit_crs(gdf: gpd.GeoDataFrame, layer_id: str, path: Path) -> None:
    if gdf.empty:
        return
    xmin, ymin, xmax, ymax = gdf.total_bounds
    if gdf.crs.is_geographic:
        if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
            raise LayerError(
                f"layer {layer_id!r}: {path} is labelled {gdf.crs.to_string()} "
                f"(degrees) but its bounds are ({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, "
                f"{ymax:.0f}), which look like metres. Label it with its real CRS "
                "(for Dutch data usually EPSG:28992)."
            )
        if 50 <= xmin <= 54 and 3 <= ymin <= 8:
            raise LayerError(
                f"layer {layer_id!r}: {path} has longitude and latitude swapped "
                f"(x from {xmin:.2f}, y from {ymin:.2f}). Write x as longitude."
            )
    elif CRS.from_user_input(gdf.crs).equals(WORK_CRS):
        lo_x, lo_y, hi_x, hi_y = _RD_BOUNDS
        if not (lo_x <= xmin and xmax <= hi_x and lo_y <= ymin and ymax <= hi_y):
            raise LayerError(
                f"layer {layer_id!r}: {path} is labelled EPSG:28992 but its bounds "
                f"({xmin:.1f}, {ymin:.1f}, {xmax:.1f}, {ymax:.1f}) lie outside the "
                "Netherlands. Check the CRS label of the file."
            )


def repair_polygons(gdf: gpd.GeoDataFrame, layer_id: str) -> tuple[gpd.GeoDataFrame, RepairReport]:
    """Make polygon geometries valid and 2D, and drop empty or non-areal ones.

    Returns the cleaned layer and a report of what changed; every change is
    logged with the layer id.
    """
    report = RepairReport(layer_id)
    geometry = gdf.geometry.values

    if shapely.has_z(geometry).any():
        geometry = shapely.force_2d(geometry)

    invalid = ~shapely.is_valid(geometry) & ~shapely.is_missing(geometry)
    if invalid.any():
        geometry = geometry.copy()
        geometry[invalid] = shapely.make_valid(geometry[invalid])
        report.repaired = int(invalid.sum())

    # make_valid may return collections with lines or points; keep the areal part.
    collections = shapely.get_type_id(geometry) == shapely.GeometryType.GEOMETRYCOLLECTION
    if collections.any():
        geometry = geometry.copy()
        geometry[collections] = [
            _polygonal_part(geom) for geom in geometry[collections]
        ]

    empty = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    polygonal = np.isin(
        shapely.get_type_id(geometry),
        [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON],
    )
    report.dropped_empty = int(empty.sum())
    report.dropped_non_polygon = int((~empty & ~polygonal).sum())
    keep = ~empty & polygonal

    cleaned = gdf.set_geometry(gpd.GeoSeries(geometry, index=gdf.index, crs=gdf.crs))
    cleaned = cleaned.loc[keep].copy()
    if report.changed:
        message = (
            f"layer {layer_id!r}: repaired {report.repaired} invalid geometries, "
            f"dropped {report.dropped_empty} empty and "
            f"{report.dropped_non_polygon} non-polygon features"
        )
        logger.warning(message)
    return cleaned, report


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    polygons = parts[
        np.isin(
            shapely.get_type_id(parts),
            [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON],
        )
    ]
    if len(polygons) == 0:
        return shapely.Polygon()
    return shapely.union_all(polygons)


def check_raster(catalog: Catalog, entry: LayerEntry) -> Path:
    """Open a raster layer once to check that it is readable and has a CRS."""
    path = layer_path(catalog, entry)
    try:
        with rasterio.open(path) as dataset:
            crs = dataset.crs
            nodata = dataset.nodata
    except rasterio.errors.RasterioIOError as err:
        raise LayerReadError(
            f"layer {entry.id!r}: cannot read raster {path}: {err}. Check that "
            "the file is a complete GeoTIFF."
        ) from err
    if crs is None:
        raise LayerError(
            f"layer {entry.id!r}: raster {path} has no CRS. Tag the file with "
            f"its CRS (catalogue says {entry.crs}), e.g. with gdal_edit.py -a_srs."
        )
    if not CRS.from_user_input(crs.to_wkt()).equals(_declared_crs(entry)):
        raise LayerError(
            f"layer {entry.id!r}: raster {path} is in {crs.to_string()} but the "
            f"catalogue says {entry.crs}. Correct the catalogue or the file."
        )
    if nodata is None:
        logger.info("raster %s has no nodata value; every cell counts as data", entry.id)
    return path
