"""Map payload and first render of the pilot map against a naive folium map.

The product map is :func:`geo_dashboard.maps.build_map` for the NH3 KPI. The
naive map draws the raw parcel layer with ``folium.GeoJson``: full-precision
geometry, every attribute, a tooltip of every attribute, and the same class
colours, so both maps look alike. Both are saved as standalone HTML files and
opened from disk in headless Chromium.

Without a network, Leaflet's JavaScript and CSS are served from the
``xstatic-leaflet`` package and every other request (base-map tiles, and
jQuery, Bootstrap and icon fonts on the naive map) is aborted at once. The
naive map would load those extra files in real use, so its render time
here is a lower bound.

Render time is the wall time from the start of navigation until every
parcel is an SVG path in the page, measured in this process.

Run ``python benchmarks/bench_map.py`` for this benchmark alone.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import folium
import geopandas as gpd
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, TIMING_HEADER, markdown_table, time_variants, timing_rows  # noqa: E402

from geo_dashboard.build import build_area  # noqa: E402
from geo_dashboard.catalog import load_catalog  # noqa: E402
from geo_dashboard.kpis import load_kpi_library  # noqa: E402
from geo_dashboard.paths import ProjectPaths  # noqa: E402

AREA = "noordoostpolder"
KPI = "nh3_concentration_farmland"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
IMAGES = REPO / "docs" / "img"
RENDER_TIMEOUT_MS = 120_000


def available() -> str | None:
    """Return why the benchmark cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
        import xstatic.pkg.leaflet  # noqa: F401

        from geo_dashboard import maps  # noqa: F401
    except ImportError as err:
        return f"missing Python package: {err.name}"
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is not installed"
    return None


def write_maps(folder: Path) -> tuple[Path, Path, int]:
    """Write the product map and the naive map of the pilot; return paths and count."""
    from geo_dashboard import maps

    paths = ProjectPaths(
        layers=REPO / "layers", configs=REPO / "area_configs", builds=folder / "build"
    )
    output = build_area(AREA, paths)
    kpi_map = maps.build_map(output, load_kpi_library().get(KPI), "nl")
    product = folder / "product_map.html"
    kpi_map.map.save(product)

    # The naive map: the raw layer as read, with the KPI value joined on.
    catalog = load_catalog(paths.layers)
    entry = catalog.layer("nop_brp_parcels_2023")
    raw = gpd.read_file(catalog.path(entry), layer=entry.layer)
    raw["parcel_id"] = raw["gid"].astype(str)
    raw = raw.merge(output.parcels[["parcel_id", "nh3_mean"]], on="parcel_id")
    classes = kpi_map.classification.classify(raw["nh3_mean"])
    raw["color"] = np.asarray(kpi_map.classification.colors)[classes]
    raw = raw.to_crs(4326)

    naive_map = folium.Map(tiles="OpenStreetMap")
    folium.GeoJson(
        raw,
        style_function=lambda feature: {
            "fillColor": feature["properties"]["color"],
            "color": "#333333",
            "weight": 0.5,
            "fillOpacity": 0.75,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=[column for column in raw.columns if column != "geometry"]
        ),
    ).add_to(naive_map)
    xmin, ymin, xmax, ymax = raw.total_bounds
    naive_map.fit_bounds([[ymin, xmin], [ymax, xmax]])
    naive = folder / "naive_map.html"
    naive_map.save(naive)
    return product, naive, len(output.parcels)


def run(repeats: int = 5) -> str:
    """Run the benchmark and return its markdown section."""
    reason = available()
    if reason is not None:
        return f"## Map payload and first render\n\nNot run: {reason}."
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-map-") as name:
        folder = Path(name)
        product, naive, parcels = write_maps(folder)
        sizes = {
            "product map": product.stat().st_size,
            "naive folium.GeoJson": naive.stat().st_size,
        }

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                renders = {
                    "product map": lambda: _render(browser, product, parcels),
                    "naive folium.GeoJson": lambda: _render(browser, naive, parcels),
                }
                timings = time_variants(renders, repeats)
                IMAGES.mkdir(parents=True, exist_ok=True)
                _render(browser, product, parcels, IMAGES / "map_product.png")
                _render(browser, naive, parcels, IMAGES / "map_naive.png")
            finally:
                browser.close()

    ratio = sizes["naive folium.GeoJson"] / sizes["product map"]
    size_rows = [
        [name, f"{size:,}", f"{size / 2**20:.2f}"] for name, size in sizes.items()
    ]
    return "\n\n".join(
        [
            "## Map payload and first render",
            f"Pilot map of `{KPI}` ({parcels:,} parcels) as a standalone HTML file, "
            "against the raw parcel layer drawn with `folium.GeoJson` in the same "
            "colours. Leaflet comes from the `xstatic-leaflet` package; base-map "
            "tiles and the naive map's extra CDN files are aborted, so neither map "
            "shows a base map.",
            markdown_table(["map", "HTML bytes", "MiB"], size_rows),
            f"The naive map is {ratio:.1f}x larger (target: the product map at "
            "least 5x "
            f"smaller): {'met' if ratio >= 5 else '**not met**'}.",
            "Time from navigation to every parcel drawn, headless Chromium, "
            f"{VIEWPORT['width']}x{VIEWPORT['height']} viewport:",
            markdown_table(TIMING_HEADER, timing_rows(timings, "product map")),
            "Screenshots of the last render: [product map](img/map_product.png), "
            "[naive map](img/map_naive.png).",
            "![product map](img/map_product.png)",
            "![naive map](img/map_naive.png)",
        ]
    )


def _render(
    browser, page_file: Path, parcels: int, screenshot: Path | None = None
) -> None:
    """Open ``page_file`` in a fresh context and wait until all parcels are drawn."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.route("**/*", _offline_route)
        page = context.new_page()
        page.goto(page_file.as_uri(), wait_until="commit")
        page.wait_for_function(
            "count => document.querySelectorAll('path.leaflet-interactive').length"
            " >= count",
            arg=parcels,
            polling="raf",
            timeout=RENDER_TIMEOUT_MS,
        )
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
    finally:
        context.close()


def _offline_route(route) -> None:
    """Serve local files and Leaflet; abort every other request."""
    import xstatic.pkg.leaflet

    url = urlparse(route.request.url)
    if url.scheme == "file":
        route.continue_()
        return
    name = url.path.rsplit("/", 1)[-1]
    if "/leaflet@" in url.path and name in ("leaflet.js", "leaflet.css"):
        route.fulfill(path=str(Path(xstatic.pkg.leaflet.BASE_DIR) / name))
        return
    route.abort()


if __name__ == "__main__":
    print(run())
