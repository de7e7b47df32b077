"""Folium maps of a build: a KPI choropleth per parcel with nature context.

The map has the parcels coloured by a KPI, the Natura 2000 sites as
outlines, the area boundary, the NH3 grid as an optional overlay, a layer
control, a metric scale bar and a legend with the unit and the class breaks.
The NH3 grid has a legend of its own that is shown only while the grid is
switched on. Geometries are
simplified in EPSG:28992 to the display scale, sent in EPSG:4326 with
coordinates rounded to 6 decimals (about 0.1 m), and each feature carries only
the properties its popup and tooltip show.

Every text in a popup, tooltip or the legend is escaped with ``html.escape``
in Python, because Leaflet inserts it as HTML and the texts come from data
files (crop names, site names) as well as from the message catalogue.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from branca.colormap import linear
from folium.plugins import Draw
from folium.template import Template
from rasterio.windows import Window, from_bounds

from geo_dashboard.catalog import load_catalog
from geo_dashboard.config import load_area_config
from geo_dashboard.errors import LayerError
from geo_dashboard.i18n import (
    format_number,
    format_value,
    has_message,
    translate,
    translate_unit,
    translate_value,
)
from geo_dashboard.kpis import KpiDefinition, load_kpi_library, row_values
from geo_dashboard.output import BuildOutput
from geo_dashboard.overview import split_roles
from geo_dashboard.paths import ProjectPaths

logger = logging.getLogger(__name__)

DISPLAY_CRS = "EPSG:4326"
# Simplification tolerance in metres (RD New); below one screen pixel at the
# zoom levels that show a whole area.
DISPLAY_TOLERANCE_M = 1.5
# 1e-5 degree is about 1.1 m north-south and 0.7 m east-west at 52 degrees
# north, below the simplification tolerance.
COORDINATE_DECIMALS = 5
# Property keys of a parcel's crop name and map value in the map payload.
CROP_KEY = "c"
VALUE_KEY = "v"
MAX_CLASSES = 5
# Values with a skewness above this are classed by quantiles, others by
# equal intervals.
SKEW_LIMIT = 1.0
NO_VALUE_COLOR = "#d9d9d9"
# Paul Tol's "muted" qualitative scheme, distinguishable with colour-blindness.
CATEGORY_COLORS = tuple(
    "#CC6677 #332288 #DDCC77 #117733 #88CCEE #882255 #44AA99 #999933 #AA4499".split()
)
OTHER_CATEGORY_COLOR = "#DDDDDD"
NATURA2000_COLOR = "#117733"
BOUNDARY_COLOR = "#CC3311"
# Grey BRT Achtergrondkaart of the Kadaster, served by PDOK without an API key.
BASEMAP_URL = (
    "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/grijs/EPSG:3857/"
    "{z}/{x}/{y}.png"
)
BASEMAP_ATTRIBUTION = "Kaartgegevens &copy; Kadaster (BRT Achtergrondkaart, CC BY 4.0)"
NH3_UNIT = "µg/m³"
# Background of a map whose base-map tiles cannot be loaded.
PLAIN_BACKGROUND = "#f4f3ee"
# Tiles that may fail in a row, after some have loaded, before the base map
# is given up. A failure before any tile has loaded gives it up at once.
BASEMAP_MAX_FAILURES = 6
# Leaflet's dist files, the same version that folium loads from its CDN. The
# app serves this folder through Streamlit's static file serving.
LEAFLET_VERSION = "1.9.3"
LEAFLET_DIR = Path(__file__).parent / "app" / "static" / f"leaflet-{LEAFLET_VERSION}"
# The version folium's Draw plugin loads; the app serves this copy.
LEAFLET_DRAW_VERSION = "1.0.2"
LEAFLET_DRAW_DIR = (
    Path(__file__).parent / "app" / "static" / f"leaflet.draw-{LEAFLET_DRAW_VERSION}"
)

MapMode = Literal["parcels", "nature", "category", "gap"]


@dataclass(frozen=True)
class Classification:
    """Classes of a numeric map value and their colours.

    ``breaks`` are the class edges (one more than the colours) for the
    methods ``quantiles`` and ``equal_interval``, and the values themselves
    for ``unique``, used when there are no more values than classes.
    """

    method: Literal["quantiles", "equal_interval", "unique"]
    breaks: tuple[float, ...]
    colors: tuple[str, ...]

    def classify(self, values: pd.Series) -> np.ndarray:
        """Return the class index of each value, -1 where it is missing."""
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        valid = np.isfinite(numbers)
        if not self.colors:
            return np.full(len(numbers), -1)
        if self.method == "unique":
            index = np.searchsorted(np.asarray(self.breaks), numbers)
        else:
            index = np.searchsorted(np.asarray(self.breaks[1:-1]), numbers, "left")
        index = np.clip(index, 0, len(self.colors) - 1)
        return np.where(valid, index, -1)

    def labels(self, unit: str, language: str) -> list[str]:
        """Return the legend label of each class, e.g. ``"3,84 – 4,50 µg/m³"``."""
        if self.method == "unique":
            return [format_value(value, unit, language) for value in self.breaks]
        labels = []
        for lower, upper in zip(self.breaks[:-1], self.breaks[1:], strict=True):
            low = format_number(lower, language, _decimals(self.breaks))
            labels.append(
                f"{low} – {format_value(upper, unit, language, _decimals(self.breaks))}"
            )
        return labels


@dataclass
class KpiMap:
    """A map built for one KPI, with what it shows and why."""

    map: folium.Map
    mode: MapMode
    unit: str
    classification: Classification | None
    note: str | None


def _decimals(breaks: tuple[float, ...]) -> int:
    span = max(breaks) - min(breaks) if breaks else 0.0
    if span >= 100:
        return 0
    return 1 if span >= 10 else 2


def sequential_colors(count: int) -> tuple[str, ...]:
    """Return ``count`` colours spread over the viridis colormap."""
    colormap = linear.viridis.scale(0, 1)
    if count == 1:
        return (colormap.rgb_hex_str(0.5),)
    return tuple(colormap.rgb_hex_str(i / (count - 1)) for i in range(count))


def classify_values(
    values: pd.Series, max_classes: int = MAX_CLASSES
) -> Classification:
    """Choose classes for a map value: quantiles for skewed data.

    Parameters
    ----------
    values
        One value per feature; NaN means no value and gets no class.
    max_classes
        Largest number of classes.

    Returns
    -------
    Classification
        ``unique`` when there are at most ``max_classes`` distinct values,
        ``quantiles`` when the skewness exceeds :data:`SKEW_LIMIT`, and
        ``equal_interval`` otherwise or when quantiles collapse into one class.
    """
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    valid = numbers[np.isfinite(numbers)]
    if valid.empty:
        return Classification("unique", (), ())

    # Rounding first keeps float noise (100 and 100.00000000000001) in one class.
    distinct = np.unique(np.round(valid.to_numpy(), 9))
    if len(distinct) <= max_classes:
        breaks = tuple(float(value) for value in distinct)
        return Classification("unique", breaks, sequential_colors(len(breaks)))

    skew = float(valid.skew())
    method: Literal["quantiles", "equal_interval"] = "equal_interval"
    edges = np.linspace(valid.min(), valid.max(), max_classes + 1)
    if abs(skew) > SKEW_LIMIT:
        quantiles = np.unique(np.quantile(valid, np.linspace(0, 1, max_classes + 1)))
        if len(quantiles) >= 3:
            method, edges = "quantiles", quantiles
    breaks = tuple(float(edge) for edge in edges)
    logger.debug("classified %d values by %s (skewness %.2f)", len(valid), method, skew)
    return Classification(method, breaks, sequential_colors(len(breaks) - 1))


def to_display(
    frame: gpd.GeoDataFrame, tolerance_m: float = DISPLAY_TOLERANCE_M
) -> gpd.GeoDataFrame:
    """Simplify a table in EPSG:28992 and return it in EPSG:4326, rounded.

    Parameters
    ----------
    frame
        Table with polygon geometries in a projected CRS in metres.
    tolerance_m
        Simplification tolerance in metres.

    Returns
    -------
    GeoDataFrame
        The same rows and index (empty geometries dropped), in EPSG:4326 with
        coordinates rounded to :data:`COORDINATE_DECIMALS` decimals.
    """
    geometry = frame.geometry.to_crs(28992).simplify(
        tolerance_m, preserve_topology=True
    )
    geometry = geometry.to_crs(DISPLAY_CRS)
    rounded = shapely.transform(
        geometry.to_numpy(), lambda xy: np.round(xy, COORDINATE_DECIMALS)
    )
    result = gpd.GeoDataFrame(
        frame.drop(columns=frame.geometry.name),
        geometry=gpd.GeoSeries(rounded, index=frame.index, crs=DISPLAY_CRS),
    )
    empty = result.geometry.is_empty | result.geometry.isna()
    if empty.any():
        logger.warning(
            "dropped %d geometries that were empty after simplifying", int(empty.sum())
        )
    return result[~empty]


def layer_path(paths: ProjectPaths, area_id: str, role: str) -> Path | None:
    """Return the file of the layer that plays ``role`` in the area, if any."""
    catalog = load_catalog(paths.layers)
    config = load_area_config(paths.configs, area_id, catalog, load_kpi_library())
    ref = config.layer_ref(role)
    return None if ref is None else catalog.path(catalog.layer(ref.layer))


def read_grid_cells(
    path: Path, bounds: tuple[float, float, float, float], margin_m: float = 1000.0
) -> gpd.GeoDataFrame:
    """Read the cells of a single-band raster around ``bounds`` as polygons.

    Parameters
    ----------
    path
        Raster in a projected CRS, north up, e.g. the NH3 grid in EPSG:28992.
    bounds
        (minx, miny, maxx, maxy) in the raster's CRS.
    margin_m
        Extra distance around ``bounds`` to include, in CRS units.

    Returns
    -------
    GeoDataFrame
        One square per cell with data, column ``value``; nodata cells are left out.

    Raises
    ------
    LayerError
        If the raster is rotated.
    """
    minx, miny, maxx, maxy = bounds
    area = (minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)
    with rasterio.open(path) as source:
        transform = source.transform
        if transform.b != 0 or transform.d != 0:
            raise LayerError(
                f"raster {path} is rotated; only north-up grids can be drawn"
            )
        window = from_bounds(*area, transform).round_offsets().round_lengths()
        full = Window(0, 0, source.width, source.height)
        try:
            window = window.intersection(full)
        except rasterio.errors.WindowError:
            return gpd.GeoDataFrame({"value": []}, geometry=[], crs=source.crs)
        data = source.read(1, window=window, masked=True)
        window_transform = source.window_transform(window)
        crs = source.crs

    rows, cols = np.nonzero(~np.ma.getmaskarray(data))
    x0 = window_transform.c + cols * window_transform.a
    y0 = window_transform.f + rows * window_transform.e
    x1 = x0 + window_transform.a
    y1 = y0 + window_transform.e
    cells = shapely.box(
        np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)
    )
    values = np.asarray(data[rows, cols], dtype="float64")
    return gpd.GeoDataFrame({"value": values}, geometry=cells, crs=crs)


class Legend(folium.MacroElement):
    """A Leaflet control that shows prepared, escaped legend HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", {{ this.css_class | tojson }});
            div.innerHTML = {{ this.html | tojson }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self, legend_html: str, css_class: str = "geo-dashboard-legend"
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = legend_html
        self.css_class = css_class


class LayerLegend(folium.MacroElement):
    """A legend control that is on the map only while its layer is.

    Leaflet fires ``add`` and ``remove`` on a layer whenever it is put on
    or taken off the map, by the layer control or by code, so the legend
    follows the layer control's checkbox. Add this element to the map after
    the layer.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var layer = {{ this.layer.get_name() }};
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class | tojson }});
                div.innerHTML = {{ this.html | tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            layer.on("add", function () { legend.addTo(map); });
            layer.on("remove", function () { legend.remove(); });
            if (map.hasLayer(layer)) {
                legend.addTo(map);
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        layer: folium.Layer,
        legend_html: str,
        css_class: str = "geo-dashboard-layer-legend",
    ) -> None:
        super().__init__()
        self._name = "LayerLegend"
        self.layer = layer
        self.html = legend_html
        self.css_class = css_class


class MetricScale(folium.MacroElement):
    """A scale bar in metres and kilometres only, without feet and miles."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def use_leaflet_from(folium_map: folium.Map, base_url: str) -> folium.Map:
    """Point a map's Leaflet script and stylesheet at ``base_url`` instead of the CDN.

    ``base_url`` is a folder with ``leaflet.js``, ``leaflet.css`` and
    ``images/``: the app's static URL of :data:`LEAFLET_DIR`, or
    ``LEAFLET_DIR.as_uri()`` for a standalone HTML file. Only the entries
    named ``leaflet`` and ``leaflet_css`` change, so plugins such as
    :class:`folium.plugins.Draw` keep their own URLs. Returns the same map.
    """
    base = base_url.rstrip("/")
    folium_map.default_js = [
        (name, f"{base}/leaflet.js" if name == "leaflet" else url)
        for name, url in folium_map.default_js
    ]
    folium_map.default_css = [
        (name, f"{base}/leaflet.css" if name == "leaflet_css" else url)
        for name, url in folium_map.default_css
    ]
    return folium_map


def use_leaflet_draw_from(folium_map: folium.Map, base_url: str) -> folium.Map:
    """Point every Draw plugin on the map at ``base_url`` instead of the CDN.

    ``base_url`` is a folder with ``leaflet.draw.js``, ``leaflet.draw.css`` and
    ``images/``, such as the app's static URL of :data:`LEAFLET_DRAW_DIR`.
    Returns the same map.
    """
    base = base_url.rstrip("/")
    local = {
        "leaflet_draw_js": f"{base}/leaflet.draw.js",
        "leaflet_draw_css": f"{base}/leaflet.draw.css",
    }
    pending = list(folium_map._children.values())
    while pending:
        element = pending.pop()
        pending.extend(element._children.values())
        if not isinstance(element, Draw):
            continue
        element.default_js = [
            (name, local.get(name, url)) for name, url in element.default_js
        ]
        element.default_css = [
            (name, local.get(name, url)) for name, url in element.default_css
        ]
    return folium_map


def new_map(**options: Any) -> folium.Map:
    """Return an empty folium map with a metric scale bar and Leaflet assets only.

    ``options`` go to :class:`folium.Map`; ``tiles`` is None, because
    :func:`add_basemap` adds the base map. Leaflet is all these maps use, so
    folium's jQuery, Bootstrap and icon fonts are left out, which the
    browser would otherwise load for every map. Plugins such as
    :class:`folium.plugins.Draw` still bring their own scripts.
    """
    folium_map = folium.Map(tiles=None, control_scale=False, **options)
    folium_map.default_js = [js for js in folium.Map.default_js if js[0] == "leaflet"]
    folium_map.default_css = [
        css for css in folium.Map.default_css if css[0] == "leaflet_css"
    ]
    MetricScale().add_to(folium_map)
    return folium_map


class BasemapFallback(folium.MacroElement):
    """Swap a failing tile layer for a plain background and a notice.

    Leaflet fires ``tileerror`` for every tile that cannot be loaded. The
    script gives the base map up when a tile fails before any tile has
    loaded (the server is unreachable), or when ``max_failures`` tiles fail
    in a row. It then removes the tile layer, colours the map background
    plain and adds a notice control. The data layers are not touched. The
    notice is set with ``textContent``, so its text is never parsed as HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var tiles = {{ this.tiles.get_name() }};
            var loaded = 0;
            var failedInRow = 0;
            var switched = false;
            tiles.on("tileload", function () {
                loaded += 1;
                failedInRow = 0;
            });
            tiles.on("tileerror", function () {
                failedInRow += 1;
                if (switched) {
                    return;
                }
                if (loaded > 0 && failedInRow < {{ this.max_failures }}) {
                    return;
                }
                switched = true;
                map.removeLayer(tiles);
                map.getContainer().style.background = {{ this.background | tojson }};
                var notice = L.control({position: "topleft"});
                notice.onAdd = function () {
                    var div = L.DomUtil.create("div", "geo-dashboard-basemap-notice");
                    div.setAttribute("role", "status");
                    div.style.cssText = {{ this.style | tojson }};
                    div.textContent = {{ this.text | tojson }};
                    return div;
                };
                notice.addTo(map);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        tiles: folium.TileLayer,
        text: str,
        background: str = PLAIN_BACKGROUND,
        max_failures: int = BASEMAP_MAX_FAILURES,
    ) -> None:
        super().__init__()
        self._name = "BasemapFallback"
        self.tiles = tiles
        self.text = text
        self.background = background
        self.max_failures = int(max_failures)
        self.style = (
            "background:#fff;padding:4px 8px;border-radius:4px;"
            "box-shadow:0 0 4px rgba(0,0,0,.4);font:12px/1.4 sans-serif;"
            "max-width:220px"
        )


def add_basemap(folium_map: folium.Map, name: str, language: str) -> folium.TileLayer:
    """Add the grey BRT base map, which falls back to a plain background offline.

    Parameters
    ----------
    folium_map
        The map to add the tile layer to.
    name
        Name of the base map in the layer control.
    language
        ``"nl"`` or ``"en"`` for the notice shown when the tiles fail.

    Returns
    -------
    folium.TileLayer
        The tile layer; a :class:`BasemapFallback` watches it.
    """
    tiles = folium.TileLayer(
        BASEMAP_URL, attr=BASEMAP_ATTRIBUTION, name=name, max_zoom=19
    )
    tiles.add_to(folium_map)
    notice = translate("map.basemap_unavailable", language)
    BasemapFallback(tiles, notice).add_to(folium_map)
    return tiles


class CompactGeoJson(folium.GeoJson):
    """GeoJSON layer whose embedded data is written without spaces after , and :.

    folium writes the data with Jinja's ``tojson``, which puts a space after
    every separator. That is about a tenth of a parcel layer's payload.
    """

    def render(self, **kwargs: Any) -> None:
        policies = self._template.environment.policies
        saved = policies["json.dumps_kwargs"]
        policies["json.dumps_kwargs"] = {**saved, "separators": (",", ":")}
        try:
            super().render(**kwargs)
        finally:
            # NOTE: the Jinja environment is shared, so a map rendered in
            # another thread meanwhile may also come out compact. Its JSON
            # means the same either way.
            policies["json.dumps_kwargs"] = saved


def _swatch(color: str, label: str, line: str | None = None) -> str:
    """Return one legend row: a filled box, or a line of style ``line``."""
    if line is None:
        symbol = f"background:{color};height:12px;border:1px solid #555"
    else:
        symbol = f"border-top:3px {line} {color};height:0;margin-top:7px"
    return (
        '<div style="display:flex;gap:6px;align-items:flex-start">'
        f'<span style="flex:0 0 18px;{symbol}"></span>'
        f"<span>{html.escape(label)}</span></div>"
    )


_LEGEND_STYLE = (
    "background:#fff;padding:6px 8px;border-radius:4px;"
    "box-shadow:0 0 4px rgba(0,0,0,.4);font:12px/1.4 sans-serif;max-width:260px"
)


def legend_box(title: str, rows: list[tuple[str, str]]) -> str:
    """Build the HTML of a small legend: a title and a row per colour, escaped."""
    parts = [f'<div style="{_LEGEND_STYLE}">', f"<b>{html.escape(title)}</b>"]
    parts += [_swatch(color, label) for color, label in rows]
    parts.append("</div>")
    return "".join(parts)


def legend_html(
    title: str,
    rows: list[tuple[str, str]],
    note: str | None,
    language: str,
) -> str:
    """Build the legend's HTML; every text in it is escaped."""
    parts = [f'<div style="{_LEGEND_STYLE}">', f"<b>{html.escape(title)}</b>"]
    if note:
        parts.append(f'<div style="color:#555">{html.escape(note)}</div>')
    parts += [_swatch(color, label) for color, label in rows]
    natura2000 = translate("map.layer.natura2000", language)
    parts.append(_swatch(NATURA2000_COLOR, natura2000, line="dashed"))
    boundary = translate("map.layer.boundary", language)
    parts.append(_swatch(BOUNDARY_COLOR, boundary, line="solid"))
    parts.append("</div>")
    return "".join(parts)


def escaped_text(values: pd.Series) -> pd.Series:
    """Return the values as HTML-escaped text, with missing values as ""."""
    text = values.astype("object").where(values.notna(), "").astype(str)
    return text.map(html.escape)


def geojson_features(
    frame: gpd.GeoDataFrame, properties: dict[str, pd.Series]
) -> dict[str, Any]:
    """Return ``frame`` as GeoJSON; feature ids are row positions ("0", "1", ...)."""
    columns = {name: values.reindex(frame.index) for name, values in properties.items()}
    table = gpd.GeoDataFrame(columns, geometry=frame.geometry).reset_index(drop=True)
    return table.to_geo_dict(drop_id=False)


def class_colors(classification: Classification, values: pd.Series) -> np.ndarray:
    """Return the class colour per value, ``NO_VALUE_COLOR`` where it is missing."""
    palette = np.asarray((*classification.colors, NO_VALUE_COLOR))
    return palette[classification.classify(values)]


def _styler(fills: list[str], **style: object) -> Callable[[dict], dict]:
    """Return a folium style function: ``style`` plus the fill of each feature.

    The features are those of :func:`_features`, whose ids are row positions.
    """
    return lambda feature: {**style, "fillColor": fills[int(feature["id"])]}


def _with_unit(label: str, unit: str, language: str) -> str:
    if not unit or unit == "index":
        return label
    return f"{label} ({translate_unit(unit, language)})"


def _kpi_values(
    output: BuildOutput, kpi: KpiDefinition, language: str
) -> tuple[MapMode, pd.Series | None, str | None]:
    """Return the map mode, the value per feature and a note for the KPI."""
    name = kpi.name.get(language)
    rows = output.kpis[output.kpis["kpi_id"] == kpi.id]
    if not rows.empty and rows.iloc[0]["status"] == "gap":
        roles = split_roles(rows.iloc[0]["missing_layers"])
        labels = [translate_value("role", role, language) for role in roles]
        note = translate("map.note.gap", language, name=name, roles=", ".join(labels))
        return "gap", None, note

    table = output.nature if kpi.table == "nature" else output.parcels
    values = row_values(kpi, table)
    if values is None:
        return "category", None, translate("map.note.category", language, name=name)
    if kpi.table == "nature":
        return "nature", values, translate("map.note.nature", language, name=name)
    return "parcels", values, None


def _category_colors(
    parcels: gpd.GeoDataFrame, column: str, language: str
) -> tuple[pd.Series, list[tuple[str, str]]]:
    """Colour parcels by category; the categories largest by area get a colour."""
    if column not in parcels:
        return pd.Series(NO_VALUE_COLOR, index=parcels.index), []
    area = parcels.groupby(column, dropna=True)["area_ha"].sum()
    groups = [g for g in area.sort_values(ascending=False).index if g != "unknown"]
    if len(groups) > len(CATEGORY_COLORS):
        groups = groups[: len(CATEGORY_COLORS) - 1]
    palette = dict(zip(groups, CATEGORY_COLORS, strict=False))
    colors = parcels[column].map(palette).fillna(OTHER_CATEGORY_COLOR)
    rows = [(palette[g], translate_value(column, g, language)) for g in groups]
    if len(groups) < len(area):
        other = translate("map.legend.other_groups", language)
        rows.append((OTHER_CATEGORY_COLOR, other))
    return colors, rows


def _parcel_properties(
    source: pd.DataFrame, language: str
) -> tuple[dict[str, pd.Series], list[str]]:
    """Return the escaped popup texts of the parcels and their labels."""
    # Short property keys: they repeat in every feature of the payload.
    fields = (
        ("id", "parcel_id", "map.popup.parcel", str),
        (CROP_KEY, "crop_name", "map.popup.crop", str),
        ("u", "land_use", "map.popup.land_use", "land_use"),
        ("a", "area_ha", "map.popup.area", "ha"),
    )
    properties: dict[str, pd.Series] = {}
    aliases: list[str] = []
    for key, column, label_key, kind in fields:
        if column not in source:
            continue
        values = source[column]
        label = translate(label_key, language)
        if kind == "land_use":
            values = values.map(lambda v: translate_value("land_use", v, language))
        elif kind == "ha":
            # The unit is in the label, so each parcel sends only its number.
            values = values.map(lambda v: format_number(v, language))
            label = _with_unit(label, "ha", language)
        properties[key] = escaped_text(values)
        aliases.append(label)
    return properties, aliases


def _parcel_layer(
    output: BuildOutput,
    parcels: gpd.GeoDataFrame,
    colors: pd.Series,
    kpi: KpiDefinition,
    mode: MapMode,
    values: pd.Series | None,
    language: str,
) -> folium.GeoJson:
    source = output.parcels.reindex(parcels.index)
    properties, aliases = _parcel_properties(source, language)
    if mode == "parcels" and values is not None:
        parcel_values = values.reindex(parcels.index)
        numbers = parcel_values.map(lambda v: format_number(v, language))
        properties[VALUE_KEY] = escaped_text(numbers)
        key = f"map.column.{kpi.map_column}"
        label = translate(key, language) if has_message(key) else kpi.name.get(language)
        aliases.append(_with_unit(label, kpi.map_unit or kpi.unit, language))
    elif mode == "category" and "crop_group" in source:
        groups = source["crop_group"]
        groups = groups.map(lambda v: translate_value("crop_group", v, language))
        properties[VALUE_KEY] = escaped_text(groups)
        aliases.append(translate("map.popup.crop_group", language))

    fill = list(colors.reindex(parcels.index).fillna(NO_VALUE_COLOR))
    opacity = 0.75 if mode in ("parcels", "category") else 0.3
    layer = CompactGeoJson(
        geojson_features(parcels, properties),
        name=translate("map.layer.parcels", language, name=kpi.name.get(language)),
        style_function=_styler(fill, color="#444444", weight=0.4, fillOpacity=opacity),
        highlight_function=lambda feature: {"weight": 2, "color": "#000000"},
    )
    if properties:
        tooltip_field = CROP_KEY if CROP_KEY in properties else next(iter(properties))
        folium.GeoJsonTooltip(fields=[tooltip_field], labels=False).add_to(layer)
        folium.GeoJsonPopup(
            fields=list(properties),
            aliases=[html.escape(alias) for alias in aliases],
            max_width=320,
        ).add_to(layer)
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
    fill = ["none"] * len(nature)
    if values is not None and classification is not None:
        site_values = values.reindex(nature.index)
        fill = list(class_colors(classification, site_values))
        texts = site_values.map(lambda v: format_value(v, unit, language))
        properties["value"] = escaped_text(texts)
    opacity = 0.0 if values is None else 0.6
    return CompactGeoJson(
        geojson_features(nature, properties),
        name=translate("map.layer.natura2000", language),
        style_function=_styler(
            fill, color=NATURA2000_COLOR, weight=2, dashArray="6 4", fillOpacity=opacity
        ),
        tooltip=folium.GeoJsonTooltip(fields=list(properties), labels=False),
    )


def _nh3_layer(
    cells: gpd.GeoDataFrame, language: str
) -> tuple[folium.GeoJson, list[tuple[str, str]]]:
    cells_4326 = to_display(cells, tolerance_m=0.0)
    classification = classify_values(cells_4326["value"])
    fill = list(class_colors(classification, cells_4326["value"]))
    labels = cells_4326["value"].map(lambda v: format_value(v, NH3_UNIT, language))
    layer = CompactGeoJson(
        geojson_features(cells_4326, {"nh3": escaped_text(labels)}),
        name=translate("map.layer.nh3", language),
        show=False,
        style_function=_styler(fill, color="#ffffff", weight=0.3, fillOpacity=0.45),
        tooltip=folium.GeoJsonTooltip(fields=["nh3"], labels=False),
    )
    classes = classification.labels(NH3_UNIT, language)
    return layer, list(zip(classification.colors, classes, strict=True))


def display_layers(output: BuildOutput) -> dict[str, gpd.GeoDataFrame]:
    """Return the parcel, nature and boundary geometries ready to draw.

    The tables keep only the geometry (and the site name of Natura 2000
    sites), in EPSG:4326, simplified and rounded by :func:`to_display`.
    """
    nature_columns = [column for column in ("site",) if column in output.nature]
    return {
        "parcels": to_display(output.parcels[[output.parcels.geometry.name]]),
        "nature": to_display(
            output.nature[[*nature_columns, output.nature.geometry.name]]
        ),
        "boundary": to_display(output.boundary[[output.boundary.geometry.name]]),
    }


def build_map(
    output: BuildOutput,
    kpi: KpiDefinition,
    language: str = "nl",
    *,
    display: dict[str, gpd.GeoDataFrame] | None = None,
    nh3_cells: gpd.GeoDataFrame | None = None,
    center: tuple[float, float] | None = None,
    zoom: int | None = None,
    basemap: bool = True,
) -> KpiMap:
    """Build the folium map of one KPI for a build.

    Parameters
    ----------
    output
        The build: parcel, nature and boundary tables in EPSG:28992 and the
        KPI table, whose ``status`` marks the KPIs that are data gaps.
    kpi
        The KPI that colours the parcels, or the Natura 2000 sites for a KPI
        computed on the nature table.
    language
        ``"nl"`` or ``"en"`` for all texts.
    display
        Output of :func:`display_layers` for this build, to reuse between maps.
    nh3_cells
        NH3 grid cells from :func:`read_grid_cells` (``value`` in µg/m³),
        drawn as an overlay that starts switched off. None leaves it out.
    center, zoom
        Stored view as (lat, lon) and zoom level. Unless both are given, the
        map fits the area boundary.
    basemap
        Whether to show the grey BRT base map of the Kadaster (PDOK tiles).
        When its tiles cannot be loaded, the browser shows the layers on a
        plain background with a notice (see :class:`BasemapFallback`).

    Returns
    -------
    KpiMap
        The map; its mode (``parcels``, ``nature``, ``category`` for a KPI
        without per-parcel values, ``gap`` for a KPI without data); the unit
        and classes of the colours; and a note to show beside the map.
    """
    display = display or display_layers(output)
    name = kpi.name.get(language)
    mode, values, note = _kpi_values(output, kpi, language)
    unit = translate_unit(kpi.map_unit or kpi.unit, language)
    classification = None if values is None else classify_values(values)

    # Parcel colours and the legend rows that explain them.
    legend_rows: list[tuple[str, str]] = []
    parcel_colors = pd.Series(NO_VALUE_COLOR, index=output.parcels.index)
    if mode == "category":
        parcel_colors, legend_rows = _category_colors(
            output.parcels, "crop_group", language
        )
    elif values is not None and classification is not None:
        labels = classification.labels(kpi.map_unit or kpi.unit, language)
        legend_rows = list(zip(classification.colors, labels, strict=True))
        if values.isna().any():
            no_value = translate("map.legend.no_value", language)
            legend_rows.append((NO_VALUE_COLOR, no_value))
        if mode == "parcels":
            colors = class_colors(classification, values)
            parcel_colors = pd.Series(colors, index=values.index)

    view = center is not None and zoom is not None
    folium_map = new_map(
        location=list(center) if view else None,
        zoom_start=zoom if view else 13,
    )
    if basemap:
        add_basemap(folium_map, translate("map.layer.basemap", language), language)

    # Layers from bottom to top: parcels, Natura 2000, boundary, NH3 grid.
    if not display["parcels"].empty:
        layer = _parcel_layer(
            output, display["parcels"], parcel_colors, kpi, mode, values, language
        )
        layer.add_to(folium_map)
    if not display["nature"].empty:
        nature_values = values if mode == "nature" else None
        layer = _nature_layer(
            display["nature"], nature_values, classification, kpi.unit, language
        )
        layer.add_to(folium_map)
    CompactGeoJson(
        geojson_features(display["boundary"], {}),
        name=translate("map.layer.boundary", language),
        style_function=lambda feature: {
            "color": BOUNDARY_COLOR,
            "weight": 3,
            "fill": False,
        },
    ).add_to(folium_map)
    nh3_layer = None
    if nh3_cells is not None and not nh3_cells.empty:
        nh3_layer, nh3_rows = _nh3_layer(nh3_cells, language)
        nh3_layer.add_to(folium_map)

    folium.LayerControl(collapsed=True).add_to(folium_map)
    # A KPI mapped through one parcel column (e.g. the distance to Natura
    # 2000) is titled after that column, so the legend names what is coloured.
    column_key = f"map.column.{kpi.map_column}"
    if kpi.map_column and has_message(column_key):
        name = translate(column_key, language)
    title = f"{name} ({unit})" if values is not None and unit else name
    Legend(legend_html(title, legend_rows, note, language)).add_to(folium_map)
    if nh3_layer is not None:
        # The NH3 grid starts switched off, so its legend is shown only while
        # the layer control has it on.
        nh3_title = translate("map.layer.nh3", language)
        LayerLegend(nh3_layer, legend_box(nh3_title, nh3_rows)).add_to(folium_map)

    if not view:
        minx, miny, maxx, maxy = display["boundary"].total_bounds
        folium_map.fit_bounds([[miny, minx], [maxy, maxx]])
    return KpiMap(folium_map, mode, unit, classification, note)


def map_payload_bytes(kpi_map: KpiMap) -> int:
    """Return the size in bytes of the map rendered as a standalone HTML page."""
    return len(kpi_map.map.get_root().render().encode("utf-8"))
