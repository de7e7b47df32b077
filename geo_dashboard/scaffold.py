"""Scaffold a new area from a boundary file: boundary layer, config and data gaps.

The catalogue does not record which role a layer plays, so the candidates
for each role are the layers that the other area configs use in that role.
Of those, the layer with the largest overlap with the new boundary is
chosen. For Natura 2000 the boundary is first widened by
``nature_context_m``, and for a raster the overlap is the share of the area
with data cells. Roles without a candidate become data
gaps, and every KPI of the library is listed with empty, provisional
baselines and targets for the user to fill in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyogrio
import rasterio
import rasterio.warp
import shapely
import yaml

from geo_dashboard.catalog import (
    CATALOG_FILE,
    Catalog,
    LayerEntry,
    catalog_text_with_layer,
    load_catalog,
)
from geo_dashboard.config import (
    AreaConfig,
    LayerRef,
    ParcelFields,
    area_config_path,
    list_areas,
    load_area_config,
)
from geo_dashboard.errors import ConfigError, GeoDashboardError
from geo_dashboard.expressions import evaluate
from geo_dashboard.kpis import KpiLibrary, load_kpi_library
from geo_dashboard.layer_import import (
    SHARED_FOLDER,
    check_provenance,
    check_year,
    read_user_vector,
    summarise_vector,
    write_vector,
)
from geo_dashboard.layer_io import (
    check_raster,
    check_raster_covers,
    check_vector_file,
    layer_path,
    read_vector,
)
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.roles import FIELD_INPUTS, ROLE_KINDS
from geo_dashboard.staged_writes import StagedWrites

logger = logging.getLogger(__name__)

Step = Callable[[str], None]

# Natura 2000 sites this far from the boundary count as the area's nature
# context, in metres. This is the AreaConfig default.
DEFAULT_NATURE_CONTEXT_M = AreaConfig.model_fields["nature_context_m"].default

# Data that would fill each gap, written next to the gap in the new config.
GAP_HINTS: dict[str, str] = {
    "parcels": "BRP crop parcels for this area (RVO via PDOK)",
    "crop_codes": "BRP crop codes (come with the BRP parcels)",
    "farm_ids": "farm ids per parcel, or a farm register",
    "natura2000": "Natura 2000 sites (RVO via PDOK)",
    "nnn": "NNN boundaries of the province (national NNN map on PDOK)",
    "peat_soil": "Peat and moerige soils from the BRO Bodemkaart (TNO/WUR via PDOK)",
    "surface_water": (
        "Ditches and watercourses (BGT via PDOK; legger of the water board)"
    ),
    "peat_emission": "Peat emission per parcel (SOMERS, Deltares)",
    "municipalities": "Municipality outlines (CBS/Kadaster via PDOK)",
    "nh3_concentration": "NH3 air concentration grid (RIVM GCN)",
    "n_deposition": (
        "Nitrogen deposition per hexagon and KDW per habitat (RIVM / AERIUS Monitor)"
    ),
}


@dataclass
class AreaRequest:
    """Options of ``new-area``."""

    area_id: str
    boundary_file: Path
    source: str | None
    licence: str | None
    name: str | None = None
    province: str | None = None
    publisher: str | None = None
    year: int | None = None
    layer_name: str | None = None
    force: bool = False


@dataclass
class RoleChoice:
    """The layer chosen for a role, and why."""

    role: str
    ref: LayerRef
    used_in: str
    overlap: str
    parcel_fields: ParcelFields | None = None


@dataclass
class NewArea:
    """Result of scaffolding an area."""

    config_path: Path
    boundary: LayerEntry
    choices: list[RoleChoice]
    data_gaps: list[str]
    kpis_computed: list[str]
    kpis_gaps: list[str]
    repairs: int = 0
    skipped: list[str] = field(default_factory=list)


def new_area(
    paths: ProjectPaths, request: AreaRequest, on_step: Step | None = None
) -> NewArea:
    """Add the boundary layer and write ``area_configs/<area_id>.yaml``.

    Raises
    ------
    ConfigError
        For an invalid area id, an existing config or boundary layer without
        ``force``, or missing provenance.
    LayerNotFoundError, LayerReadError, LayerError
        For a boundary file that is missing, unreadable, without CRS, outside
        the Netherlands or without polygons.
    """
    step = on_step or (lambda name: None)
    step("checks")
    config_path = area_config_path(paths.configs, request.area_id)
    check_reserved_id(paths, request.area_id)
    check_provenance(request.source, request.licence, "new-area")
    check_year(request.year, "new-area")
    if config_path.exists() and not request.force:
        raise ConfigError(
            f"area config {config_path} already exists. Pass --force to replace "
            "it, or choose another area id."
        )
    catalog = load_catalog(paths.layers)
    library = load_kpi_library()
    boundary_id = f"{request.area_id}_boundary"
    if boundary_id in catalog.layer_ids and not request.force:
        raise ConfigError(
            f"layer {boundary_id!r} is already in {paths.layers / CATALOG_FILE}. "
            "Pass --force to replace it, or choose another area id."
        )
    target = paths.layers / request.area_id / "boundary.gpkg"
    if target.exists() and not request.force:
        raise ConfigError(
            f"{target} already exists. Pass --force to replace it, or choose "
            "another area id."
        )

    step("boundary")
    boundary = read_user_vector(
        request.boundary_file, boundary_id, request.layer_name, polygons=True
    )
    outline = shapely.union_all(boundary.frame.geometry.values)
    processing, quality = summarise_vector(boundary)
    year = request.year or date.today().year
    entry = LayerEntry(
        id=boundary_id,
        file=target.relative_to(paths.layers).as_posix(),
        layer="boundary",
        kind="vector",
        crs="EPSG:28992",
        unit=None,
        publisher=request.publisher or "not stated on import",
        source=request.source or "",
        licence=request.licence or "",
        year=year,
        processing=f"Added with geo-dashboard new-area as the boundary of "
        f"{request.area_id}. {processing}",
        quality=quality,
        fields={
            str(column): f"column of {boundary.path.name} ({dtype})"
            for column, dtype in boundary.frame.dtypes.items()
            if column != "geometry"
        },
    )

    choices, skipped = choose_layers(
        paths, catalog, library, outline, request.area_id, step
    )
    text, gaps, computed, gap_kpis = render_config(
        request, entry, choices, library, boundary.path
    )

    step("write")
    writes = StagedWrites()
    try:
        write_vector(boundary.frame, writes.temporary_path(target), "boundary")
        catalog_path = paths.layers / CATALOG_FILE
        writes.write_text(
            catalog_path,
            catalog_text_with_layer(
                catalog_path.read_text(encoding="utf-8"), entry, replace=request.force
            ),
        )
        writes.write_text(config_path, text)
        step("verify")
        writes.commit(check=lambda: _verify(paths, request.area_id))
    except BaseException:
        writes.discard()
        raise
    repairs = boundary.repairs.changed if boundary.repairs else 0
    return NewArea(
        config_path=config_path,
        boundary=entry,
        choices=choices,
        data_gaps=gaps,
        kpis_computed=computed,
        kpis_gaps=gap_kpis,
        repairs=repairs,
        skipped=skipped,
    )


# Folders of layers/ and area_configs/ that hold other data than one area:
# non-spatial tables, layers added without an area, ambition and measure
# configs, and the build link name.
RESERVED_FOLDERS = frozenset(
    {"tables", SHARED_FOLDER, "ambitions", "measures", "current"}
)


def reserved_area_ids(paths: ProjectPaths) -> set[str]:
    """Return the names an area id may not take, because a folder needs them.

    Besides :data:`RESERVED_FOLDERS`, these are the folders of area_configs/
    (areas are files there) and the folders of layers/ without an area config.
    """
    names = set(RESERVED_FOLDERS)
    if paths.configs.is_dir():
        names.update(p.name for p in paths.configs.iterdir() if p.is_dir())
    areas = set(list_areas(paths.configs))
    if paths.layers.is_dir():
        names.update(
            p.name for p in paths.layers.iterdir() if p.is_dir() and p.name not in areas
        )
    return names


def check_reserved_id(paths: ProjectPaths, area_id: str) -> None:
    """Raise ConfigError when ``area_id`` is the name of a non-area folder."""
    if area_id not in reserved_area_ids(paths):
        return
    folders = [
        str(folder / area_id)
        for folder in (paths.layers, paths.configs)
        if (folder / area_id).is_dir()
    ]
    where = f" ({', '.join(folders)} exists)" if folders else ""
    raise ConfigError(
        f"area id {area_id!r} is reserved for a folder that contains no area"
        f"{where}. Choose another area id, e.g. {area_id}_area."
    )


def choose_layers(
    paths: ProjectPaths,
    catalog: Catalog,
    library: KpiLibrary,
    outline: shapely.Geometry,
    area_id: str,
    step: Step,
) -> tuple[list[RoleChoice], list[str]]:
    """Pick, per role, the used layer that overlaps ``outline`` most.

    Returns the choices in role order and the configs that were skipped
    because they do not load (each logged as a warning).
    """
    # NOTE: a layer added with add-layer but without --area is in no config.
    # It is therefore never a candidate here, so set it in the new config by hand.
    candidates: dict[tuple[str, str], tuple[LayerRef, str, ParcelFields]] = {}
    skipped = []
    for other in list_areas(paths.configs):
        if other == area_id:
            continue
        try:
            config = load_area_config(paths.configs, other, catalog, library)
        except GeoDashboardError as err:
            logger.warning(
                "skipped area config %s when choosing layers: %s", other, err
            )
            skipped.append(other)
            continue
        for role in config.layers:
            ref = config.layer_ref(role)
            assert ref is not None
            key = (role, ref.layer)
            candidates.setdefault(key, (ref, other, config.parcel_fields))

    best: dict[str, tuple[float, RoleChoice]] = {}
    for (role, layer_id), (ref, used_in, fields) in candidates.items():
        step(f"{role}: {layer_id}")
        try:
            score, overlap = _overlap(catalog, role, ref, outline)
        except (
            GeoDashboardError,
            RuntimeError,
            rasterio.errors.RasterioIOError,
        ) as err:
            # pyogrio's DataSourceError is a RuntimeError.
            logger.warning("skipped layer %s for role %s: %s", layer_id, role, err)
            continue
        if score <= 0:
            continue
        choice = RoleChoice(
            role=role,
            ref=ref,
            used_in=used_in,
            overlap=overlap,
            parcel_fields=fields if role == "parcels" else None,
        )
        if role not in best or score > best[role][0]:
            best[role] = (score, choice)
    return [best[role][1] for role in ROLE_KINDS if role in best], skipped


def _overlap(
    catalog: Catalog, role: str, ref: LayerRef, outline: shapely.Geometry
) -> tuple[float, str]:
    """Return a comparable overlap score and its description."""
    entry = catalog.layer(ref.layer)
    if not shapely.intersects(shapely.box(*layer_bounds(catalog, entry)), outline):
        return 0.0, "outside the area"
    if entry.kind == "raster":
        path = check_raster(catalog, entry)
        share = check_raster_covers(path, entry.id, outline)
        return share, f"data cells cover {100 * share:.0f}% of the area"
    frame = read_vector(catalog, entry)
    if ref.where:
        keep = evaluate(ref.where, frame, f"layers.{role}.where").astype(bool)
        frame = frame.loc[keep]
    zone = outline
    if role == "natura2000":
        zone = shapely.buffer(outline, DEFAULT_NATURE_CONTEXT_M)
    parts = shapely.intersection(frame.geometry.values, zone)
    if role == "surface_water":
        length = float(shapely.length(parts).sum()) / 1000
        return length, f"{length:,.1f} km inside the area"
    area = float(shapely.area(parts).sum()) / 1e6
    where = "within the nature context" if role == "natura2000" else "inside the area"
    return area, f"{area:,.2f} km2 {where}"


def layer_bounds(catalog: Catalog, entry: LayerEntry) -> tuple[float, ...]:
    """Return the bounds of a catalogue layer in EPSG:28992 without reading its data."""
    path = layer_path(catalog, entry)
    if entry.kind == "raster":
        with rasterio.open(path) as dataset:
            return tuple(
                rasterio.warp.transform_bounds(
                    dataset.crs, "EPSG:28992", *dataset.bounds
                )
            )
    info = pyogrio.read_info(path, layer=entry.layer, force_total_bounds=True)
    crs = info["crs"] or entry.crs
    return tuple(
        rasterio.warp.transform_bounds(crs, "EPSG:28992", *info["total_bounds"])
    )


def render_config(
    request: AreaRequest,
    boundary: LayerEntry,
    choices: list[RoleChoice],
    library: KpiLibrary,
    boundary_file: Path,
) -> tuple[str, list[str], list[str], list[str]]:
    """Return the config text, its data gaps and the KPIs that compute or are gaps."""
    roles = {choice.role: choice for choice in choices}
    parcel_fields = roles["parcels"].parcel_fields if "parcels" in roles else None
    gaps = [role for role in ROLE_KINDS if role not in roles]
    needed = {needed for kpi in library.root for needed in kpi.requires}
    for gap, key in FIELD_INPUTS.items():
        has_column = parcel_fields is not None and getattr(parcel_fields, key)
        if gap in needed and not has_column:
            gaps.append(gap)
    computed = [kpi.id for kpi in library.root if not set(kpi.requires) & set(gaps)]
    gap_kpis = [kpi.id for kpi in library.root if set(kpi.requires) & set(gaps)]

    year = date.today().year
    target_year = max(2030, year + 1)
    name = request.name or request.area_id.replace("_", " ").capitalize()
    lines = [
        f"# Area scaffolded with 'geo-dashboard new-area' on {date.today():%Y-%m-%d}",
        f"# from the boundary file {boundary_file.name}.",
        "#",
        "# Layers were chosen among those that other area configs use in the same",
        "# role, by overlap with the boundary; check each choice. Fill in the",
        "# description and province, and the baselines and targets under kpis.",
        f"id: {request.area_id}",
        "name:",
        f"  nl: {_scalar(name)}",
        f"  en: {_scalar(name)}",
        "description:",
        "  nl: Beschrijf hier het gebied en de herkomst van de grens.",
        "  en: Describe the area and where its boundary comes from here.",
        f"province: {_scalar(request.province or 'unknown')}"
        + ("" if request.province else "  # TODO: set the province"),
        "",
        "boundary:",
        f"  layer: {boundary.id}",
        "",
    ]
    if choices:
        lines.append("layers:")
        for choice in choices:
            lines.append(f"  # used in {choice.used_in}; {choice.overlap}")
            lines.append(f"  {choice.role}: {_ref_text(choice.ref)}")
    else:
        lines.append("layers: {}")
    lines.append("")
    if parcel_fields is not None:
        lines.append("parcel_fields:")
        for key, value in parcel_fields.model_dump(exclude_none=True).items():
            lines.append(f"  {key}: {_scalar(value)}")
        lines.append("")
    lines += [
        "# Natura 2000 sites within this distance of the boundary count as the",
        "# area's nature context (for the NH3 critical-level KPIs), in metres.",
        f"nature_context_m: {DEFAULT_NATURE_CONTEXT_M:g}",
        "",
        "# Roles without a layer. Add one with 'geo-dashboard add-layer FILE --role",
        f"# ROLE --area {request.area_id} ...', which also removes it from this list.",
    ]
    if gaps:
        lines.append("data_gaps:")
        lines += [f"  {gap}: {_scalar(GAP_HINTS.get(gap, gap))}" for gap in gaps]
    else:
        lines.append("data_gaps: {}")
    lines += [
        "",
        "# TODO: every baseline and target below is an empty placeholder marked",
        "# provisional. Fill in value, year, basis and source; a baseline can be",
        f"# the value of the first build (geo-dashboard kpis {request.area_id}).",
        "kpis:",
    ]
    groups = (
        ("computed from the layers above", computed),
        ("data gaps until the missing layer is added", gap_kpis),
    )
    for title, kpi_ids in groups:
        if not kpi_ids:
            continue
        lines.append(f"  # {title}")
        for kpi_id in kpi_ids:
            lines += [
                f"  - id: {kpi_id}",
                f"    baseline: {{value: null, year: {year}, basis: provisional, "
                'source: "to be filled in"}',
                f"    target: {{value: null, year: {target_year}, basis: "
                'provisional, source: "to be filled in"}',
            ]
    return "\n".join(lines) + "\n", gaps, computed, gap_kpis


def _ref_text(ref: LayerRef) -> str:
    if ref.where is None:
        return ref.layer
    return _scalar({"layer": ref.layer, "where": ref.where}, flow=True)


def _scalar(value, flow: bool = False) -> str:
    text = yaml.safe_dump(
        value, default_flow_style=flow, allow_unicode=True, width=1000
    )
    return text.removesuffix("\n...\n").strip()


def _verify(paths: ProjectPaths, area_id: str) -> None:
    """Load the written config and open each of its layer files."""
    catalog = load_catalog(paths.layers)
    config = load_area_config(paths.configs, area_id, catalog, load_kpi_library())
    refs = [config.boundary.layer]
    refs += [config.layer_ref(role).layer for role in config.layers]  # type: ignore[union-attr]
    for layer_id in dict.fromkeys(refs):
        entry = catalog.layer(layer_id)
        if entry.kind == "raster":
            check_raster(catalog, entry)
        else:
            check_vector_file(catalog, entry)
