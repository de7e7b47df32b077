"""The folium map both scenario maps start from: labelled parcels and the boundary."""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd

from geo_dashboard.maps import BOUNDARY_COLOR, CompactGeoJson, add_basemap, new_map
from geo_dashboard.measures.texts import scenario_text

PARCEL_EDGE_COLOR = "#444444"


def parcel_map(
    parcels: gpd.GeoDataFrame,
    labels: Sequence[str],
    fill: Sequence[str],
    *,
    layer_name: str,
    boundary: gpd.GeoDataFrame,
    language: str,
    basemap: bool,
    fill_opacity: float,
) -> folium.Map:
    """Draw parcels filled per row with a tooltip label, over the area boundary.

    ``labels`` must be escaped HTML already, because Leaflet renders tooltips as
    HTML. ``labels`` and ``fill`` are in the row order of ``parcels``.
    """
    features = gpd.GeoDataFrame(
        {"label": list(labels)}, geometry=parcels.geometry.to_numpy(), crs=parcels.crs
    ).to_geo_dict(drop_id=False)
    colours = list(fill)

    folium_map = new_map()
    if basemap:
        name = scenario_text("scenarios.map.basemap", language)
        add_basemap(folium_map, name, language)
    CompactGeoJson(
        features,
        name=layer_name,
        style_function=lambda feature: {
            "fillColor": colours[int(feature["id"])],
            "color": PARCEL_EDGE_COLOR,
            "weight": 0.4,
            "fillOpacity": fill_opacity,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(folium_map)
    CompactGeoJson(
        boundary.to_geo_dict(drop_id=True),
        name=scenario_text("scenarios.map.boundary", language),
        style_function=lambda feature: {
            "color": BOUNDARY_COLOR,
            "weight": 3,
            "fill": False,
        },
    ).add_to(folium_map)
    return folium_map
