"""Reading catalogue layers: CRS checks, geometry repair and reprojection.

All processing happens in RD New (EPSG:28992), in metres.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import rasterio.windows
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

# Largest number of features read from one layer in a single-process build.
# A larger layer needs the partitioned engine or a raised limit.
DEFAULT_MAX_FEATURES = 2_000_000

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
    _check_feature_count(entry, path)
    try:
        gdf = gpd.read_file(
            path, layer=entry.layer, columns=columns, engine="pyogrio",
            encoding=entry.encoding,
        )
    except UnicodeDecodeError as err:
        raise LayerReadError(
            f"layer {entry.id!r}: attribute text in {path} is not valid "
            f"{entry.encoding or 'UTF-8'} ({err.reason} at byte {err.start}). Set "
            "'encoding' in its catalogue entry (e.g. 'latin-1') or convert the file."
        ) from err
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise _unreadable(entry, path, err) from err
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
    if gdf.empty:
        raise LayerError(
            f"layer {entry.id!r}: {path} has no features. Use a layer with data, "
            "or remove it from the area config and list its role under data_gaps."
        )
    _check_coordinates_fit_crs(gdf, entry.id, path)
    return gdf.to_crs(WORK_CRS) if not gdf.crs.equals(WORK_CRS) else gdf


def _unreadable(entry: LayerEntry, path: Path, err: Exception) -> LayerReadError:
    return LayerReadError(
        f"layer {entry.id!r}: cannot read {path} (layer {entry.layer!r}): "
        f"{err}. Check that the file is a complete GeoPackage or other "
        "vector file and that the layer name in the catalogue is right."
    )


def check_vector_file(catalog: Catalog, entry: LayerEntry) -> None:
    """Open a vector layer's metadata to check that the file and layer are readable,
    its CRS matches the catalogue, and it is within the feature limit."""
    path = layer_path(catalog, entry)
    _check_feature_count(entry, path)
    info = pyogrio.read_info(path, layer=entry.layer)
    if info["crs"] and not CRS.from_user_input(info["crs"]).equals(_declared_crs(entry)):
        raise LayerError(
            f"layer {entry.id!r}: {path} is in {info['crs']} but the catalogue says "
            f"{entry.crs}. Correct the catalogue entry or reproject the file."
        )


def max_features() -> int:
    """Return the feature limit, from ``GEO_DASHBOARD_MAX_FEATURES`` if set."""
    value = os.environ.get("GEO_DASHBOARD_MAX_FEATURES")
    if value is None:
        return DEFAULT_MAX_FEATURES
    try:
        return int(value)
    except ValueError as err:
        raise LayerError(
            f"GEO_DASHBOARD_MAX_FEATURES={value!r} is not a whole number."
        ) from err


def _check_feature_count(entry: LayerEntry, path: Path) -> None:
    try:
        info = pyogrio.read_info(path, layer=entry.layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise _unreadable(entry, path, err) from err
    limit = max_features()
    if info["features"] > limit:
        raise LayerError(
            f"layer {entry.id!r}: {path} has {info['features']:,} features, more "
            f"than the limit of {limit:,}. Clip the layer to the area, raise "
            "GEO_DASHBOARD_MAX_FEATURES, or build with the partitioned engine."
        )


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
    _reject_non_areal(geometry, layer_id)

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


def _reject_non_areal(geometry: np.ndarray, layer_id: str) -> None:
    """Raise if a polygon layer contains points or lines, which cannot be repaired."""
    types = shapely.get_type_id(geometry)
    present = ~shapely.is_missing(geometry) & ~shapely.is_empty(geometry)
    wrong = present & ~np.isin(
        types,
        [
            shapely.GeometryType.POLYGON,
            shapely.GeometryType.MULTIPOLYGON,
            shapely.GeometryType.GEOMETRYCOLLECTION,
        ],
    )
    if wrong.any():
        rows = np.flatnonzero(wrong)
        kinds = sorted({shapely.get_type_id(g) for g in geometry[rows]})
        names = ", ".join(shapely.GeometryType(k).name.title() for k in kinds)
        raise LayerError(
            f"layer {layer_id!r}: {len(rows)} features are {names}, not polygons "
            f"(rows {', '.join(map(str, rows[:10]))}). A polygon layer may not mix "
            "geometry types; remove those features or put them in their own layer."
        )


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


def _covering_window(window: rasterio.windows.Window) -> rasterio.windows.Window:
    """Widen a fractional window to every cell it touches."""
    col_start = math.floor(window.col_off)
    row_start = math.floor(window.row_off)
    col_stop = math.ceil(window.col_off + window.width)
    row_stop = math.ceil(window.row_off + window.height)
    return rasterio.windows.Window(
        col_start, row_start, max(col_stop - col_start, 1), max(row_stop - row_start, 1)
    )


def check_raster_covers(path: Path, layer_id: str, boundary: shapely.Geometry) -> float:
    """Check that a raster has data over the area and return the covered share.

    Only the window around the area is read, so a national grid stays cheap.

    Raises
    ------
    LayerError
        If the raster has no data cells inside the area boundary (given in
        EPSG:28992), for example because it is all nodata or lies elsewhere.
    """
    with rasterio.open(path) as dataset:
        raster_crs = CRS.from_user_input(dataset.crs.to_wkt())
        area = gpd.GeoSeries([boundary], crs=WORK_CRS).to_crs(raster_crs).iloc[0]
        window = _covering_window(
            rasterio.windows.from_bounds(*area.bounds, transform=dataset.transform)
        )
        full = rasterio.windows.Window(0, 0, dataset.width, dataset.height)
        try:
            window = window.intersection(full)
        except rasterio.errors.WindowError:
            window = None
        data = dataset.read_masks(1, window=window) > 0 if window is not None else None
        transform = dataset.window_transform(window) if window is not None else None
    if data is None or not data.any():
        raise LayerError(
            f"layer {layer_id!r}: raster {path} has no data cells inside the area "
            "boundary (all nodata, or the raster lies elsewhere). Use a raster that "
            "covers the area, check its CRS, or list its role under data_gaps."
        )
    rows, cols = np.nonzero(data)
    west, north = rasterio.transform.xy(transform, rows, cols, offset="ul")
    east, south = rasterio.transform.xy(transform, rows, cols, offset="lr")
    cells = shapely.box(np.asarray(west), np.asarray(south), np.asarray(east), np.asarray(north))
    covered = shapely.area(shapely.intersection(shapely.union_all(cells), area)) / area.area
    if covered == 0:
        raise LayerError(
            f"layer {layer_id!r}: raster {path} has no data cells inside the area "
            "boundary. Use a raster that covers the area, or check its CRS."
        )
    if covered < 0.99:
        logger.warning(
            "layer %s: raster data covers %.1f%% of the area; values outside are missing",
            layer_id, 100 * covered,
        )
    return float(covered)
