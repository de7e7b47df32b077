"""End-to-end: ``streamlit run`` on localhost, the map page in headless Chromium.

The browser may only talk to the local server (see
:class:`tests.browser_support.OfflineRoutes`): requests to Leaflet's CDN and
base-map tiles are aborted, so the map draws only with the Leaflet copy the
app serves itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from tests.browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    OfflineRoutes,
    launch_chromium,
    running_app,
    wait_until_idle,
)

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
MAP_DRAW_TIMEOUT_MS = 90_000


@pytest.fixture()
def app_url(
    pilot_paths: ProjectPaths, pilot_build: BuildOutput, tmp_path: Path
) -> Iterator[str]:
    """Start the app on a free localhost port and stop it afterwards."""
    with running_app(
        pilot_paths, pilot_build.area_id, tmp_path / "streamlit.log"
    ) as url:
        yield url


def test_map_page_draws_parcels(app_url: str, pilot_build: BuildOutput) -> None:
    routes = OfflineRoutes()

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "map_page.png"
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route("**/*", routes)
            page = context.new_page()
            # Enter through the entry point, as a visitor does: a direct link to
            # /map on a fresh server skips it (see the note in main.py).
            page.goto(f"{app_url}/?area={pilot_build.area_id}")
            page.get_by_role("link", name="Kaart").click(timeout=MAP_DRAW_TIMEOUT_MS)
            page.get_by_text("KPI op de kaart").wait_for(timeout=MAP_DRAW_TIMEOUT_MS)
            assert urlparse(page.url).path == "/map"

            frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
            parcels = frame.locator("path.leaflet-interactive")
            parcels.nth(len(pilot_build.parcels) - 1).wait_for(
                state="attached", timeout=MAP_DRAW_TIMEOUT_MS
            )
            legend = frame.locator(".geo-dashboard-legend")
            legend.wait_for(timeout=MAP_DRAW_TIMEOUT_MS)
            wait_until_idle(page, MAP_DRAW_TIMEOUT_MS)
            page.wait_for_timeout(500)
            page.screenshot(path=str(screenshot), full_page=True)

            assert parcels.count() >= len(pilot_build.parcels)
            zoom = frame.locator("body").evaluate("() => window.map.getZoom()")
            assert zoom >= 12
            legend_text = legend.inner_text()
            assert "(m)" in legend_text
            assert "Gebiedsgrens" in legend_text
            assert "Natura 2000" in legend_text
            layer_control = frame.locator(".leaflet-control-layers").text_content()
            assert "Gebiedsgrens" in layer_control
            assert "NH3" in layer_control

            # A click on a parcel opens its popup with escaped values.
            parcels.nth(len(pilot_build.parcels) // 2).click(force=True)
            popup = frame.locator(".leaflet-popup-content")
            popup.wait_for(timeout=MAP_DRAW_TIMEOUT_MS)
            popup_text = popup.inner_text()
            assert "Gewas" in popup_text
            assert "Oppervlakte (ha)" in popup_text
        finally:
            browser.close()

    assert screenshot.stat().st_size > 10_000
    assert not routes.local_requests_blocked()
    # The map drew without requesting any Leaflet file from the CDN.
    assert not [url for url in routes.blocked if "leaflet" in url]


@pytest.fixture()
def all_areas_url(
    all_builds: dict[str, BuildOutput], repo_paths: ProjectPaths, tmp_path: Path
) -> Iterator[str]:
    """Start the app on every shipped area's build and stop it afterwards."""
    builds_dir = all_builds["groene_hart"].folder.parent.parent
    paths = ProjectPaths(
        layers=repo_paths.layers, configs=repo_paths.configs, builds=builds_dir
    )
    with running_app(paths, "groene_hart", tmp_path / "streamlit.log") as url:
        yield url


def test_compare_maps_draw_offline(
    all_areas_url: str, all_builds: dict[str, BuildOutput]
) -> None:
    routes = OfflineRoutes()
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route("**/*", routes)
            page = context.new_page()
            page.goto(f"{all_areas_url}/?area=groene_hart")
            page.get_by_role("link", name="Gebieden vergelijken").click(
                timeout=MAP_DRAW_TIMEOUT_MS
            )
            frames = page.locator('iframe[title="streamlit_folium.st_folium"]')
            frames.nth(len(all_builds) - 1).wait_for(timeout=MAP_DRAW_TIMEOUT_MS)
            widths = []
            for index in range(len(all_builds)):
                frame = page.frame_locator(
                    'iframe[title="streamlit_folium.st_folium"]'
                ).nth(index)
                frame.locator("path.leaflet-interactive").first.wait_for(
                    state="attached", timeout=MAP_DRAW_TIMEOUT_MS
                )
                scale = frame.locator(".leaflet-control-scale-line")
                assert scale.count() == 1
                assert scale.inner_text().endswith(("m", "km"))
                # The legend is outside the maps, once for all of them.
                assert frame.locator(".geo-dashboard-legend").count() == 0
                widths.append(frames.nth(index).bounding_box()["width"])
            # Two maps per row are about 460 px wide here; three would be
            # about 300 px.
            assert min(widths) > 400
        finally:
            browser.close()

    assert not routes.local_requests_blocked()
    assert not [url for url in routes.blocked if "leaflet" in url]
