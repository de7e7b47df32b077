"""End-to-end: ``streamlit run`` on localhost, the map page in headless Chromium.

The browser may only talk to the local server. Every other request is
aborted, except Leaflet's JavaScript and CSS, which folium loads from a CDN:
those are served from the copy in the ``xstatic-leaflet`` package, so the
map draws without a network. Base-map tiles are aborted and stay grey.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[1]
MAIN = REPO / "geo_dashboard" / "app" / "main.py"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"no Chromium at {CHROMIUM}; install Debian's chromium package",
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
xstatic_leaflet = pytest.importorskip(
    "xstatic.pkg.leaflet",
    reason="xstatic-leaflet is not installed; it serves Leaflet without a network",
)
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
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SERVER_START_TIMEOUT_S = 90
MAP_DRAW_TIMEOUT_MS = 90_000


def _leaflet_file(dist: Path, url_path: str) -> Path | None:
    """Return the local copy of a file of Leaflet's CDN ``dist`` folder, if any."""
    if "/leaflet@" not in url_path or "/dist/" not in url_path:
        return None
    local = (dist / url_path.split("/dist/", 1)[1]).resolve()
    return local if local.is_file() and local.is_relative_to(dist.resolve()) else None


def _wait_until_idle(page: object) -> None:
    """Wait until the Streamlit script of the page has finished its run."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('[data-testid=stApp]')"
        "?.dataset.testScriptState === 'notRunning'",
        timeout=MAP_DRAW_TIMEOUT_MS,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"streamlit did not answer {url} in {SERVER_START_TIMEOUT_S} s")


@pytest.fixture()
def app_url(
    pilot_paths: ProjectPaths, pilot_build: BuildOutput, tmp_path: Path
) -> Iterator[str]:
    """Start the app on a free localhost port and stop it afterwards."""
    port = _free_port()
    env = dict(
        os.environ,
        GEO_DASHBOARD_LAYERS=str(pilot_paths.layers),
        GEO_DASHBOARD_CONFIGS=str(pilot_paths.configs),
        GEO_DASHBOARD_BUILDS=str(pilot_paths.builds),
        GEO_DASHBOARD_AREA=pilot_build.area_id,
    )
    command = [
        sys.executable, "-m", "streamlit", "run", str(MAIN),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    log = tmp_path / "streamlit.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/_stcore/health", server, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def test_map_page_draws_parcels(app_url: str, pilot_build: BuildOutput) -> None:
    dist = Path(xstatic_leaflet.BASE_DIR)
    blocked: list[str] = []

    def route(request_route: object) -> None:
        request = request_route.request  # type: ignore[attr-defined]
        url = urlparse(request.url)
        local = _leaflet_file(dist, url.path)
        if url.hostname in LOCAL_HOSTS or url.scheme in ("data", "blob"):
            request_route.continue_()  # type: ignore[attr-defined]
        elif local is not None:
            request_route.fulfill(path=str(local))  # type: ignore[attr-defined]
        else:
            blocked.append(request.url)
            request_route.abort()  # type: ignore[attr-defined]

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "map_page.png"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route("**/*", route)
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
            _wait_until_idle(page)
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
    assert all(urlparse(url).hostname not in LOCAL_HOSTS for url in blocked)
