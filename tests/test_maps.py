"""Folium maps of the real pilot build: layers, classes, legend, escaping, size."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from folium.plugins import Draw

from geo_dashboard import maps
from geo_dashboard.kpis import KpiLibrary, load_kpi_library
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths

HOSTILE = "<script>alert(1)</script>"
# Upper limit for the pilot's 1,698 parcels with the NH3 overlay; the
# rendered page is about 0.7 MB.
MAX_PAYLOAD_BYTES = 1_000_000


@pytest.fixture(scope="module")
def library() -> KpiLibrary:
    return load_kpi_library()


@pytest.fixture(scope="module")
def display(pilot_build: BuildOutput) -> dict[str, gpd.GeoDataFrame]:
    return maps.display_layers(pilot_build)


@pytest.fixture(scope="module")
def nh3_cells(pilot_paths: ProjectPaths, pilot_build: BuildOutput) -> gpd.GeoDataFrame:
    path = maps.layer_path(pilot_paths, pilot_build.area_id, "nh3_concentration")
    assert path is not None
    return maps.read_grid_cells(path, tuple(pilot_build.boundary.total_bounds))


def _geojson_layers(kpi_map: maps.KpiMap) -> dict[str, folium.GeoJson]:
    return {
        child.layer_name: child
        for child in kpi_map.map._children.values()
        if isinstance(child, folium.GeoJson)
    }


def _parcel_layer(kpi_map: maps.KpiMap) -> folium.GeoJson:
    layers = _geojson_layers(kpi_map)
    return next(layer for name, layer in layers.items() if name.startswith("Percelen"))


def _legend(kpi_map: maps.KpiMap) -> str:
    legends = [c for c in kpi_map.map._children.values() if isinstance(c, maps.Legend)]
    assert len(legends) == 1
    return legends[0].html


def _decimals(number: float) -> int:
    text = repr(number)
    return len(text.split(".")[1]) if "." in text else 0


# --- Classification -----------------------------------------------------------


def test_classify_skewed_uses_quantiles() -> None:
    values = pd.Series(np.concatenate([np.linspace(1, 2, 95), [20, 30, 40, 60, 90]]))
    classes = maps.classify_values(values)
    assert classes.method == "quantiles"
    assert len(classes.colors) == maps.MAX_CLASSES
    assert len(classes.breaks) == len(classes.colors) + 1
    assert classes.breaks[0] == 1
    assert classes.breaks[-1] == 90


def test_classify_symmetric_uses_equal_intervals() -> None:
    classes = maps.classify_values(pd.Series(np.linspace(0, 100, 101)))
    assert classes.method == "equal_interval"
    assert classes.breaks == pytest.approx((0, 20, 40, 60, 80, 100))


def test_classify_few_values_unique() -> None:
    values = pd.Series([0.0, 100.0, 100.00000000000001, np.nan, 0.0])
    classes = maps.classify_values(values)
    assert classes.method == "unique"
    assert classes.breaks == (0.0, 100.0)
    assert list(classes.classify(values)) == [0, 1, 1, -1, 0]


def test_classify_all_missing() -> None:
    classes = maps.classify_values(pd.Series([np.nan, np.nan]))
    assert classes.colors == ()
    assert list(classes.classify(pd.Series([np.nan, 1.0]))) == [-1, -1]


def test_classify_index_per_value() -> None:
    classes = maps.classify_values(pd.Series(np.linspace(0, 100, 101)))
    index = classes.classify(pd.Series([0.0, 20.0, 20.5, 99.0, 100.0, np.nan]))
    assert list(index) == [0, 0, 1, 4, 4, -1]


def test_class_labels_localised() -> None:
    classes = maps.Classification("equal_interval", (3.84, 4.5, 12.8), ("#000", "#fff"))
    assert classes.labels("µg/m³", "nl") == [
        "3,84 – 4,50\u00a0µg/m³",
        "4,50 – 12,80\u00a0µg/m³",
    ]
    assert classes.labels("µg/m³", "en")[0] == "3.84 – 4.50\u00a0µg/m³"


def test_sequential_colors_viridis() -> None:
    colors = maps.sequential_colors(5)
    assert len(set(colors)) == 5
    assert colors[0].lower().startswith("#44")
    assert maps.sequential_colors(1) == (maps.sequential_colors(3)[1],)


# --- Geometry for display -----------------------------------------------------


def test_to_display_simplifies_and_rounds(pilot_build: BuildOutput) -> None:
    parcels_4326 = maps.to_display(pilot_build.parcels[["geometry"]])
    assert parcels_4326.crs.to_epsg() == 4326
    assert list(parcels_4326.index) == list(pilot_build.parcels.index)
    before = shapely.get_num_coordinates(pilot_build.parcels.geometry.values).sum()
    after = shapely.get_num_coordinates(parcels_4326.geometry.values).sum()
    assert after < before / 2
    coordinates = shapely.get_coordinates(parcels_4326.geometry.values)
    assert np.array_equal(coordinates, np.round(coordinates, 6))
    minx, miny, maxx, maxy = parcels_4326.total_bounds
    assert 5.5 < minx < maxx < 6.0
    assert 52.5 < miny < maxy < 53.0


def test_display_layers_keep_needed_columns(
    display: dict[str, gpd.GeoDataFrame],
) -> None:
    assert list(display["parcels"].columns) == ["geometry"]
    assert list(display["nature"].columns) == ["site", "geometry"]
    assert list(display["boundary"].columns) == ["geometry"]


# --- NH3 grid -------------------------------------------------------------------


def test_layer_path_of_role(pilot_paths: ProjectPaths) -> None:
    path = maps.layer_path(pilot_paths, "noordoostpolder", "nh3_concentration")
    assert path is not None
    assert path.name == "nh3_concentratie_2023_1km.tif"
    assert path.is_file()
    assert maps.layer_path(pilot_paths, "noordoostpolder", "nnn") is None


def test_grid_cells_around_area(
    nh3_cells: gpd.GeoDataFrame, pilot_build: BuildOutput
) -> None:
    assert nh3_cells.crs.to_epsg() == 28992
    assert 40 <= len(nh3_cells) <= 120
    assert (nh3_cells["value"] > 0).all()
    assert (nh3_cells["value"] < 50).all()
    assert nh3_cells.geometry.area.round().eq(1_000_000).all()
    assert nh3_cells.union_all().covers(pilot_build.boundary.union_all())


def test_grid_cells_outside_raster_empty(pilot_paths: ProjectPaths) -> None:
    path = maps.layer_path(pilot_paths, "noordoostpolder", "nh3_concentration")
    assert path is not None
    cells = maps.read_grid_cells(path, (0.0, 300_000.0, 1_000.0, 301_000.0), 0.0)
    assert cells.empty


# --- Maps per KPI ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kpi_id", "mode"),
    [
        ("nh3_concentration_farmland", "parcels"),
        ("farmland_within_1km_natura2000", "parcels"),
        ("nitrate_risk_arable_share", "parcels"),
        ("crop_diversity_shannon", "category"),
        ("natura2000_nh3_above_3ug", "nature"),
        ("n_deposition_farmland", "gap"),
        ("farmland_in_nnn", "gap"),
    ],
)
def test_map_mode_per_kpi(
    pilot_build: BuildOutput,
    library: KpiLibrary,
    display: dict[str, gpd.GeoDataFrame],
    kpi_id: str,
    mode: str,
) -> None:
    kpi_map = maps.build_map(pilot_build, library.get(kpi_id), display=display)
    assert kpi_map.mode == mode
    assert kpi_map.map.get_root().render()


def test_every_pilot_kpi_maps(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    for kpi_id in pilot_build.kpis["kpi_id"]:
        for language in ("nl", "en"):
            kpi_map = maps.build_map(
                pilot_build, library.get(kpi_id), language, display=display
            )
            assert kpi_map.map.get_root().render(), kpi_id


def test_choropleth_legend_has_unit_and_breaks(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi = library.get("nh3_concentration_farmland")
    kpi_map = maps.build_map(pilot_build, kpi, display=display)
    classes = kpi_map.classification
    assert classes is not None
    assert classes.method == "quantiles"
    assert kpi_map.unit == "µg/m³"
    legend = _legend(kpi_map)
    assert "µg/m³" in legend
    for label in classes.labels(kpi.unit, "nl"):
        assert html.escape(label) in legend
    for color in classes.colors:
        assert color in legend


def test_map_column_unit_used(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("farmland_within_1km_natura2000"), display=display
    )
    assert kpi_map.unit == "m"
    popup = next(
        c
        for c in _parcel_layer(kpi_map)._children.values()
        if isinstance(c, folium.GeoJsonPopup)
    )
    assert popup.aliases[-1] == "Afstand tot Natura 2000 (m)"


def test_parcel_fill_follows_classes(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi = library.get("nh3_concentration_farmland")
    kpi_map = maps.build_map(pilot_build, kpi, display=display)
    layer = _parcel_layer(kpi_map)
    features = layer.data["features"]
    fills = {layer.style_function(feature)["fillColor"] for feature in features}
    assert fills <= set(kpi_map.classification.colors) | {maps.NO_VALUE_COLOR}
    assert len(fills) == maps.MAX_CLASSES


def test_category_map_colours_crop_groups(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("crop_diversity_shannon"), "en", display=display
    )
    assert kpi_map.classification is None
    assert "crop group" in kpi_map.note
    legend = _legend(kpi_map)
    assert "fallow" in legend
    assert "other crop groups" in legend
    layer = _parcel_layer_en(kpi_map)
    fills = {layer.style_function(f)["fillColor"] for f in layer.data["features"]}
    assert fills <= {*maps.CATEGORY_COLORS, maps.OTHER_CATEGORY_COLOR}
    assert len(fills) == len(maps.CATEGORY_COLORS)


def _parcel_layer_en(kpi_map: maps.KpiMap) -> folium.GeoJson:
    layers = _geojson_layers(kpi_map)
    return next(layer for name, layer in layers.items() if name.startswith("Parcels"))


def test_gap_map_says_why(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("farmland_in_nnn"), "en", display=display
    )
    assert kpi_map.mode == "gap"
    assert kpi_map.classification is None
    assert kpi_map.note == (
        "Farmland inside the NNN cannot be mapped: there is no data for NNN boundaries."
    )
    assert html.escape(kpi_map.note) in _legend(kpi_map)
    layer = _parcel_layer_en(kpi_map)
    fills = {layer.style_function(f)["fillColor"] for f in layer.data["features"]}
    assert fills == {maps.NO_VALUE_COLOR}
    assert maps.VALUE_KEY not in layer.data["features"][0]["properties"]


def test_nature_kpi_colours_sites(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("natura2000_nh3_above_3ug"), display=display
    )
    sites = _geojson_layers(kpi_map)["Natura 2000-gebieden"]
    fills = [sites.style_function(f)["fillColor"] for f in sites.data["features"]]
    assert set(fills) <= set(kpi_map.classification.colors)
    names = {f["properties"]["site"] for f in sites.data["features"]}
    assert names == {html.escape(name) for name in pilot_build.nature["site"]}


def test_layers_and_control(
    pilot_build: BuildOutput,
    library: KpiLibrary,
    display: dict[str, gpd.GeoDataFrame],
    nh3_cells: gpd.GeoDataFrame,
) -> None:
    kpi_map = maps.build_map(
        pilot_build,
        library.get("nh3_concentration_farmland"),
        display=display,
        nh3_cells=nh3_cells,
    )
    names = list(_geojson_layers(kpi_map))
    assert names == [
        "Percelen: NH3-concentratie boven landbouwgrond",
        "Natura 2000-gebieden",
        "Gebiedsgrens",
        "NH3-concentratie (1 km-raster)",
    ]
    nh3 = _geojson_layers(kpi_map)["NH3-concentratie (1 km-raster)"]
    assert nh3.show is False
    assert len(nh3.data["features"]) == len(nh3_cells)
    children = list(kpi_map.map._children.values())
    assert sum(isinstance(c, folium.LayerControl) for c in children) == 1
    assert sum(isinstance(c, folium.TileLayer) for c in children) == 1


def test_nh3_legend_follows_its_layer(
    pilot_build: BuildOutput,
    library: KpiLibrary,
    display: dict[str, gpd.GeoDataFrame],
    nh3_cells: gpd.GeoDataFrame,
) -> None:
    kpi_map = maps.build_map(
        pilot_build,
        library.get("nh3_concentration_farmland"),
        display=display,
        nh3_cells=nh3_cells,
    )
    title = "NH3-concentratie (1 km-raster)"
    # The main legend, which is always shown, leaves the NH3 grid out ...
    assert title not in _legend(kpi_map)
    # ... and a legend of its own is bound to the NH3 layer.
    children = kpi_map.map._children.values()
    bound = [c for c in children if isinstance(c, maps.LayerLegend)]
    assert len(bound) == 1
    assert bound[0].layer is _geojson_layers(kpi_map)[title]
    assert f"<b>{title}</b>" in bound[0].html
    assert "µg/m³" in bound[0].html
    rendered = kpi_map.map.get_root().render()
    layer_name = bound[0].layer.get_name()
    assert f"var layer = {layer_name};" in rendered
    assert 'layer.on("add"' in rendered
    assert 'layer.on("remove"' in rendered


def test_map_without_nh3_has_no_layer_legend(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("nh3_concentration_farmland"), display=display
    )
    children = kpi_map.map._children.values()
    assert not any(isinstance(c, maps.LayerLegend) for c in children)


def test_scale_bar_is_metric(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("farmland_in_nnn"), display=display
    )
    rendered = kpi_map.map.get_root().render()
    assert "L.control.scale({metric: true, imperial: false})" in rendered
    # folium's own scale bar would show feet and miles as well.
    assert "L.control.scale()" not in rendered


def test_no_basemap(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("farmland_in_nnn"), display=display, basemap=False
    )
    children = kpi_map.map._children.values()
    assert not any(isinstance(c, folium.TileLayer) for c in children)


def test_map_fits_area_by_default(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("farmland_in_nnn"), display=display
    )
    fits = [
        c for c in kpi_map.map._children.values() if isinstance(c, folium.FitBounds)
    ]
    assert len(fits) == 1
    minx, miny, maxx, maxy = display["boundary"].total_bounds
    assert fits[0].bounds == [[miny, minx], [maxy, maxx]]


def test_map_uses_stored_view(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build,
        library.get("farmland_in_nnn"),
        display=display,
        center=(52.75, 5.7),
        zoom=15,
    )
    assert kpi_map.map.location == [52.75, 5.7]
    assert kpi_map.map.options["zoom"] == 15
    children = kpi_map.map._children.values()
    assert not any(isinstance(c, folium.FitBounds) for c in children)


# --- Escaping -------------------------------------------------------------------


def test_popup_escapes_hostile_crop_name(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    parcels = pilot_build.parcels.copy()
    parcels["crop_name"] = parcels["crop_name"].astype("object")
    parcels.loc[parcels.index[0], "crop_name"] = HOSTILE
    hostile_build = dataclasses.replace(pilot_build, parcels=parcels)

    kpi_map = maps.build_map(
        hostile_build, library.get("nh3_concentration_farmland"), display=display
    )
    properties = _parcel_layer(kpi_map).data["features"][0]["properties"]
    assert properties[maps.CROP_KEY] == "&lt;script&gt;alert(1)&lt;/script&gt;"

    rendered = kpi_map.map.get_root().render()
    assert HOSTILE not in rendered
    # Jinja's tojson writes < and & as \u003c and \u0026: only the escaped
    # text may reach the page, never the raw tag in JSON form.
    assert "\\u003cscript\\u003ealert" not in rendered
    assert "\\u0026lt;script\\u0026gt;alert(1)" in rendered


def test_tooltip_escapes_hostile_site_name(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    nature = pilot_build.nature.copy()
    nature["site"] = nature["site"].astype("object")
    nature.loc[nature.index[0], "site"] = HOSTILE
    hostile_build = dataclasses.replace(pilot_build, nature=nature)
    hostile_display = maps.display_layers(hostile_build)

    kpi_map = maps.build_map(
        hostile_build, library.get("natura2000_nh3_above_3ug"), display=hostile_display
    )
    sites = _geojson_layers(kpi_map)["Natura 2000-gebieden"]
    assert sites.data["features"][0]["properties"]["site"] == html.escape(HOSTILE)
    assert HOSTILE not in kpi_map.map.get_root().render()


def test_every_property_is_escaped_text(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("nh3_concentration_farmland"), display=display
    )
    for layer in _geojson_layers(kpi_map).values():
        for feature in layer.data["features"]:
            for value in feature["properties"].values():
                assert isinstance(value, str)
                assert "<" not in value
                assert ">" not in value


# --- Payload --------------------------------------------------------------------


def test_parcels_send_only_popup_properties(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("nh3_concentration_farmland"), display=display
    )
    features = _parcel_layer(kpi_map).data["features"]
    assert len(features) == len(pilot_build.parcels)
    for feature in features[:50]:
        assert set(feature["properties"]) == {"id", "c", "u", "a", "v"}
        numbers = np.asarray(feature["geometry"]["coordinates"][0]).ravel()
        assert max(_decimals(float(n)) for n in numbers) <= maps.COORDINATE_DECIMALS


def test_payload_is_small(
    pilot_build: BuildOutput,
    library: KpiLibrary,
    display: dict[str, gpd.GeoDataFrame],
    nh3_cells: gpd.GeoDataFrame,
) -> None:
    kpi_map = maps.build_map(
        pilot_build,
        library.get("nh3_concentration_farmland"),
        display=display,
        nh3_cells=nh3_cells,
    )
    size = maps.map_payload_bytes(kpi_map)
    assert 100_000 < size < MAX_PAYLOAD_BYTES


def test_only_leaflet_assets(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("farmland_in_nnn"), display=display
    )
    assert [name for name, _ in kpi_map.map.default_js] == ["leaflet"]
    assert [name for name, _ in kpi_map.map.default_css] == ["leaflet_css"]
    rendered = kpi_map.map.get_root().render()
    assert "jquery" not in rendered.lower()
    assert "bootstrap" not in rendered.lower()
    assert re.search(r"leaflet@[\d.]+/dist/leaflet\.js", rendered)


def test_leaflet_copy_matches_folium_version() -> None:
    # folium loads Leaflet from its CDN by version; the copy the app serves
    # must be that same version.
    urls = dict(folium.Map.default_js) | dict(folium.Map.default_css)
    assert f"leaflet@{maps.LEAFLET_VERSION}/dist/leaflet.js" in urls["leaflet"]
    assert f"leaflet@{maps.LEAFLET_VERSION}/dist/leaflet.css" in urls["leaflet_css"]
    for name in ("leaflet.js", "leaflet.css", "images/layers.png", "LICENSE"):
        assert (maps.LEAFLET_DIR / name).is_file(), name


def test_leaflet_copy_equals_xstatic_package() -> None:
    xstatic_leaflet = pytest.importorskip("xstatic.pkg.leaflet")
    if xstatic_leaflet.VERSION != maps.LEAFLET_VERSION:
        pytest.skip(f"xstatic-leaflet has Leaflet {xstatic_leaflet.VERSION}")
    packaged = Path(xstatic_leaflet.BASE_DIR)
    for name in ("leaflet.js", "leaflet.css", "images/layers.png"):
        copy = (maps.LEAFLET_DIR / name).read_bytes()
        assert copy == (packaged / name).read_bytes(), name


def test_use_leaflet_from_keeps_plugins(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("farmland_in_nnn"), display=display, basemap=False
    )
    folium_map = kpi_map.map
    folium_map.default_js = [*folium_map.default_js, ("plugin", "https://x/p.js")]
    same = maps.use_leaflet_from(folium_map, "../../app/static/leaflet-1.9.3/")
    assert same is folium_map
    assert folium_map.default_js == [
        ("leaflet", "../../app/static/leaflet-1.9.3/leaflet.js"),
        ("plugin", "https://x/p.js"),
    ]
    assert folium_map.default_css == [
        ("leaflet_css", "../../app/static/leaflet-1.9.3/leaflet.css")
    ]


def test_standalone_map_from_local_leaflet(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("farmland_in_nnn"), display=display, basemap=False
    )
    maps.use_leaflet_from(kpi_map.map, maps.LEAFLET_DIR.as_uri())
    rendered = kpi_map.map.get_root().render()
    assert f'src="{maps.LEAFLET_DIR.as_uri()}/leaflet.js"' in rendered
    assert "cdn.jsdelivr.net" not in rendered


def test_parcel_layer_json_compact(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    kpi_map = maps.build_map(
        pilot_build, library.get("nh3_concentration_farmland"), display=display
    )
    rendered = kpi_map.map.get_root().render()
    assert '"coordinates":[[[' in rendered
    assert '"coordinates": [' not in rendered
    policies = maps.CompactGeoJson._template.environment.policies
    assert "separators" not in policies["json.dumps_kwargs"]


def test_draw_plugin_served_locally() -> None:
    folium_map = maps.new_map()
    Draw().add_to(folium_map)
    base = f"../../app/static/{maps.LEAFLET_DRAW_DIR.name}"
    maps.use_leaflet_draw_from(folium_map, base)
    rendered = folium_map.get_root().render()
    assert f'src="{base}/leaflet.draw.js"' in rendered
    assert f'href="{base}/leaflet.draw.css"' in rendered
    assert "cdnjs.cloudflare.com" not in rendered


def test_draw_copy_matches_folium_version() -> None:
    # The vendored copy must be the version folium's Draw plugin requests.
    declared = dict(Draw.default_js)["leaflet_draw_js"]
    assert f"/leaflet.draw/{maps.LEAFLET_DRAW_VERSION}/" in declared
    for name in ("leaflet.draw.js", "leaflet.draw.css", "LICENSE"):
        assert (maps.LEAFLET_DRAW_DIR / name).is_file(), name


# --- Unusual builds -------------------------------------------------------------


def test_map_without_parcels(pilot_build: BuildOutput, library: KpiLibrary) -> None:
    empty = dataclasses.replace(pilot_build, parcels=pilot_build.parcels.iloc[0:0])
    kpi_map = maps.build_map(empty, library.get("farmland_in_nnn"))
    names = list(_geojson_layers(kpi_map))
    assert not any(name.startswith("Percelen") for name in names)
    assert "Gebiedsgrens" in names
    assert kpi_map.map.get_root().render()


def test_map_without_crop_columns(
    pilot_build: BuildOutput, library: KpiLibrary, display: dict[str, gpd.GeoDataFrame]
) -> None:
    crop_columns = ["crop_code", "crop_name", "land_use", "crop_group"]
    parcels = pilot_build.parcels.drop(columns=crop_columns)
    bare = dataclasses.replace(pilot_build, parcels=parcels)
    kpi_map = maps.build_map(
        bare, library.get("nh3_concentration_farmland"), display=display
    )
    properties = _parcel_layer(kpi_map).data["features"][0]["properties"]
    assert set(properties) == {"id", "a", "v"}
    assert kpi_map.map.get_root().render()
