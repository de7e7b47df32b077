"""Folium map of a scenario: per-parcel KPI difference (scenario minus current).

Parcels where the KPI improves are green and parcels where it gets worse are
red, each in three classes of size. Parcels with a measure but no change in
this KPI are grey. Geometry comes from :func:`geo_dashboard.maps.to_display` (or the
app's cached display layers), so the payload stays small. Every text in a
tooltip or the legend is escaped, because Leaflet renders it as HTML.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo_dashboard.i18n import format_value, translate_unit
from geo_dashboard.maps import (
    Legend,
    to_display,
)
from geo_dashboard.measures.engine import NO_MEASURE, ScenarioEngine, ScenarioResult
from geo_dashboard.measures.parcel_map import parcel_map
from geo_dashboard.measures.texts import scenario_text
from geo_dashboard.output import BuildOutput

BETTER_COLORS = ("#c7e9c0", "#74c476", "#238b45")
WORSE_COLORS = ("#fcbba1", "#fb6a4a", "#cb181d")
UNCHANGED_COLOR = "#bdbdbd"
NO_MEASURE_COLOR = "#f0f0f0"


def difference_colors(diff: pd.Series, direction: str) -> tuple[np.ndarray, float]:
    """Return a colour per parcel and the largest absolute difference.

    Classes split the range 0 - max |difference| in thirds, separately for
    improvements and deteriorations in the KPI's ``direction``.
    """
    values = diff.to_numpy(dtype="float64", na_value=np.nan)
    gain = values if direction == "higher" else -values
    largest = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
    colors = np.full(len(values), NO_MEASURE_COLOR, dtype=object)
    if largest > 0:
        size = np.clip(
            np.ceil(np.abs(values) / largest * 3).astype("float64") - 1, 0, 2
        )
        index = np.nan_to_num(size).astype(int)
        better = np.isfinite(gain) & (gain > 0)
        worse = np.isfinite(gain) & (gain < 0)
        colors[better] = np.asarray(BETTER_COLORS, dtype=object)[index[better]]
        colors[worse] = np.asarray(WORSE_COLORS, dtype=object)[index[worse]]
    return colors, largest


def difference_map(
    output: BuildOutput,
    engine: ScenarioEngine,
    result: ScenarioResult,
    kpi_id: str,
    language: str = "nl",
    *,
    display: dict[str, gpd.GeoDataFrame] | None = None,
    basemap: bool = True,
) -> folium.Map:
    """Build the difference map of one KPI for a scenario result.

    Parameters
    ----------
    output
        The build the engine was made from (parcels in EPSG:28992).
    engine, result
        The scenario engine and the result of ``engine.evaluate``.
    kpi_id
        A computed KPI or indicator with per-parcel values (not ``shannon``).
    language
        ``"nl"`` or ``"en"``.
    display
        The app's simplified layers in EPSG:4326 (``parcels`` and
        ``boundary``); computed from ``output`` when None.
    basemap
        Whether to show the grey BRT base map of the Kadaster, as the KPI map
        does, with the same plain background when its tiles cannot be loaded.
    """
    definition = engine.kpi(kpi_id).definition
    if kpi_id not in result.parcel_diff:
        raise ValueError(
            f"KPI {kpi_id!r} has no per-parcel value (aggregation "
            f"{definition.aggregation!r} or not computed); choose another KPI"
        )
    if display is None:
        display = {
            "parcels": to_display(output.parcels[[output.parcels.geometry.name]]),
            "boundary": to_display(output.boundary[[output.boundary.geometry.name]]),
        }
    diff = pd.Series(result.parcel_diff[kpi_id].to_numpy(), index=output.parcels.index)
    measures = pd.Series(
        result.parcel_diff["measure_id"].to_numpy(), index=output.parcels.index
    )
    colors, largest = difference_colors(diff, definition.direction)
    colors = pd.Series(colors, index=output.parcels.index)
    colors[(measures != NO_MEASURE) & (colors == NO_MEASURE_COLOR)] = UNCHANGED_COLOR

    parcels = display["parcels"]
    unit = definition.map_unit if definition.map_column else definition.unit
    if definition.aggregation == "share":
        unit = "%"
    names = {m.id: m.name.get(language) for m in engine.library.measures}
    none_text = scenario_text("scenarios.map.no_measure", language)
    labels = [
        html.escape(
            f"{names.get(m, none_text) if m else none_text}: "
            f"{format_value(d, unit or '', language)}"
        )
        for m, d in zip(
            measures.reindex(parcels.index), diff.reindex(parcels.index), strict=True
        )
    ]
    fill = colors.reindex(parcels.index).fillna(NO_MEASURE_COLOR).tolist()
    folium_map = parcel_map(
        parcels,
        labels,
        fill,
        layer_name=scenario_text("scenarios.map.layer", language),
        boundary=display["boundary"],
        language=language,
        basemap=basemap,
        fill_opacity=0.8,
    )
    folium.LayerControl(collapsed=True).add_to(folium_map)
    title = scenario_text(
        "scenarios.map.legend_title",
        language,
        name=definition.name.get(language),
        unit=translate_unit(unit or "", language),
    )
    Legend(_legend(title, largest, unit or "", language)).add_to(folium_map)
    minx, miny, maxx, maxy = display["boundary"].total_bounds
    folium_map.fit_bounds([[miny, minx], [maxy, maxx]])
    return folium_map


def _legend(title: str, largest: float, unit: str, language: str) -> str:
    largest_text = scenario_text(
        "scenarios.map.largest", language, value=format_value(largest, unit, language)
    )
    rows = [
        (BETTER_COLORS[2], scenario_text("scenarios.map.better", language)),
        (WORSE_COLORS[2], scenario_text("scenarios.map.worse", language)),
        (UNCHANGED_COLOR, scenario_text("scenarios.map.unchanged", language)),
        (NO_MEASURE_COLOR, scenario_text("scenarios.map.no_measure", language)),
    ]
    parts = [
        '<div style="background:#fff;padding:6px 8px;border-radius:4px;'
        'box-shadow:0 0 4px rgba(0,0,0,.4);font:12px/1.4 sans-serif;max-width:260px">',
        f"<b>{html.escape(title)}</b>",
        f'<div style="color:#555">{html.escape(largest_text)}</div>',
    ]
    for color, label in rows:
        parts.append(
            '<div style="display:flex;gap:6px"><span style="flex:0 0 18px;height:12px;'
            f'border:1px solid #555;background:{color}"></span>'
            f"<span>{html.escape(label)}</span></div>"
        )
    parts.append("</div>")
    return "".join(parts)
