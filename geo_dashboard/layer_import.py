"""Import a user's own layer file into ``layers/`` with its catalogue entry.

A vector file is checked with the same functions the build uses (CRS,
coordinates, feature limit, geometry repair) and written as a GeoPackage in
EPSG:28992. A raster is checked for CRS and data, reprojected when needed
and written as a DEFLATE GeoTIFF. The layer file, ``catalog.yaml`` and,
with an area, its config are written together: a failure leaves all three
as they were.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import rasterio.warp
import shapely
from pyproj import CRS

from geo_dashboard.catalog import (
    CATALOG_FILE,
    Catalog,
    LayerEntry,
    catalog_text_with_layer,
    load_catalog,
)
from geo_dashboard.config import (
    AreaConfig,
    ParcelFields,
    area_config_path,
    load_area_config,
)
from geo_dashboard.config_edit import config_text_with_role
from geo_dashboard.errors import (
    ConfigError,
    LayerError,
    LayerNotFoundError,
    LayerReadError,
    UnknownIdError,
)
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.layer_io import (
    _RD_BOUNDS,
    WORK_CRS,
    RepairReport,
    check_raster,
    check_raster_covers,
    check_vector_file,
    read_vector,
    repair_polygons,
)
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.roles import FIELD_INPUTS, ROLE_KINDS, ROLE_UNITS, normalise_unit

logger = logging.getLogger(__name__)

LAYER_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

# Nodata value of imported rasters, the same as the shipped GeoTIFFs.
RASTER_NODATA = -999.0

# Folder under layers/ for imported layers that belong to no area.
SHARED_FOLDER = "added"

Step = Callable[[str], None]


@dataclass
class VectorCheck:
    """A vector file read, checked and converted to EPSG:28992."""

    path: Path
    layer: str
    source_crs: str
    frame: gpd.GeoDataFrame
    repairs: RepairReport | None
    dropped_empty_lines: int = 0


@dataclass
class LayerRequest:
    """Options of ``add-layer``."""

    file: Path
    layer_id: str
    role: str
    source: str | None
    licence: str | None
    year: int | None = None
    unit: str | None = None
    layer_name: str | None = None
    area: str | None = None
    publisher: str | None = None
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class LayerImport:
    """Result of an import: the catalogue entry, its file and what changed."""

    entry: LayerEntry
    target: Path
    config_path: Path | None
    removed_gaps: list[str]
    repairs: RepairReport | None


def check_layer_id(layer_id: str) -> None:
    """Raise :class:`ConfigError` unless ``layer_id`` is a valid catalogue id."""
    if not re.fullmatch(LAYER_ID_PATTERN, layer_id):
        raise ConfigError(
            f"layer id {layer_id!r} is invalid: use lower-case letters, digits and "
            "underscores, starting with a letter (for example 'lh_nnn_2024')."
        )


# Earliest data year the catalogue accepts; the latest is next year.
MIN_DATA_YEAR = 1900


def check_year(year: int | None, command: str) -> None:
    """Raise :class:`ConfigError` for a ``--year`` outside 1900..next year."""
    if year is None:
        return
    latest = date.today().year + 1
    if not MIN_DATA_YEAR <= year <= latest:
        raise ConfigError(
            f"{command}: --year {year} is invalid; give the year the data "
            f"describes, between {MIN_DATA_YEAR} and {latest}."
        )


def check_provenance(source: str | None, licence: str | None, command: str) -> None:
    """Raise :class:`ConfigError` when ``--source`` or ``--licence`` is missing."""
    missing = [
        name
        for name, value in (("--source", source), ("--licence", licence))
        if value is None or not value.strip()
    ]
    if missing:
        raise ConfigError(
            f"{command}: {' and '.join(missing)} missing. The catalogue records where "
            "every layer comes from: give --source (publisher, data set, URL or "
            "file it was taken from) and --licence (e.g. 'CC0 1.0' or 'unknown')."
        )


def read_user_vector(
    path: Path, layer_id: str, layer_name: str | None, polygons: bool
) -> VectorCheck:
    """Read a user's vector file, check it and return it in EPSG:28992.

    Uses the build's own checks: a CRS must be present, coordinates must fit
    it and lie in the Netherlands, the layer must have features, and with
    ``polygons`` the geometries are repaired (and counted) or rejected.

    Raises
    ------
    LayerNotFoundError, LayerReadError, LayerError
    """
    path = Path(path)
    if not path.is_file():
        raise LayerNotFoundError(f"file {path} not found. Check the path.")
    try:
        listed = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as err:
        raise LayerReadError(
            f"cannot read {path} as a vector file: {err}. Use a complete "
            "GeoPackage, GeoJSON or Shapefile."
        ) from err
    names = [str(name) for name in listed[:, 0]]
    layer_name = _choose_layer(path, names, layer_name)
    info = pyogrio.read_info(path, layer=layer_name)
    if not info["crs"]:
        raise LayerError(
            f"{path} (layer {layer_name!r}) has no CRS. Save the file with its "
            "CRS (for Dutch data usually EPSG:28992), e.g. with "
            "ogr2ogr -a_srs EPSG:28992."
        )
    entry = _probe_entry(path, layer_id, "vector", str(info["crs"]), layer_name)
    frame = read_vector(Catalog(layers=[entry], root=path.parent), entry)
    check_in_netherlands(frame.total_bounds, layer_id, path)

    repairs = None
    dropped = 0
    if polygons:
        frame, repairs = repair_polygons(frame, layer_id)
    else:
        empty = frame.geometry.isna() | frame.geometry.is_empty
        dropped = int(empty.sum())
        frame = frame.loc[~empty].copy()
    if frame.empty:
        raise LayerError(
            f"layer {layer_id!r}: {path} has no usable geometry after repair. "
            "Use a file with polygon features."
        )
    return VectorCheck(
        path=path,
        layer=layer_name,
        source_crs=str(info["crs"]),
        frame=frame,
        repairs=repairs,
        dropped_empty_lines=dropped,
    )


def _choose_layer(path: Path, names: list[str], requested: str | None) -> str:
    if requested is not None:
        if requested not in names:
            raise LayerReadError(
                f"{path} has no layer {requested!r}; layers in the file: "
                f"{', '.join(names)}. Pass one of them with --layer."
            )
        return requested
    if len(names) != 1:
        raise LayerError(
            f"{path} has {len(names)} layers ({', '.join(names)}); choose one "
            "with --layer."
        )
    return names[0]


def _probe_entry(
    path: Path, layer_id: str, kind: str, crs: str, layer: str | None = None
) -> LayerEntry:
    """Return a provisional catalogue entry for the build's readers to open the file."""
    return LayerEntry(
        id=layer_id,
        file=path.name,
        layer=layer,
        kind=kind,
        crs=crs,
        publisher="-",
        source="-",
        licence="-",
        year=date.today().year,
        processing="-",
        quality="-",
    )


def check_in_netherlands(bounds, layer_id: str, path: Path) -> None:
    """Raise :class:`LayerError` unless EPSG:28992 ``bounds`` lie in the Netherlands."""
    xmin, ymin, xmax, ymax = bounds
    lo_x, lo_y, hi_x, hi_y = _RD_BOUNDS
    if not (lo_x <= xmin and xmax <= hi_x and lo_y <= ymin and ymax <= hi_y):
        raise LayerError(
            f"layer {layer_id!r}: {path} lies outside the Netherlands: its bounds in "
            f"EPSG:28992 are ({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f}) m. "
            "Check the CRS of the file; the dashboard covers Dutch areas only."
        )


def check_columns(check: VectorCheck, role: str, required: dict[str, str]) -> None:
    """Raise :class:`LayerError` naming the first column in ``required`` the file lacks.

    ``required`` maps the config key (e.g. ``parcel_id``) to the column name.
    """
    present = [column for column in check.frame.columns if column != "geometry"]
    for key, column in required.items():
        if column in present:
            continue
        if role == "parcels":
            fix = f"Rename the column in the file or pass --column {key}=NAME."
        else:
            fix = f"Rename the column that holds {key} to {column!r} in the file."
        raise LayerError(
            f"{check.path} (layer {check.layer!r}) has no column {column!r}, which "
            f"role {role!r} needs for {key}. Columns present: "
            f"{', '.join(present) or 'none'}. {fix}"
        )


def required_columns(
    role: str, parcel_fields: ParcelFields, columns: dict[str, str]
) -> dict[str, str]:
    """Return the columns a layer in ``role`` must have, by config key."""
    fields = parcel_fields.model_copy(update=columns)
    if role == "parcels":
        required = {"parcel_id": fields.parcel_id}
        for key in ("crop_code", "farm_id", "peat_emission_rate"):
            if getattr(fields, key) is not None and key in columns:
                required[key] = getattr(fields, key)
        return required
    if role == "peat_emission":
        return {"peat_emission_rate": fields.peat_emission_rate or "emission_t"}
    return {}


def summarise_vector(check: VectorCheck) -> tuple[str, str]:
    """Return the processing and quality notes of an imported vector layer."""
    steps = []
    if CRS.from_user_input(check.source_crs).equals(WORK_CRS):
        steps.append("already in EPSG:28992")
    else:
        steps.append(f"reprojected from {check.source_crs} to EPSG:28992")
    if check.repairs is not None:
        steps.append(
            f"{check.repairs.repaired} invalid geometries repaired with make_valid, "
            f"{check.repairs.dropped_empty} empty and "
            f"{check.repairs.dropped_non_polygon} non-polygon features dropped"
        )
    else:
        steps.append(f"{check.dropped_empty_lines} empty geometries dropped")
    processing = (
        f"Checked and converted from {check.path.name} (layer {check.layer!r}): "
        + "; ".join(steps)
        + "; written as a GeoPackage."
    )
    frame = check.frame
    xmin, ymin, xmax, ymax = frame.total_bounds
    area_km2 = float(shapely.area(frame.geometry.values).sum()) / 1e6
    quality = (
        f"{len(frame):,} feature{'' if len(frame) == 1 else 's'} covering "
        f"{area_km2:,.1f} km2, RD x "
        f"{xmin / 1000:.1f}-{xmax / 1000:.1f} km, y {ymin / 1000:.1f}-"
        f"{ymax / 1000:.1f} km. Checked on import: CRS, coordinates inside the "
        "Netherlands, geometry validity. Content not reviewed; describe its "
        "quality here."
    )
    return processing, quality


def write_vector(frame: gpd.GeoDataFrame, target: Path, layer: str) -> None:
    """Write ``frame`` to a new GeoPackage with one layer."""
    frame.to_file(target, layer=layer, driver="GPKG", engine="pyogrio")


@dataclass
class RasterCheck:
    """A raster file that was opened and checked."""

    path: Path
    source_crs: str
    bands: int
    nodata: float | None


def read_user_raster(path: Path, layer_id: str) -> RasterCheck:
    """Open a user's raster and check its CRS, location and data cells.

    Raises
    ------
    LayerNotFoundError, LayerReadError, LayerError
    """
    path = Path(path)
    if not path.is_file():
        raise LayerNotFoundError(f"file {path} not found. Check the path.")
    try:
        with rasterio.open(path) as dataset:
            crs = dataset.crs
            bands = dataset.count
            nodata = dataset.nodata
            bounds = dataset.bounds
            has_data = bool((dataset.read_masks(1) > 0).any())
    except rasterio.errors.RasterioIOError as err:
        raise LayerReadError(
            f"cannot read {path} as a raster: {err}. Use a complete GeoTIFF."
        ) from err
    if crs is None:
        raise LayerError(
            f"raster {path} has no CRS. Tag the file with its CRS (for Dutch data "
            "usually EPSG:28992), e.g. with gdal_edit.py -a_srs EPSG:28992."
        )
    rd_bounds = rasterio.warp.transform_bounds(crs, "EPSG:28992", *bounds)
    check_in_netherlands(rd_bounds, layer_id, path)
    if not has_data:
        raise LayerError(
            f"raster {path} has no data cells (every cell is nodata). Use a raster "
            "with values."
        )
    return RasterCheck(
        path=path, source_crs=crs.to_string(), bands=bands, nodata=nodata
    )


def write_raster(check: RasterCheck, target: Path) -> str:
    """Write band 1 as a float32 DEFLATE GeoTIFF in EPSG:28992; return the note."""
    with rasterio.open(check.path) as dataset:
        data = dataset.read(1, masked=True).astype("float32").filled(RASTER_NODATA)
        same_crs = dataset.crs == rasterio.crs.CRS.from_epsg(28992)
        if same_crs:
            transform, width, height = (
                dataset.transform,
                dataset.width,
                dataset.height,
            )
            result = data
        else:
            transform, width, height = rasterio.warp.calculate_default_transform(
                dataset.crs,
                "EPSG:28992",
                dataset.width,
                dataset.height,
                *dataset.bounds,
            )
            result = np.full((height, width), RASTER_NODATA, dtype="float32")
            rasterio.warp.reproject(
                data,
                result,
                src_transform=dataset.transform,
                src_crs=dataset.crs,
                src_nodata=RASTER_NODATA,
                dst_transform=transform,
                dst_crs="EPSG:28992",
                dst_nodata=RASTER_NODATA,
                resampling=rasterio.warp.Resampling.nearest,
            )
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": 1,
        "width": width,
        "height": height,
        "crs": "EPSG:28992",
        "transform": transform,
        "nodata": RASTER_NODATA,
        "compress": "deflate",
    }
    with rasterio.open(target, "w", **profile) as out:
        out.write(result, 1)

    steps = []
    if same_crs:
        steps.append("already in EPSG:28992")
    else:
        steps.append(
            f"reprojected from {check.source_crs} to EPSG:28992 with "
            "nearest-neighbour resampling"
        )
    if check.bands > 1:
        steps.append(f"band 1 of {check.bands} kept")
    if check.nodata is None:
        steps.append("the source had no nodata value, so every source cell is data")
    return (
        f"Checked and converted from {check.path.name}: "
        + "; ".join(steps)
        + f"; written as a float32 DEFLATE GeoTIFF with nodata {RASTER_NODATA:g}."
    )


def raster_quality(target: Path) -> str:
    """Return the quality note of an imported raster, from its written file."""
    with rasterio.open(target) as dataset:
        values = dataset.read(1, masked=True)
        cells = int(values.count())
        text = (
            f"{dataset.width} columns x {dataset.height} rows of "
            f"{abs(dataset.transform.a):g} m cells, {cells:,} with data, values "
            f"{float(values.min()):.4g}-{float(values.max()):.4g} "
            f"(mean {float(values.mean()):.4g})."
        )
    return text + " Checked on import: CRS and location. Content not reviewed."


def import_layer(
    paths: ProjectPaths, request: LayerRequest, on_step: Step | None = None
) -> LayerImport:
    """Check a user's layer file and add it to the layers folder and catalogue.

    With ``request.area`` the layer is also set in that area's config in
    ``request.role``, and the role leaves the area's ``data_gaps``.

    Raises
    ------
    ConfigError, UnknownIdError
        For an unknown role, an id already in the catalogue, missing
        provenance, or an area config that cannot take the layer.
    LayerNotFoundError, LayerReadError, LayerError
        For a file that is missing, unreadable, without CRS, outside the
        Netherlands, or without a required column.
    """
    step = on_step or (lambda name: None)
    step("checks")
    catalog, config, fields = _check_request(paths, request)
    kind = ROLE_KINDS[request.role]
    folder = paths.layers / (request.area or SHARED_FOLDER)
    target = folder / f"{request.layer_id}.{'gpkg' if kind == 'vector' else 'tif'}"
    if target.exists():
        raise ConfigError(
            f"{target} already exists but is not in the catalogue under "
            f"{request.layer_id!r}. Move the file away or choose another id."
        )

    from geo_dashboard.staged_writes import StagedWrites

    writes = StagedWrites()
    try:
        step("read")
        staged_layer = writes.temporary_path(target)
        if kind == "vector":
            vector = read_user_vector(
                request.file,
                request.layer_id,
                request.layer_name,
                polygons=request.role != "surface_water",
            )
            required = required_columns(request.role, fields, request.columns)
            check_columns(vector, request.role, required)
            if request.role == "parcels":
                _check_unique_ids(vector, required["parcel_id"])
            if config is not None:
                check_vector_overlap(vector, catalog, config, request.role)
            step("write")
            write_vector(vector.frame, staged_layer, request.layer_id)
            processing, quality = summarise_vector(vector)
            repairs = vector.repairs
            layer_fields = _field_notes(vector)
        else:
            raster = read_user_raster(request.file, request.layer_id)
            step("write")
            processing = write_raster(raster, staged_layer)
            if config is not None:
                check_raster_overlap(staged_layer, catalog, config, request)
            quality = raster_quality(staged_layer)
            repairs = None
            layer_fields = {}

        step("catalogue")
        year = request.year
        if year is None:
            year = date.today().year
            quality += " Year not given on import; set to the import year."
        entry = LayerEntry(
            id=request.layer_id,
            file=target.relative_to(paths.layers).as_posix(),
            layer=request.layer_id if kind == "vector" else None,
            kind=kind,
            crs="EPSG:28992",
            unit=request.unit,
            publisher=request.publisher or "not stated on import",
            source=request.source or "",
            licence=request.licence or "",
            year=year,
            processing=f"Added with geo-dashboard add-layer. {processing}",
            quality=quality,
            fields=layer_fields,
        )
        catalog_path = paths.layers / CATALOG_FILE
        writes.write_text(
            catalog_path,
            catalog_text_with_layer(catalog_path.read_text(encoding="utf-8"), entry),
        )

        config_path = None
        removed: list[str] = []
        if config is not None:
            step("config")
            config_path = config.path
            assert config_path is not None
            covered = [
                gap
                for gap, key in FIELD_INPUTS.items()
                if key in request.columns and gap in config.data_gaps
            ]
            written_fields = request.columns if request.role == "parcels" else {}
            writes.write_text(
                config_path,
                config_text_with_role(
                    config_path.read_text(encoding="utf-8"),
                    config_path,
                    request.role,
                    request.layer_id,
                    written_fields,
                    covered,
                ),
            )
            removed = [g for g in [request.role, *covered] if g in config.data_gaps]

        step("verify")
        writes.commit(check=lambda: _verify(paths, entry, request.area))
    except BaseException:
        writes.discard()
        raise
    logger.info("added layer %s (%s) as %s", entry.id, request.role, target)
    return LayerImport(
        entry=entry,
        target=target,
        config_path=config_path,
        removed_gaps=removed,
        repairs=repairs,
    )


def _check_request(paths: ProjectPaths, request: LayerRequest):
    if request.role not in ROLE_KINDS:
        raise UnknownIdError(
            f"role {request.role!r} is unknown; valid roles: {', '.join(ROLE_KINDS)}."
        )
    check_layer_id(request.layer_id)
    check_provenance(request.source, request.licence, "add-layer")
    check_year(request.year, "add-layer")
    catalog = load_catalog(paths.layers)
    known = catalog.layer_ids + [table.id for table in catalog.tables]
    if request.layer_id in known:
        raise ConfigError(
            f"layer id {request.layer_id!r} is already in "
            f"{paths.layers / CATALOG_FILE}. Choose another id with --id."
        )
    expected_unit = ROLE_UNITS.get(request.role)
    if expected_unit is not None:
        if request.unit is None:
            raise ConfigError(
                f"role {request.role!r} needs a layer in {expected_unit!r}; check "
                f"the values of {request.file} and pass --unit {expected_unit!r}."
            )
        if normalise_unit(request.unit) != normalise_unit(expected_unit):
            raise ConfigError(
                f"unit {request.unit!r} does not fit role {request.role!r}, which "
                f"needs {expected_unit!r}. Convert the values first."
            )
    valid_keys = set(ParcelFields.model_fields)
    unknown = sorted(set(request.columns) - valid_keys)
    if unknown:
        raise ConfigError(
            f"--column key(s) {', '.join(unknown)} unknown; valid keys: "
            f"{', '.join(sorted(valid_keys))}."
        )
    if request.columns and request.role != "parcels":
        raise ConfigError(
            "--column sets parcel_fields of the area and only applies to role "
            f"'parcels', not {request.role!r}."
        )

    config = None
    fields = ParcelFields()
    if request.area is not None:
        area_config_path(paths.configs, request.area)
        config = load_area_config(
            paths.configs, request.area, catalog, load_kpi_library()
        )
        fields = config.parcel_fields
        ref = config.layer_ref(request.role)
        if ref is not None:
            raise ConfigError(
                f"area config {config.path}: role {request.role!r} already has layer "
                f"{ref.layer!r}. Remove it from 'layers:' first if the new layer "
                "should replace it."
            )
    return catalog, config, fields


# Roles whose features may lie outside the boundary, within the area's
# nature context (``nature_context_m``), because the build reads them there.
CONTEXT_ROLES = frozenset({"natura2000", "n_deposition"})
# Below this share of the area's bounding box covered by the layer's bounding
# box, an import is accepted with a warning: the layer may be cut to another area.
SMALL_OVERLAP_SHARE = 0.5


def _area_zone(catalog: Catalog, config: AreaConfig, role: str) -> shapely.Geometry:
    """Return the area outline in EPSG:28992, widened for context roles."""
    boundary = read_vector(catalog, catalog.layer(config.boundary.layer))
    outline = shapely.union_all(boundary.geometry.values)
    if role in CONTEXT_ROLES:
        outline = shapely.buffer(outline, config.nature_context_m)
    return outline


def _bounds_text(bounds) -> str:
    return "(" + ", ".join(f"{value:,.0f}" for value in bounds) + ")"


def _check_overlap_share(
    layer_bounds, zone: shapely.Geometry, what: str, area: str
) -> None:
    """Log a warning when the layer's extent covers little of the area's extent."""
    area_box = shapely.box(*zone.bounds)
    shared = shapely.area(shapely.intersection(shapely.box(*layer_bounds), area_box))
    share = shared / area_box.area if area_box.area else 1.0
    if share < SMALL_OVERLAP_SHARE:
        logger.warning(
            "%s covers only %.0f%% of the extent of area %s; check that it is "
            "the layer for this area",
            what,
            100 * share,
            area,
        )


def check_vector_overlap(
    vector: VectorCheck, catalog: Catalog, config: AreaConfig, role: str
) -> None:
    """Raise LayerError when no feature of ``vector`` touches the area.

    Natura 2000 sites count within the area's nature context. A layer whose
    extent covers less than half of the area's extent is accepted with a
    logged warning.
    """
    zone = _area_zone(catalog, config, role)
    geometries = vector.frame.geometry.values
    if not shapely.intersects(geometries, zone).any():
        where = "its nature context" if role in CONTEXT_ROLES else "its boundary"
        raise LayerError(
            f"{vector.path}: no feature lies inside area {config.id!r} ({where}, "
            f"layer {config.boundary.layer!r}). Layer bounds "
            f"{_bounds_text(vector.frame.total_bounds)}, area bounds "
            f"{_bounds_text(zone.bounds)}, both in EPSG:28992. Use a layer that "
            "covers the area, or check its CRS."
        )
    _check_overlap_share(vector.frame.total_bounds, zone, str(vector.path), config.id)


def check_raster_overlap(
    written: Path, catalog: Catalog, config: AreaConfig, request: LayerRequest
) -> None:
    """Raise LayerError when the converted raster has no data cell in the area."""
    zone = _area_zone(catalog, config, request.role)
    with rasterio.open(written) as dataset:
        raster_bounds = tuple(dataset.bounds)
    if not shapely.intersects(shapely.box(*raster_bounds), zone):
        raise LayerError(
            f"{request.file}: the raster lies outside area {config.id!r} "
            f"(layer {config.boundary.layer!r}). Raster bounds "
            f"{_bounds_text(raster_bounds)}, area bounds "
            f"{_bounds_text(zone.bounds)}, both in EPSG:28992. Use a raster that "
            "covers the area, or check its CRS."
        )
    check_raster_covers(written, request.layer_id, zone)
    _check_overlap_share(raster_bounds, zone, str(request.file), config.id)


def _check_unique_ids(check: VectorCheck, column: str) -> None:
    ids = check.frame[column]
    if ids.isna().any():
        raise LayerError(
            f"{check.path}: {int(ids.isna().sum())} features have no parcel id in "
            f"column {column!r}. Give every parcel an id."
        )
    duplicated = ids[ids.duplicated()]
    if not duplicated.empty:
        raise LayerError(
            f"{check.path}: parcel ids in column {column!r} are not unique, e.g. "
            f"{duplicated.iloc[0]!r}. Make them unique or choose another column."
        )


def _field_notes(check: VectorCheck) -> dict[str, str]:
    return {
        str(column): f"column of {check.path.name} ({dtype})"
        for column, dtype in check.frame.dtypes.items()
        if column != "geometry"
    }


def _verify(paths: ProjectPaths, entry: LayerEntry, area: str | None) -> None:
    """Read back the written catalogue, layer file and config."""
    catalog = load_catalog(paths.layers)
    written = catalog.layer(entry.id)
    if written.kind == "raster":
        check_raster(catalog, written)
    else:
        check_vector_file(catalog, written)
    if area is not None:
        load_area_config(paths.configs, area, catalog, load_kpi_library())
