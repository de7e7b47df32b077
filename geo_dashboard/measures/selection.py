"""Selecting parcels on a map: drawing tools and the parcels a drawing covers.

The map shows each parcel coloured by the measure the scenario gives it and
lets the user draw rectangles or polygons (Leaflet.draw through
``folium.plugins.Draw``). ``st_folium`` returns the drawings as GeoJSON in
EPSG:4326, and :func:`parcels_in_drawings` turns them into parcel ids.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.plugins import Draw

from geo_dashboard.maps import (
    CATEGORY_COLORS,
    to_display,
)
from geo_dashboard.measures.engine import NO_MEASURE, ScenarioEngine
from geo_dashboard.measures.parcel_map import parcel_map
from geo_dashboard.measures.texts import scenario_text
from geo_dashboard.output import BuildOutput

logger = logging.getLogger(__name__)

NO_MEASURE_FILL = "#ffffff"


def parcels_in_drawings(
    parcels: gpd.GeoDataFrame, drawings: list[dict[str, Any]] | None
) -> list[str]:
    """Return the ids of the parcels that intersect any drawn shape.

    Parameters
    ----------
    parcels
        Parcel table with ``parcel_id`` and polygons in a projected CRS
        (EPSG:28992 in a build).
    drawings
        GeoJSON features in EPSG:4326, as ``st_folium`` returns them under
        ``all_drawings``. Features that are not polygons are ignored.

    Returns
    -------
    list of str
        Parcel ids in table order; empty when nothing was drawn.
    """
    shapes = []
    for feature in drawings or []:
        geometry = shapely.geometry.shape(feature.get("geometry") or {})
        if geometry.geom_type in ("Polygon", "MultiPolygon") and not geometry.is_empty:
            shapes.append(geometry)
    if not shapes:
        return []
    drawn = gpd.GeoSeries(shapes, crs="EPSG:4326").to_crs(parcels.crs)
    _, rows = parcels.sindex.query(drawn.to_numpy(), predicate="intersects")
    rows = np.unique(rows)
    ids = parcels["parcel_id"].astype(str).to_numpy()[rows]
    logger.debug("%d drawn shapes cover %d parcels", len(shapes), len(ids))
    return list(ids)


def selection_map(
    output: BuildOutput,
    engine: ScenarioEngine,
    assignment: np.ndarray,
    language: str = "nl",
    *,
    display: dict[str, gpd.GeoDataFrame] | None = None,
    basemap: bool = True,
) -> folium.Map:
    """Build a map of the scenario's measures with tools to draw a selection.

    Parameters
    ----------
    output
        The build the engine was made from.
    engine, assignment
        The scenario engine and the current measure per parcel row.
    language
        ``"nl"`` or ``"en"``.
    display
        The app's simplified layers in EPSG:4326 (``parcels``, ``boundary``);
        computed from ``output`` when None.
    basemap
        Whether to show the grey BRT base map of the Kadaster, with a plain
        background when its tiles cannot be loaded.
    """
    if display is None:
        display = {
            "parcels": to_display(output.parcels[[output.parcels.geometry.name]]),
            "boundary": to_display(output.boundary[[output.boundary.geometry.name]]),
        }
    parcels = display["parcels"]
    measure_ids = [measure.id for measure in engine.library.measures]
    palette = {
        measure_id: CATEGORY_COLORS[index % len(CATEGORY_COLORS)]
        for index, measure_id in enumerate(measure_ids)
    }
    none_text = scenario_text("scenarios.map.no_measure", language)
    names = {m.id: m.name.get(language) for m in engine.library.measures}
    assigned = np.asarray(assignment, dtype=object)
    positions = output.parcels.index.get_indexer(parcels.index)
    rows = assigned[positions]
    fill = [palette.get(str(item), NO_MEASURE_FILL) for item in rows]
    ids = engine.parcel_ids.to_numpy()[positions]
    labels = [
        html.escape(
            f"{pid}: {names.get(item, none_text) if item != NO_MEASURE else none_text}"
        )
        for pid, item in zip(ids, rows, strict=True)
    ]
    # Draw declares Leaflet.draw on cdnjs. The app serves its own copy
    # (app.common.serve_leaflet); a standalone file of this map needs the CDN.
    folium_map = parcel_map(
        parcels,
        labels,
        fill,
        layer_name=scenario_text("scenarios.map.measures_layer", language),
        boundary=display["boundary"],
        language=language,
        basemap=basemap,
        fill_opacity=0.7,
    )
    Draw(
        export=False,
        draw_options={
            "polyline": False,
            "circle": False,
            "circlemarker": False,
            "marker": False,
            "polygon": True,
            "rectangle": True,
        },
        edit_options={"edit": False},
    ).add_to(folium_map)
    minx, miny, maxx, maxy = display["boundary"].total_bounds
    folium_map.fit_bounds([[miny, minx], [maxy, maxx]])
    return folium_map
