"""End-to-end: ``streamlit run`` on localhost, the map page in headless Chromium.

The browser may only talk to the local server (see
:class:`tests.browser_support.OfflineRoutes`): Leaflet is served from the
``xstatic-leaflet`` package and base-map tiles are aborted.
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
xstatic_leaflet = pytest.importorskip(
    "xstatic.pkg.leaflet",
    reason="xstatic-leaflet is not installed; it serves Leaflet without a network",
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
    routes = OfflineRoutes(Path(xstatic_leaflet.BASE_DIR))

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
