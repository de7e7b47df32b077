"""Folium maps of one KPI in several areas, coloured by one shared classification.

:func:`geo_dashboard.maps.build_map` classifies the values of one build, so
two of its maps use different class breaks and their colours cannot be
compared. Here the class breaks are computed once over the values of all
shown areas, so every map gets the same colours. The maps carry no legend of
their own: the page shows :attr:`ComparisonMaps.legend` once beside them.

Every text in a tooltip or the legend is escaped with ``html.escape``,
because Leaflet inserts it as HTML and crop and site names come from data
files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import folium
import geopandas as gpd
import pandas as pd

from geo_dashboard.i18n import (
    format_value,
    has_message,
    translate,
    translate_unit,
    translate_value,
)
from geo_dashboard.kpis import KpiDefinition, row_values
from geo_dashboard.maps import (
    BOUNDARY_COLOR,
    NATURA2000_COLOR,
    NO_VALUE_COLOR,
    Classification,
    CompactGeoJson,
    add_basemap,
    class_colors,
    classify_values,
    display_layers,
    escaped_text,
    geojson_features,
    legend_html,
    new_map,
)
from geo_dashboard.output import BuildOutput
from geo_dashboard.overview import split_roles

logger = logging.getLogger(__name__)

AreaMapMode = Literal["parcels", "nature", "no_parcel_values", "gap"]


@dataclass(frozen=True)
class AreaValues:
    """The values of one KPI in one area, per parcel or per Natura 2000 site.

    ``values`` is None in the modes ``gap`` (the KPI lacks input layers)
    and ``no_parcel_values`` (an index such as the Shannon crop diversity,
    which exists for the whole area only). ``note`` gives the reason.
    """

    area_id: str
    mode: AreaMapMode
    values: pd.Series | None
    note: str | None


@dataclass
class ComparisonMaps:
    """The maps of all shown areas with their shared classes and legend.

    ``legend`` is escaped HTML for all maps together, shown outside them.
    """

    classification: Classification | None
    legend: str
    unit: str
    maps: dict[str, folium.Map]
    notes: dict[str, str | None]


def area_values(output: BuildOutput, kpi: KpiDefinition, language: str) -> AreaValues:
    """Return the values of ``kpi`` to colour the map of ``output``."""
    name = kpi.name.get(language)
    rows = output.kpis[output.kpis["kpi_id"] == kpi.id]
    if rows.empty:
        note = translate("compare.map.not_used", language, name=name)
        return AreaValues(output.area_id, "gap", None, note)
    if rows.iloc[0]["status"] == "gap":
        roles = split_roles(rows.iloc[0]["missing_layers"])
        labels = ", ".join(translate_value("role", role, language) for role in roles)
        note = translate("map.note.gap", language, name=name, roles=labels)
        return AreaValues(output.area_id, "gap", None, note)
    table = output.nature if kpi.table == "nature" else output.parcels
    values = row_values(kpi, table)
    if values is None:
        note = translate("compare.map.no_parcel_values", language, name=name)
        return AreaValues(output.area_id, "no_parcel_values", None, note)
    if kpi.table == "nature":
        note = translate("map.note.nature", language, name=name)
        return AreaValues(output.area_id, "nature", values, note)
    return AreaValues(output.area_id, "parcels", values, None)


def shared_classification(values: list[AreaValues]) -> Classification | None:
    """Classify the values of all areas together; None when no area has values."""
    series = [item.values for item in values if item.values is not None]
    if not series:
        return None
    combined = pd.concat(series, ignore_index=True)
    return classify_values(combined)


def shared_legend(
    kpi: KpiDefinition,
    classification: Classification | None,
    with_missing: bool,
    language: str,
) -> str:
    """Build the legend HTML that applies to every map of the comparison."""
    unit = kpi.map_unit or kpi.unit
    column_key = f"map.column.{kpi.map_column}"
    name = kpi.name.get(language)
    if kpi.map_column and has_message(column_key):
        name = translate(column_key, language)
    rows: list[tuple[str, str]] = []
    if classification is not None:
        labels = classification.labels(unit, language)
        rows = list(zip(classification.colors, labels, strict=True))
        if unit and unit != "index":
            name = f"{name} ({translate_unit(unit, language)})"
    if with_missing:
        rows.append((NO_VALUE_COLOR, translate("map.legend.no_value", language)))
    note = translate("compare.map.shared_classes", language)
    return legend_html(name, rows, note, language)


def comparison_maps(
    builds: Mapping[str, BuildOutput],
    kpi: KpiDefinition,
    language: str,
    *,
    displays: Mapping[str, dict[str, gpd.GeoDataFrame]] | None = None,
    basemap: bool = True,
) -> ComparisonMaps:
    """Build one map per area of ``kpi`` with one classification over all areas.

    Parameters
    ----------
    builds
        Area id to its build, filtered for the viewer.
    kpi
        The KPI that colours the parcels (or the Natura 2000 sites).
    language
        ``"nl"`` or ``"en"`` for all texts.
    displays
        Output of :func:`geo_dashboard.maps.display_layers` per area, to
        reuse cached geometries; computed when missing.
    basemap
        Whether to add the grey BRT base map of the Kadaster.
    """
    values = {
        area_id: area_values(output, kpi, language)
        for area_id, output in builds.items()
    }
    classification = shared_classification(list(values.values()))
    with_missing = any(
        item.values is not None and bool(item.values.isna().any())
        for item in values.values()
    )
    legend = shared_legend(kpi, classification, with_missing, language)
    maps = {}
    for area_id, output in builds.items():
        display = (displays or {}).get(area_id) or display_layers(output)
        maps[area_id] = _area_map(
            output,
            display,
            values[area_id],
            classification,
            kpi,
            language,
            basemap,
        )
    logger.debug(
        "built %d comparison maps of %s with %s classes",
        len(maps),
        kpi.id,
        classification.method if classification else "no",
    )
    unit = translate_unit(kpi.map_unit or kpi.unit, language)
    notes = {area_id: item.note for area_id, item in values.items()}
    return ComparisonMaps(classification, legend, unit, maps, notes)


def _area_map(
    output: BuildOutput,
    display: dict[str, gpd.GeoDataFrame],
    item: AreaValues,
    classification: Classification | None,
    kpi: KpiDefinition,
    language: str,
    basemap: bool,
) -> folium.Map:
    folium_map = new_map(location=None, zoom_start=12)
    if basemap:
        add_basemap(folium_map, translate("map.layer.basemap", language), language)

    unit = kpi.map_unit or kpi.unit
    if not display["parcels"].empty:
        parcel_values = item.values if item.mode == "parcels" else None
        _parcel_layer(
            output,
            display["parcels"],
            parcel_values,
            classification,
            kpi,
            unit,
            language,
        ).add_to(folium_map)
    if not display["nature"].empty:
        site_values = item.values if item.mode == "nature" else None
        _nature_layer(
            display["nature"], site_values, classification, unit, language
        ).add_to(folium_map)
    CompactGeoJson(
        geojson_features(display["boundary"], {}),
        name=translate("map.layer.boundary", language),
        style_function=lambda feature: {
            "color": BOUNDARY_COLOR,
            "weight": 3,
            "fill": False,
        },
    ).add_to(folium_map)
    folium.LayerControl(collapsed=True).add_to(folium_map)
    minx, miny, maxx, maxy = display["boundary"].total_bounds
    folium_map.fit_bounds([[miny, minx], [maxy, maxx]])
    return folium_map


def _fills(
    classification: Classification | None, values: pd.Series | None, index: pd.Index
) -> list[str]:
    if classification is None or values is None:
        return [NO_VALUE_COLOR] * len(index)
    return list(class_colors(classification, values.reindex(index)))


def _parcel_layer(
    output: BuildOutput,
    parcels: gpd.GeoDataFrame,
    values: pd.Series | None,
    classification: Classification | None,
    kpi: KpiDefinition,
    unit: str,
    language: str,
) -> folium.GeoJson:
    source = output.parcels.reindex(parcels.index)
    properties: dict[str, pd.Series] = {}
    if "crop_name" in source:
        properties["crop"] = escaped_text(source["crop_name"])
    if values is not None:
        texts = values.reindex(parcels.index).map(
            lambda v: format_value(v, unit, language)
        )
        properties["value"] = escaped_text(texts)
    fills = _fills(classification, values, parcels.index)
    opacity = 0.75 if values is not None else 0.3
    layer = CompactGeoJson(
        geojson_features(parcels, properties),
        name=translate("map.layer.parcels", language, name=kpi.name.get(language)),
        style_function=lambda feature: {
            "color": "#444444",
            "weight": 0.4,
            "fillOpacity": opacity,
            "fillColor": fills[int(feature["id"])],
        },
    )
    if properties:
        folium.GeoJsonTooltip(fields=list(properties), labels=False).add_to(layer)
    return layer


def _nature_layer(
    nature: gpd.GeoDataFrame,
    values: pd.Series | None,
    classification: Classification | None,
    unit: str,
    language: str,
) -> folium.GeoJson:
    names = nature["site"] if "site" in nature else pd.Series("", index=nature.index)
    properties = {"site": escaped_text(names)}
    if values is not None:
        texts = values.reindex(nature.index).map(
            lambda v: format_value(v, unit, language)
        )
        properties["value"] = escaped_text(texts)
    fills = (
        _fills(classification, values, nature.index)
        if values is not None
        else ["none"] * len(nature)
    )
    opacity = 0.6 if values is not None else 0.0
    return CompactGeoJson(
        geojson_features(nature, properties),
        name=translate("map.layer.natura2000", language),
        style_function=lambda feature: {
            "color": NATURA2000_COLOR,
            "weight": 2,
            "dashArray": "6 4",
            "fillOpacity": opacity,
            "fillColor": fills[int(feature["id"])],
        },
        tooltip=folium.GeoJsonTooltip(fields=list(properties), labels=False),
    )
